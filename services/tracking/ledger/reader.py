"""The ledger in one process: its sessions, its clock, and what every read endpoint shares
(the moment and calendar a page is computed for, the case a receipt code names)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger import queries
from services.tracking.ledger.audit import ReadAudit
from services.tracking.ledger.presentation import Context
from services.tracking.ledger.rows import Row
from services.tracking.ledger.tables import ledger
from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.clock import Clock
from shared.platform.protection import receipt_digest
from shared.platform.settings import AccountabilityRules, Secrets, Settings


@dataclass
class Ledger:
    settings: Settings
    secrets: Secrets
    clock: Clock
    reads: async_sessionmaker[AsyncSession]
    writes: async_sessionmaker[AsyncSession]  # the projection's (SQLite: write lock at BEGIN)
    # The office's accountability tables (award bar, floors): a port the service fills from
    # the accountability wing; the settings' until then.
    accountability_rules: Callable[[], AccountabilityRules] | None = None
    # Who read what (ADR 26); written as each read comes until the service starts its task.
    read_audit: ReadAudit = field(init=False)

    # The attachment store every service reaches (ADR 22): the portal's approved images.
    _attachments: AttachmentStore | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.read_audit = ReadAudit(self.writes)

    @property
    def attachments(self) -> AttachmentStore:
        if self._attachments is None:
            self._attachments = attachment_store(self.settings, self.secrets.receipt_secret)
        return self._attachments

    async def accountability(self) -> AccountabilityRules:
        if self.accountability_rules is None:
            return self.settings.accountability
        return await asyncio.to_thread(self.accountability_rules)

    def now(self) -> datetime:
        return self.clock.now()

    async def context(self, session: AsyncSession, now: datetime | None = None) -> Context:
        return await queries.context(session, now or self.now(), self.settings.timezone)

    async def receipt_case(self, session: AsyncSession, code: str) -> Row | None:
        """The case an anonymous reporter's receipt code names; None for unknown or malformed
        codes alike, so that no answer tells whether a number exists."""
        digest = receipt_digest(self.secrets.receipt_secret, code)
        return await queries.receipt_row(session, digest or "-")

    async def original_of(self, session: AsyncSession, row: Row) -> Row | None:
        """The case a merged case was folded into (its reporter follows that one, ADR 20)."""
        number = row.get("merged_into")
        if not number:
            return None
        found = await session.execute(sa.select(ledger).where(ledger.c.number == number))
        first = found.first()
        return None if first is None else dict(first._mapping)
