"""What notify's endpoints are given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.service import NotifyService


def get_notify(request: Request) -> NotifyService:
    service: NotifyService = request.app.state.services["notify"]
    return service


NotifyDep = Annotated[NotifyService, Depends(get_notify)]


async def reading(notify: NotifyDep) -> AsyncIterator[AsyncSession]:
    async with notify.reads() as session:
        yield session


async def writing(notify: NotifyDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the endpoint returns without error."""
    async with notify.writes() as session, session.begin():
        yield session


ReadSession = Annotated[AsyncSession, Depends(reading)]
# Committed before the answer is sent ("function" scope): a client that reads right after a
# write (the unread count after "mark read", the directory before a dispatch) sees it.
WriteSession = Annotated[AsyncSession, Depends(writing, scope="function")]
