"""``taizhang verify`` finds the ledger rows that disagree with the event stores: a row
deleted is missing, a row altered diverges, an effect counted twice is duplicated."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from services.app import create_app
from services.ops.verify import DIVERGING, DUPLICATED, MISSING, Report, Stores, compare, verify
from services.tracking.ledger.tables import ledger
from shared.contracts import Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts import tracking as t
from shared.platform.readmodel import create_engine
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for

TAIZHANG = str(Path(sys.executable).parent / "taizhang")


def settled(settings: Settings, tips: int) -> Report:
    """The report once every tip has gone through to the ledger (bounded wait)."""
    return wait_for(
        lambda: (r := asyncio.run(verify(settings))).ok and r.counts["ledger_rows"] == tips and r,
        60,
        "the ledger to match the stores",
        interval=0.3,
    )


def register_and_stop(settings: Settings, count: int) -> list[dict]:
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        answers = [api.register(external_ref=f"v-{n}").json() for n in range(count)]
        settled(settings, count)
    return answers


def alter_ledger(settings: Settings, statement: sa.Executable) -> None:
    async def run() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as conn:
                await conn.execute(statement)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_verify_reports_counts_and_nothing_wrong_when_the_ledger_matches(
    settings: Settings,
) -> None:
    register_and_stop(settings, 3)
    report = asyncio.run(verify(settings))
    assert report.ok, report.findings
    assert report.counts == {"registered": 3, "opened": 3, "followed_up": 3, "ledger_rows": 3}


def test_a_deleted_ledger_row_is_reported_missing_and_the_command_fails(
    settings: Settings,
) -> None:
    answers = register_and_stop(settings, 3)
    gone = UUID(answers[1]["case_id"])
    alter_ledger(settings, sa.delete(ledger).where(ledger.c.case_id == gone))

    done = subprocess.run(
        [TAIZHANG, "verify", "--json"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"]["missing"] == 1
    assert report["counts"]["duplicated"] == 0
    [finding] = report["findings"]
    assert finding["kind"] == MISSING
    assert finding["case_id"] == str(gone)
    assert finding["number"] == answers[1]["number"]


def test_an_altered_ledger_row_is_reported_diverging(settings: Settings) -> None:
    answers = register_and_stop(settings, 2)
    changed = UUID(answers[0]["case_id"])
    alter_ledger(
        settings,
        sa.update(ledger)
        .where(ledger.c.case_id == changed)
        .values(status="closed_out", lead_unit="市城管局"),
    )
    report = asyncio.run(verify(settings))
    assert {f.kind for f in report.findings} == {DIVERGING}
    assert {f.case_id for f in report.findings} == {str(changed)}
    details = " ".join(f.detail for f in report.findings)
    assert "status" in details
    assert "lead_unit" in details


def _env(settings: Settings) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    env = clean | {"TAIZHANG_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env |= {
            "TAIZHANG_DATABASE_URL": settings.database_url,
            "TAIZHANG_DATABASE_SCHEMA": settings.database_schema,
        }
    return env


# --- the comparison alone: duplicates that the services themselves never let happen -----


def _envelope(source: str, position: int, event: object) -> Envelope:
    return Envelope(
        source=source,
        position=position,
        stream_id=getattr(event, "case_id", uuid4()),
        stream_version=position,
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        actor=None,
        event=event,  # type: ignore[arg-type]
    )


def _registered_case(stores: Stores, number: str, ref: str) -> UUID:
    case_id = uuid4()
    moment = datetime(2026, 3, 2, tzinfo=UTC)
    events = [
        _envelope("intake", 1, _tip(case_id, number, ref, moment)),
        _envelope(
            "dispatch",
            1,
            d.CaseOpened(
                case_id=case_id, status="registered", number=number, channel="media", named=False
            ),
        ),
        _envelope(
            "tracking",
            1,
            t.FollowUpStarted(
                case_id=case_id,
                status="registered",
                number=number,
                channel="media",
                named=False,
                required_feedback=["media_response"],
            ),
        ),
    ]
    for envelope in events:
        stores.add(envelope)
    return case_id


def _tip(case_id: UUID, number: str, ref: str, moment: datetime) -> i.TipRegistered:
    return i.TipRegistered(
        case_id=case_id,
        number=number,
        channel="media",
        content="某局门口违规停车",
        summary=None,
        category=None,
        external_ref=ref,
        occurred_at=None,
        location=None,
        subject=None,
        named=False,
        receipt_digest=None,
        registered_at=moment,
    )


def _row(case_id: UUID, number: str, **values: object) -> dict:
    row = {
        "case_id": case_id,
        "number": number,
        "status": "registered",
        "pass_no": 1,
        "lead_unit": None,
        "reminders": 0,
        "supervision_notices": 0,
        "feedback": [],
    }
    return row | values


def test_a_reminder_issued_twice_for_one_deadline_and_a_count_applied_twice_are_duplicates() -> (
    None
):
    stores = Stores()
    case_id = _registered_case(stores, "2026-000001", "r-1")
    reminder = d.DeadlineApproaching(
        case_id=case_id,
        status="dispatched",
        deadline_kind="sign",
        deadline=datetime(2026, 3, 3, tzinfo=UTC),
        unit="xihu_street",
    )
    stores.add(_envelope("dispatch", 2, reminder))
    stores.add(_envelope("dispatch", 3, reminder))
    rows = {case_id: _row(case_id, "2026-000001", status="dispatched", reminders=3)}

    report = compare(stores, rows)
    assert {f.kind for f in report.findings} == {DUPLICATED}
    assert len(report.findings) == 2  # twice in the store, and once more in the ledger


def test_one_external_ref_on_two_cases_and_one_number_on_two_rows_are_duplicates() -> None:
    stores = Stores()
    first = _registered_case(stores, "2026-000001", "same-ref")
    second = _registered_case(stores, "2026-000001", "same-ref")
    rows = {c: _row(c, "2026-000001") for c in (first, second)}

    report = compare(stores, rows)
    assert [f.kind for f in report.findings] == [DUPLICATED] * 3
    assert report.as_json()["counts"]["duplicated"] == 3


@pytest.mark.parametrize("missing", ["dispatch", "tracking"])
def test_a_case_a_later_service_never_saw_is_missing(missing: str) -> None:
    stores = Stores()
    case_id = _registered_case(stores, "2026-000007", "m-1")
    if missing == "dispatch":
        stores.cases[case_id].openings = 0
    stores.cases[case_id].follow_ups = 0
    report = compare(stores, {case_id: _row(case_id, "2026-000007")})
    assert MISSING in {f.kind for f in report.findings}
    assert not report.ok
