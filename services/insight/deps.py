"""What insight's endpoints are given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.insight.service import InsightService


def get_insight(request: Request) -> InsightService:
    service: InsightService = request.app.state.services["insight"]
    return service


InsightDep = Annotated[InsightService, Depends(get_insight)]


async def reading(insight: InsightDep) -> AsyncIterator[AsyncSession]:
    async with insight.reads() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(reading)]
