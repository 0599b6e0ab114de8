"""The read audit keeps its rows for a stated time (issue 16, ADR 32), on SQLite and
PostgreSQL: the tracking service's sweep deletes reads older than
``read_audit_retention_days`` as the clock moves, ``taizhang audit prune`` does the same at
once, 0 keeps everything — and the events of a case (the other half of the trail) stay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from services.ops.retention import prune_read_audit
from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.infra import wait_for
from tests.support.pinned import NOW
from tests.support.tracking import Case, Served, serving

RETENTION = 30
READERS = ("旧读者", "新读者")  # (the harness reads as 测试用户 while it waits for a case)


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    kept = settings.model_copy(
        update={"read_audit_retention_days": RETENTION, "scheduler_interval_seconds": 0.2}
    )
    with serving(kept) as served:
        yield served


def trail(served: Served, **params: Any) -> list[dict[str, Any]]:
    supervisor = served.api.auth("supervisor", "纪委甲")
    r = served.api.get("/api/v1/audit", params=params, headers=supervisor)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return [i for i in items if i["actor"]["name"] in READERS or i["source"] != "reads"]


def viewed(served: Served, case: Case, name: str) -> None:
    reader = served.api.auth("office", name)
    assert served.api.get(f"/api/v1/cases/{case.id}", headers=reader).status_code == 200


def test_the_sweep_deletes_reads_past_the_retention_and_keeps_the_events(served: Served) -> None:
    assert served.settings.clock_file is not None
    case = Case(served, channel="hotline_12388", summary="保留期限")
    viewed(served, case, "旧读者")
    assert [r["actor"]["name"] for r in trail(served, type="CaseViewed")] == ["旧读者"]

    set_clock(served.settings.clock_file, NOW + timedelta(days=RETENTION, hours=1))
    viewed(served, case, "新读者")

    def swept() -> bool:
        return [r["actor"]["name"] for r in trail(served, type="CaseViewed")] == ["新读者"]

    wait_for(swept, 30, "the old read to be swept")
    events = trail(served, case_id=str(case.id), type="TipRegistered")
    assert len(events) == 1  # what changed is never pruned


def test_the_prune_command_applies_the_retention_at_once_and_zero_keeps_all(
    settings: Settings,
) -> None:
    assert settings.clock_file is not None
    with serving(settings) as served:  # the default retention: years
        case = Case(served, channel="hotline_12388", summary="立即清理")
        viewed(served, case, "旧读者")
        assert len(trail(served, type="CaseViewed")) == 1
    set_clock(settings.clock_file, NOW + timedelta(days=RETENTION, hours=1))
    assert asyncio.run(prune_read_audit(settings, 0)) == 0
    assert asyncio.run(prune_read_audit(settings, RETENTION + 1)) == 0
    assert asyncio.run(prune_read_audit(settings, RETENTION)) >= 1  # the harness read too
    with serving(settings) as served:
        assert trail(served, type="CaseViewed") == []
