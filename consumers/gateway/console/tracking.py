"""``/lacak/``: the reporter's tracking page. A tracking number shows the case as
`views.public_view` allows (status, dates, the texts written for the reporter); nothing about the
reporter, and for a confidential case nothing about its nature."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from consumers.gateway.console.pages import render
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.views import public_view
from workflow.intake import TRACKING_NUMBER

tracking = APIRouter(prefix="/lacak", include_in_schema=False)


@tracking.get("/")
async def tracking_page(request: Request, gw: GatewayDep) -> Response:
    number = (request.query_params.get("nomor") or "").strip().upper()[:64]
    if not number:
        return render(request, "track.html", {"number": "", "view": None, "error": None})
    throttle_anonymous(request, gw)  # the tracking number is the reporter's only credential
    if not TRACKING_NUMBER.fullmatch(number):
        error = "Nomor pelacakan tidak sesuai format (contoh: ADU-XXXX-XXXX-XXXX)."
        return render(request, "track.html", {"number": number, "view": None, "error": error}, 404)
    case = gw.read_model.case(number)
    if case is None:
        error = "Pengaduan dengan nomor ini belum ditemukan. Coba lagi beberapa saat lagi."
        return render(request, "track.html", {"number": number, "view": None, "error": error}, 404)
    view = public_view(case, gw.read_model.history(number), gw.policy)
    return render(request, "track.html", {"number": number, "view": view, "error": None})
