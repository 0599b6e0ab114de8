"""A writer engine on the test's store with the ledger's tables migrated: for the tests that
drive the ledger projection's own writes and queries without serving an app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.ledger.tables import MIGRATIONS
from shared.platform.readmodel import create_engine, ensure_schema, migrate
from shared.platform.settings import Settings


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await migrate(engine, MIGRATIONS, "alembic_version_tracking")
        yield engine
    finally:
        await engine.dispose()
