"""The web workbench (工作台) under ``/ui/``: server-rendered Chinese pages for the office, unit
liaison officers, supervisors and evaluators, calling the API in-process with the signed-in
person's credential (see ``client.py``) so the API's authorization and messages apply as-is."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.ui import (
    accountability_pages,
    admin,
    assessment_pages,
    attachment_pages,
    case_pages,
    catalogue_pages,
    circular_pages,
    dashboard,
    desk_pages,
    document_pages,
    evaluation_pages,
    followup_pages,
    inbox_pages,
    insight_pages,
    ledger_pages,
    round_pages,
    signin,
)
from services.ui.client import ApiRefusal
from services.ui.render import HERE, page
from services.ui.session import CsrfRefused, SignInRequired, forget

ROUTERS = (
    signin.router,
    ledger_pages.router,
    case_pages.router,
    accountability_pages.router,
    dashboard.router,
    admin.router,
    catalogue_pages.router,
    desk_pages.router,
    assessment_pages.router,
    evaluation_pages.router,
    inbox_pages.router,
    attachment_pages.router,
    round_pages.router,
    circular_pages.router,
    document_pages.router,
    insight_pages.router,
    followup_pages.router,
)


def install(app: FastAPI) -> None:
    """Mount the workbench's pages, its static files, and how its refusals are shown."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(ApiRefusal, _refused)


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    target = request.url.path if request.method == "GET" else "/ui/ledger"
    response = RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303)
    forget(response)  # a credential that no longer passes is dropped
    return response


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    message = "表单已过期或并非来自本系统页面,请刷新页面后重新提交 (CSRF check failed)"
    return page(request, "error.html", getattr(request.state, "viewer", None), 403, message=message)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiRefusal)
    if exc.status == 401:
        return await _to_sign_in(request, exc)
    viewer = getattr(request.state, "viewer", None)
    return page(request, "error.html", viewer, exc.status, message=exc.detail)
