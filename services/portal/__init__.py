"""The public portal (公众门户) under ``/portal/``: server-rendered Chinese pages, mobile first,
no sign-in — follow a case by receipt code and rate it, read published results (issue 20).

It speaks to the public API in-process, as the caller: the client's own address goes along,
so the public rate limit counts each visitor, not the portal. What it shows of published text
passes ``shared.platform.redaction.redact`` first.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.portal import pages

HERE = pages.HERE


def install(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="portal-static")
