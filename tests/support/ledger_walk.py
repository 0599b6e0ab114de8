"""A random walk of ledger rows written a batch at a time through the projection's own write:
the tests that check what the projection keeps beside the rows (the KPI counters, the person
index) against a count or a fill from scratch."""

from __future__ import annotations

import random
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.ledger import projection, rows


class LedgerWalk:
    """Subclasses say how a case is born (``new``) and how it moves (``move``)."""

    new_share = 0.3  # of a batch's steps, how many open a new case

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cases: dict[uuid.UUID, rows.Row] = {}

    def new(self) -> rows.Row:
        raise NotImplementedError

    def move(self, row: rows.Row) -> rows.Row:
        raise NotImplementedError

    async def batch(self, session: AsyncSession, size: int) -> None:
        """Some cases new, some moved (one case moved several times in a batch, too)."""
        stored = {c: row for c, row in self.cases.items() if self.rng.random() < 0.3}
        folded = dict(stored)
        for _ in range(size):
            if not folded or self.rng.random() < self.new_share:
                row = self.new()
                folded[row["case_id"]] = row
            else:
                case = self.rng.choice(list(folded))
                folded[case] = self.move(folded[case])
        await projection._write_cases(session, sorted(folded), stored, folded)
        self.cases |= folded
