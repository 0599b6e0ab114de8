"""The warning sweep reads weeks of tips (a city's ~77,000): it runs only when something is
new — a tip, a triage, a close (the insight projection's positions moved) — or a new day has
begun; otherwise a pass is skipped. What it finds is unchanged (tests/insight/test_warning.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid5

from services.insight.service import InsightService
from shared.contracts import Envelope
from shared.contracts.intake import TipRegistered
from shared.platform.readmodel import SHARED_MIGRATIONS, create_engine, ensure_schema, migrate
from shared.platform.settings import Settings, load_secrets

NS = UUID("00000000-0000-0000-0000-000000000026")
T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
_positions = itertools.count(1)


class Hands:
    """The service's clock, moved by the test."""

    def __init__(self) -> None:
        self.moment = T0

    def now(self) -> datetime:
        return self.moment


def registered(n: int) -> Envelope:
    event = TipRegistered(
        case_id=uuid5(NS, str(n)),
        number=f"2026-{n:06d}",
        channel="hotline_12388",
        content=f"南湖街道第{n}社区办理居住证时被收取工本费，没有收据。",
        summary=None,
        category="arbitrary_charges",
        external_ref=None,
        occurred_at=None,
        location={"street": "南湖街道"},
        subject={"unit": None, "person": None},
        named=False,
        receipt_digest=None,
        registered_at=T0,
    )
    return Envelope(
        source="intake",
        position=next(_positions),
        stream_id=event.case_id,
        stream_version=1,
        occurred_at=T0,
        actor={"id": "operator:话务员", "name": "话务员", "role": "operator"},
        event=event,
    )


async def test_a_pass_with_nothing_new_on_the_same_day_is_skipped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")  # the positions
    await engine.dispose()
    hands = Hands()
    service = InsightService(settings, load_secrets(settings), clock=hands)
    await service.start(background=False)
    try:
        sweep = service.sweep
        swept = []
        original = sweep.sweep

        async def counted() -> int:
            swept.append(hands.now())
            return await original()

        sweep.sweep = counted  # type: ignore[method-assign]
        [projection] = service.consumers()

        await sweep.one_pass()
        await sweep.one_pass()
        assert len(swept) == 1  # the second pass: same day, nothing new

        await projection.handle(registered(1))
        await sweep.one_pass()
        await sweep.one_pass()
        assert len(swept) == 2  # a tip arrived: one pass reads it, the next has nothing new

        hands.moment = T0 + timedelta(days=1)
        await sweep.one_pass()
        await sweep.one_pass()
        assert len(swept) == 3  # a new day: the windows moved
    finally:
        await service.stop()
