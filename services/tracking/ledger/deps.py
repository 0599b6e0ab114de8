"""What the ledger's endpoints are given: the ledger, and a read session on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.ledger.reader import Ledger


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.services["tracking"].ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


async def read_session(reader: LedgerDep) -> AsyncIterator[AsyncSession]:
    async with reader.reads() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]
