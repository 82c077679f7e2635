"""Mounting the console and the tracking page on the gateway app (`install_console`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from consumers.gateway.console.pages import (
    STATIC_DIR,
    ConsoleRefusal,
    CsrfRejected,
    LoginRequired,
    render,
    session_of,
)
from consumers.gateway.console.routes import console
from consumers.gateway.console.session import SessionSigner
from consumers.gateway.console.tracking import tracking
from consumers.gateway.context import Gateway


def install_console(app: FastAPI, gw: Gateway) -> None:
    """Routes under ``/console/`` and ``/lacak/``, their static files and error pages."""
    app.state.console_signer = SessionSigner(gw.tracking_secret)
    app.include_router(console)
    app.include_router(tracking)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):  # an htmx poll: send the whole page away
            return Response(status_code=401, headers={"HX-Redirect": "/console/masuk"})
        return RedirectResponse("/console/masuk", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        message = "Formulir tidak sah atau kedaluwarsa (token CSRF). Muat ulang halaman."
        return render(request, "error.html", {"message": message}, 403, session_of(request))

    @app.exception_handler(ConsoleRefusal)
    async def _refused(request: Request, exc: ConsoleRefusal) -> Response:
        context = {"message": exc.message}
        return render(request, "error.html", context, exc.status, session_of(request))
