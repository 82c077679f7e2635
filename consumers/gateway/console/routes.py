"""``/console/``: login and logout, the work queues and the case page with its action forms.

Every page needs a live session (`pages.require_session`); every POST carries the session's
CSRF token. What a role may see is `views.may_see` and `views.operator_view`, the API's own
functions; commands go through `commanding.send_command`, the API's own path.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from consumers.gateway.commanding import send_command
from consumers.gateway.console.actions import available_actions, payload_from_form
from consumers.gateway.console.pages import (
    SECURITY_HEADERS,
    ConsoleRefusal,
    check_csrf,
    render,
    require_session,
    signer_of,
)
from consumers.gateway.console.queues import (
    QUEUES,
    ROLE_QUEUES,
    Filters,
    clock_view,
    counts,
    queue_rows,
)
from consumers.gateway.console.session import (
    LOGIN_COOKIE,
    LOGIN_LIFETIME,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Session,
)
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.errors import ApiError
from consumers.gateway.publisher import PublishError
from consumers.gateway.security import OperatorRole
from consumers.gateway.views import expected_at, may_see, operator_view
from workflow.enums import Channel, MaladministrationCategory
from workflow.intake import TRACKING_NUMBER

console = APIRouter(prefix="/console", include_in_schema=False)
SessionDep = Annotated[Session, Depends(require_session)]


def _secure(request: Request) -> bool:
    public = request.app.state.gateway.settings.gateway_public_url
    return bool(public and public.startswith("https://"))


@console.get("/")
async def home() -> Response:
    return RedirectResponse("/console/antrean", status_code=303)


@console.get("/masuk")
async def login_page(request: Request, gw: GatewayDep) -> Response:
    cookie, nonce = signer_of(request).new_login_nonce(gw.now())
    csrf = signer_of(request).csrf_token(nonce)
    response = render(request, "login.html", {"login_csrf": csrf, "error": None})
    _set_cookie(response, request, LOGIN_COOKIE, cookie, int(LOGIN_LIFETIME.total_seconds()))
    return response


def _set_cookie(response: Response, request: Request, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )


@console.post("/masuk")
async def login(
    request: Request,
    gw: GatewayDep,
    token: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    throttle_anonymous(request, gw)  # tokens are guessed as fast as one address may try
    signer = signer_of(request)
    nonce = signer.login_nonce(request.cookies.get(LOGIN_COOKIE), gw.now())
    if nonce is None or not signer.csrf_ok(nonce, csrf):
        message = "Formulir kedaluwarsa; muat ulang halaman masuk."
        return render(request, "error.html", {"message": message}, 403)
    operator = gw.security.find_operator(token.strip()) if token.strip() else None
    if operator is None:
        context = {"login_csrf": csrf, "error": "Token tidak dikenal."}
        return render(request, "login.html", context, 401)
    value, _ = signer.new_session(operator, gw.now())
    response = RedirectResponse("/console/antrean", status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, value, int(SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@console.post("/keluar")
async def logout(
    request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    check_csrf(request, session, csrf)
    response = RedirectResponse("/console/masuk", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _filters(request: Request, session: Session) -> Filters:
    query = request.query_params

    def pick(name: str) -> str | None:
        return (query.get(name) or "").strip()[:64] or None

    agency = None if session.operator.role is OperatorRole.AGENCY_OFFICER else pick("instansi")
    return Filters(agency=agency, channel=pick("kanal"), category=pick("kategori"))


def _queue_context(request: Request, gw: GatewayDep, session: Session) -> dict[str, Any]:
    names = ROLE_QUEUES[session.operator.role]
    chosen = request.query_params.get("antrean", names[0])
    spec = QUEUES[chosen if chosen in names else names[0]]
    filters = _filters(request, session)
    page_param = request.query_params.get("hal", "0")
    page = min(int(page_param), 10_000) if page_param.isdigit() else 0
    now = gw.now()
    rows = [
        (entry, clock_view(entry.case, entry.due_at, gw.policy, now))
        for entry in queue_rows(gw.read_model, spec, session.operator, filters, page)
    ]
    return {
        "queue": spec,
        "queues": [QUEUES[n] for n in names],
        "counts": counts(gw.read_model, session.operator, filters),
        "filters": filters,
        "rows": rows,
        "page": page,
        "agencies": gw.policy.agencies,
        "channels": list(Channel),
        "categories": list(MaladministrationCategory),
        "query": request.url.query,
        "ready": gw.read_model.ready,
    }


@console.get("/antrean")
async def queue_page(request: Request, gw: GatewayDep, session: SessionDep) -> Response:
    context = {**_queue_context(request, gw, session), "fragment": False}
    return render(request, "queue.html", context, session=session)


@console.get("/antrean/tabel")
async def queue_table(request: Request, gw: GatewayDep, session: SessionDep) -> Response:
    """The queue's table alone, with the tabs' counts swapped out of band: the page polls it
    (htmx) to stay current."""
    context = {**_queue_context(request, gw, session), "fragment": True}
    return render(request, "_queue_table.html", context, session=session)


def _tracking(case_id: str) -> str:
    case_id = case_id.strip().upper()
    if not TRACKING_NUMBER.fullmatch(case_id):
        raise ConsoleRefusal(404, "Bukan nomor pelacakan (contoh: ADU-XXXX-XXXX-XXXX).")
    return case_id


def _case_context(gw: GatewayDep, session: Session, case_id: str) -> dict[str, Any] | None:
    """The case page's data; None when the case is unknown. Raises 403 if not the role's."""
    case = gw.read_model.case(case_id)
    if case is None:
        return None
    if not may_see(session.operator, case):
        raise ConsoleRefusal(403, "Kasus ini tidak diteruskan ke instansi Anda.")
    history = gw.read_model.history(case_id)
    view = operator_view(session.operator, case, history, gw.policy)
    return {
        "case": case,
        "view": view,
        "clock": clock_view(case, expected_at(case, gw.policy), gw.policy, gw.now()),
        "actions": available_actions(session.operator, case, gw.policy),
        "form_key": secrets.token_urlsafe(12),
    }


def _not_found(request: Request, session: Session, case_id: str) -> Response:
    message = f"Kasus {case_id} tidak ditemukan (atau belum sampai di konsol)."
    return render(request, "error.html", {"message": message}, 404, session=session)


@console.get("/kasus/{case_id}")
async def case_page(
    request: Request, gw: GatewayDep, session: SessionDep, case_id: str
) -> Response:
    case_id = _tracking(case_id)
    context = _case_context(gw, session, case_id)
    if context is None:
        return _not_found(request, session, case_id)
    context.update(sent=request.query_params.get("perintah"), error=None)
    return render(request, "case.html", context, session=session)


@console.get("/kasus/{case_id}/isi")
async def case_live(
    request: Request, gw: GatewayDep, session: SessionDep, case_id: str
) -> Response:
    """The live part of the case page (status, clock, timeline), polled by the page; when the
    state changed the page reloads, so its action forms match the new state."""
    case_id = _tracking(case_id)
    context = _case_context(gw, session, case_id)
    if context is None:
        return _not_found(request, session, case_id)
    if request.query_params.get("status") != context["case"].state.value:
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return render(request, "_case_live.html", context, session=session)


@console.get("/kasus/{case_id}/hasil")
async def command_result(
    request: Request, gw: GatewayDep, session: SessionDep, case_id: str
) -> Response:
    """What the engine answered to the command ``perintah`` (polled until it answered)."""
    case_id = _tracking(case_id)
    command_id = request.query_params.get("perintah", "")
    context = _case_context(gw, session, case_id)
    if context is None:
        return _not_found(request, session, case_id)
    answers = [e for e in context["view"]["history"] if e.get("causation_id") == command_id]
    context.update(sent=command_id, answers=answers)
    return render(request, "_command_result.html", context, session=session)


@console.post("/kasus/{case_id}/perintah")
async def post_action(
    request: Request, gw: GatewayDep, session: SessionDep, case_id: str
) -> Response:
    case_id = _tracking(case_id)
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, session, posted.get("csrf"))
    context = _case_context(gw, session, case_id)
    if context is None:
        return _not_found(request, session, case_id)
    form = next((a for a in context["actions"] if a.type == posted.get("jenis")), None)
    if form is None:
        error = "Tindakan ini tidak tersedia untuk peran Anda pada status kasus ini."
        return _case_error(request, session, context, error, 403)
    key = (posted.get("kunci") or "")[:40] or None
    try:
        sent = await send_command(
            gw, session.operator, case_id, form.type, payload_from_form(form, posted), key
        )
    except ApiError as exc:
        return _case_error(request, session, context, exc.detail, exc.status)
    except PublishError:
        error = "Kafka tidak menjawab; perintah belum terkirim. Coba lagi."
        return _case_error(request, session, context, error, 503)
    target = f"/console/kasus/{case_id}?perintah={sent.command_id}"
    return RedirectResponse(target, status_code=303)


def _case_error(
    request: Request, session: Session, context: dict[str, Any], error: str, status: int
) -> Response:
    context.update(sent=None, error=error)
    return render(request, "case.html", context, status, session=session)


@console.get("/kasus/{case_id}/lampiran/{index}")
async def attachment(
    request: Request, gw: GatewayDep, session: SessionDep, case_id: str, index: int
) -> Response:
    """An attachment of the case from the gateway's store, to whoever may open the case. Always
    a download (never rendered inline: an uploaded HTML file must not run on this origin)."""
    case_id = _tracking(case_id)
    context = _case_context(gw, session, case_id)
    attachments = context["view"]["attachments"] if context else []
    if not 0 <= index < len(attachments):
        raise ConsoleRefusal(404, "Lampiran tidak ditemukan.")
    chosen = attachments[index]
    try:
        data = gw.store.open_uri(chosen["uri"])
    except KeyError:
        raise ConsoleRefusal(404, "Berkas lampiran tidak ada di penyimpanan gateway.") from None
    name = quote(chosen.get("name") or f"lampiran-{index + 1}")
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
    }
    return Response(data, media_type="application/octet-stream", headers=headers)
