"""Sign-in with a token or API key, and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.render import page
from services.ui.session import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    authenticate,
    check_csrf,
    current_csrf,
    forget,
    mint_csrf,
    read_form,
    set_cookie,
)
from shared.web.problems import Problem

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)


def _next_page(target: str | None) -> str:
    """Only a page of the workbench itself (no open redirect to another site)."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/ledger"


@router.get("/", response_class=HTMLResponse)
async def home() -> Response:
    return RedirectResponse("/ui/ledger", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    csrf, is_new = current_csrf(request, None)
    response = page(request, "login.html", csrf=csrf, next=_next_page(next))
    if is_new:
        set_cookie(request, response, CSRF_COOKIE, csrf)
    return response


@router.post("/login", response_class=HTMLResponse, dependencies=[Checked])
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    credential, next = form.get("credential", "").strip(), form.get("next", "")
    try:
        if not credential:
            raise Problem(401, "Unauthorized", "请填写登录凭证(令牌或 API Key)")
        await authenticate(request, credential)
    except Problem as refusal:
        csrf = request.cookies.get(CSRF_COOKIE, "")
        return page(
            request, "login.html", status=refusal.status, csrf=csrf, next=next, error=refusal.detail
        )
    response = RedirectResponse(_next_page(next), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, credential)
    # A fresh CSRF token bound to this credential: the signed-out one no longer passes.
    set_cookie(request, response, CSRF_COOKIE, mint_csrf(request, credential))
    return response


@router.post("/logout", dependencies=[Checked])
async def sign_out() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    forget(response)
    return response
