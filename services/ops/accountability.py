"""``taizhang accountability backfill``: on upgrade, the 问责程序 that triggers stored before
the accountability wing existed call for (issue 18) — a case's, from intake's, dispatch's
and tracking's stores (:mod:`services.tracking.accountability.backfill`), and a unit's, from
the assessments' recorded triggers (004). Idempotent; ``--dry-run`` counts and saves nothing.
It prints counts only: no case numbers, no names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from services.ops.rebuild import open_sources
from services.tracking.accountability.backfill import backfill
from shared.contracts import Envelope
from shared.platform.messaging.outbox import Outbox
from shared.platform.readmodel import ensure_schema
from shared.platform.settings import Settings

PAGE = 500


def stored(outbox: Outbox) -> Iterator[Envelope]:
    """Every event of a store, in order, as its outbox publishes it."""
    after = 0
    while True:
        envelopes, last = outbox.read(after, PAGE)
        yield from envelopes
        if last == after:
            return
        after = last


async def backfill_accountability(settings: Settings, *, dry_run: bool) -> dict[str, int]:
    await ensure_schema(settings)
    async with open_sources(settings) as outboxes:
        tracking: Any = next(o for o in outboxes if o.source == "tracking").app
        envelopes = (e for outbox in outboxes for e in stored(outbox))
        counts = (await asyncio.to_thread(backfill, tracking, envelopes, dry_run=dry_run)).as_dict()
        triggers, opened = await asyncio.to_thread(
            tracking.open_for_recorded_triggers, dry_run=dry_run
        )
    return counts | {"unit_triggers": triggers, "unit_opened": opened}
