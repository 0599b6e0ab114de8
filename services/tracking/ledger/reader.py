"""The ledger in one process: its sessions, its clock, and what every read endpoint shares
(the moment and calendar a page is computed for, the case a receipt code names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger import queries
from services.tracking.ledger.presentation import Context
from services.tracking.ledger.rows import Row
from shared.platform.clock import Clock
from shared.platform.protection import receipt_digest
from shared.platform.settings import Secrets, Settings


@dataclass
class Ledger:
    settings: Settings
    secrets: Secrets
    clock: Clock
    reads: async_sessionmaker[AsyncSession]
    writes: async_sessionmaker[AsyncSession]  # the projection's (SQLite: write lock at BEGIN)

    def now(self) -> datetime:
        return self.clock.now()

    async def context(self, session: AsyncSession, now: datetime | None = None) -> Context:
        return await queries.context(session, now or self.now(), self.settings.timezone)

    async def receipt_case(self, session: AsyncSession, code: str) -> Row | None:
        """The case an anonymous reporter's receipt code names; None for unknown or malformed
        codes alike, so that no answer tells whether a number exists."""
        digest = receipt_digest(self.secrets.receipt_secret, code)
        return await queries.receipt_row(session, digest or "-")
