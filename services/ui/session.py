"""Who is at the workbench: the credential cookie, and the CSRF token on every form.

The session cookie holds the token or API key the person signed in with (HttpOnly, so page
scripts never see it; SameSite=Strict, so other sites' pages cannot send it). It is checked
by the same :class:`shared.web.auth.Authenticator` as every API request.

CSRF is a signed double-submit token: ``nonce.HMAC(key, nonce | session)`` sits in a cookie
and in each form's hidden ``csrf`` field; a POST must carry both, equal, and signed for the
current session (a token minted for another credential, or before sign-in, does not pass).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request, Response
from starlette.datastructures import ImmutableMultiDict

from services.ui.client import Api
from shared.web.auth import Principal
from shared.web.problems import Problem

SESSION_COOKIE = "tz_session"
CSRF_COOKIE = "tz_csrf"
CSRF_FIELD = "csrf"
SESSION_HOURS = 12


class SignInRequired(Exception):
    """No valid credential: the page sends the person to the sign-in form."""


class CsrfRefused(Exception):
    """A POST without a matching, correctly signed CSRF token."""


def _key(request: Request) -> bytes:
    # A key of its own, derived from a secret every deployment already has.
    secret: bytes = request.app.state.runtime.secrets.receipt_secret
    return hmac.new(secret, b"taizhang-ui-csrf", hashlib.sha256).digest()


def _binding(credential: str | None) -> str:
    return hashlib.sha256(credential.encode()).hexdigest() if credential else "signed-out"


def _signature(key: bytes, nonce: str, credential: str | None) -> str:
    message = f"{nonce}|{_binding(credential)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mint_csrf(request: Request, credential: str | None) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_signature(_key(request), nonce, credential)}"


def csrf_valid(request: Request, credential: str | None, token: str | None) -> bool:
    if not token or "." not in token:
        return False
    nonce, _, signature = token.partition(".")
    return hmac.compare_digest(signature, _signature(_key(request), nonce, credential))


def current_csrf(request: Request, credential: str | None) -> tuple[str, bool]:
    """The session's CSRF token, and whether it is new (then it must be set as a cookie)."""
    held = request.cookies.get(CSRF_COOKIE)
    if held and csrf_valid(request, credential, held):
        return held, False
    return mint_csrf(request, credential), True


async def read_form(request: Request) -> ImmutableMultiDict[str, str]:
    """The posted form. Pages post only urlencoded forms (no uploads), so the standard
    library parses them; python-multipart is not needed."""
    cached = getattr(request.state, "form", None)
    if cached is None:
        text = (await request.body()).decode("utf-8", errors="replace")
        cached = ImmutableMultiDict(parse_qsl(text, keep_blank_values=True))
        request.state.form = cached
    return cached


async def check_csrf(request: Request) -> None:
    """The double-submit check every POST of the workbench passes first."""
    form = await read_form(request)
    sent = form.get(CSRF_FIELD)
    held = request.cookies.get(CSRF_COOKIE)
    credential = request.cookies.get(SESSION_COOKIE)
    if not (
        isinstance(sent, str)
        and held
        and hmac.compare_digest(sent, held)
        and csrf_valid(request, credential, sent)
    ):
        raise CsrfRefused


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.app.state.runtime.settings.is_production


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=SESSION_HOURS * 3600,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def forget(response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/ui", httponly=True, samesite="strict")


@dataclass
class Viewer:
    """The signed-in person on this request, their unit's name, and the page's CSRF token."""

    principal: Principal
    credential: str
    api: Api
    csrf: str
    csrf_is_new: bool
    unit_name: str | None = None

    def keep_csrf(self, request: Request, response: Response) -> Response:
        if self.csrf_is_new:
            set_cookie(request, response, CSRF_COOKIE, self.csrf)
        return response


async def authenticate(request: Request, credential: str) -> Principal:
    """The same check as every API request (401 → :class:`Problem`)."""
    authorization = None if credential.startswith("tzk_") else f"Bearer {credential}"
    api_key = credential if credential.startswith("tzk_") else None
    principal: Principal = await request.app.state.authenticator.authenticate(
        authorization, api_key
    )
    return principal


async def current_viewer(request: Request) -> Viewer:
    credential = request.cookies.get(SESSION_COOKIE)
    if not credential:
        raise SignInRequired
    try:
        principal = await authenticate(request, credential)
    except Problem:
        raise SignInRequired from None
    csrf, is_new = current_csrf(request, credential)
    api = Api(request.app, credential, request.app.state.runtime.settings.ui_api_url)
    viewer = Viewer(principal, credential, api, csrf, is_new)
    viewer.unit_name = await _unit_name(viewer)
    return viewer


async def _unit_name(viewer: Viewer) -> str | None:
    unit = viewer.principal.unit
    if unit is None:
        return None
    response = await viewer.api.raw("/api/v1/units")
    if response.status_code != 200:
        return unit
    names = {u["code"]: u["name"] for u in response.json()["items"]}
    return names.get(unit, unit)


async def viewer_dependency(request: Request) -> AsyncIterator[Viewer]:
    viewer = await current_viewer(request)
    request.state.viewer = viewer  # for the error page's header
    try:
        yield viewer
    finally:
        await viewer.api.aclose()


CurrentViewer = Annotated[Viewer, Depends(viewer_dependency)]
