"""On upgrade, the 问责程序 that triggers stored before the accountability wing existed call
for (issue 18): ``taizhang accountability backfill``. In memory, the rules: a case still open
gets its procedure with every trigger its events carry (supervised track, a higher source,
the Nth 督办 counted over the whole log, a second pass); a case closed out gets none; a
decided procedure is not reopened; a second run opens nothing; a dry run saves nothing. On
both stores, through the CLI's own function: the real stores read as their outboxes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from uuid import UUID

from services.ops.accountability import backfill_accountability, stored
from services.tracking.accountability.application import AccountabilityCommands
from services.tracking.accountability.backfill import backfill
from services.tracking.accountability.tally import tally_id
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts import tracking as t
from shared.platform.messaging.outbox import Outbox
from shared.platform.settings import Settings
from tests.support.infra import wait_for
from tests.support.tracking import OFFICE, Case, Served, served_fixture  # noqa: F401

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
OPEN_CASE, CLOSED, DECIDED, UNKNOWN = (uuid.uuid4() for _ in range(4))
_positions = count(1)


class Store(AccountabilityCommands):
    """Tracking's procedure commands on an in-memory store, with the cases' follow-ups."""

    states: dict[UUID, tuple[str, int]]

    def case_state(self, case_id: UUID) -> tuple[str, int] | None:
        return self.states.get(case_id)


def envelope(source: str, event: Contract) -> Envelope:
    return Envelope(
        source=source,
        position=next(_positions),
        stream_id=getattr(event, "case_id", uuid.uuid4()),
        stream_version=1,
        occurred_at=AT,
        actor=OFFICE,
        event=event,
    )


def triaged(case_id: UUID) -> Envelope:
    return envelope(
        "dispatch",
        d.CaseTriaged(
            case_id=case_id, status="registered", track="supervised", category=None, note=None
        ),
    )


def notice(case_id: UUID, unit: str = "U1") -> Envelope:
    return envelope(
        "dispatch",
        d.SupervisionNoticeIssued(
            case_id=case_id, status="dispatched", unit=unit, deadline_kind="handle", deadline=AT
        ),
    )


def history() -> list[Envelope]:
    tip = i.TipRegistered.model_construct(case_id=OPEN_CASE, channel="higher_referral")
    second = t.SecondPassStarted.model_construct(case_id=OPEN_CASE, status="in_progress")
    return [
        triaged(OPEN_CASE),
        envelope("intake", tip),
        notice(OPEN_CASE),
        notice(OPEN_CASE),  # the second 督办 of U1: supervision_notices_to_open
        notice(OPEN_CASE, "U2"),  # one for U2: counted, opens nothing
        envelope("tracking", second),
        triaged(CLOSED),
        triaged(DECIDED),
        triaged(UNKNOWN),
    ]


def test_stored_triggers_open_what_they_call_for_once() -> None:
    store = Store(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    store.states = {
        OPEN_CASE: ("awaiting_feedback", 1),
        CLOSED: ("closed_out", 1),
        DECIDED: ("awaiting_feedback", 1),
    }
    [decided] = store.triggered(DECIDED, "office", "问责办启动", OFFICE, automatic=False)
    decided.find_no_one_accountable(
        reason="经查无责", decided_by="appointing_authority", decided_on=AT.date(), actor=OFFICE
    )
    store.save(decided)

    dry = backfill(store, history(), dry_run=True)
    assert (dry.opened, dry.added, dry.tallies) == (1, 3, 2)
    assert store.procedure(OPEN_CASE) is None and store.tally(OPEN_CASE) is None  # nothing saved

    done = backfill(store, history())
    assert done.as_dict() == {
        "events": 9,
        "triggers": 7,  # OPEN_CASE's four (the 督办 count's among them), one per other case
        "opened": 1,
        "added": 3,
        "already": 0,
        "closed_out": 1,
        "decided": 1,
        "unknown": 1,
        "tallies": 2,
        "conflicts": 0,
    }
    procedure = store.get_procedure(OPEN_CASE)
    assert [x["trigger"] for x in procedure.triggers] == [
        "supervised_track",
        "higher_source",
        "second_pass",
        "supervision_notices",
    ]
    assert procedure.stage == "open" and procedure.round == 1
    assert procedure.report_back_required  # a higher level's source owes its report back
    assert store.tally(OPEN_CASE).by_unit == {"U1": 2, "U2": 1}  # type: ignore[union-attr]
    assert store.procedure(CLOSED) is None
    assert store.get_procedure(DECIDED).stage == "closed"  # not reopened

    again = backfill(store, history())
    assert (again.opened, again.added, again.already, again.tallies) == (0, 0, 4, 0)
    assert store.repository.get(tally_id(OPEN_CASE)).version == 3  # Started + two counts


def test_the_command_reads_the_stores_and_opens_once(served: Served, settings: Settings) -> None:
    """The live policy opened nothing for this case (an ordinary tip, triaged ``general``);
    a supervised triage that happened "before the wing" is stored in dispatch's log only —
    here, an envelope handed to the backfill beside what the stores hold."""
    case = Case(served)
    store: Any = served.tracking.app
    # The follow-up takes dispatch's CaseOpened as a consumer of its own, apart from the ledger
    # and dispatch that ``Case`` waits for: the backfill counts a case it has not seen as unknown.
    wait_for(lambda: store.case_status(case.id) is not None, 30, "the follow-up to open it")
    assert store.procedure(case.id) is None
    dispatch = served.app.state.services["dispatch"]
    from_store = list(stored(Outbox("dispatch", dispatch.app, dispatch.translate)))
    assert any(e.type == "CaseOpened" for e in from_store)
    old = [*from_store, triaged(case.id)]

    counts = backfill(store, old, dry_run=True)
    assert (counts.opened, store.procedure(case.id)) == (1, None)
    assert backfill(store, old).opened == 1
    assert [x["trigger"] for x in store.get_procedure(case.id).triggers] == ["supervised_track"]
    assert backfill(store, old).opened == 0

    # the CLI's function over the served stores: nothing more to open, counts only
    everything = asyncio.run(backfill_accountability(served.settings, dry_run=True))
    assert everything["opened"] == 0 and everything["events"] >= len(from_store)
    assert set(everything) >= {"opened", "added", "unit_triggers", "unit_opened"}
    assert all(isinstance(v, int) for v in everything.values())


def test_the_command_prints_counts_only(tmp_path: Path, monkeypatch: Any) -> None:
    """``taizhang accountability backfill --dry-run`` on a fresh directory: one line per
    count (key, number, its meaning in Chinese), nothing else on stdout; stderr says that
    nothing was saved."""
    from typer.testing import CliRunner

    from services.cli import BACKFILL_LABELS, app

    monkeypatch.setenv("TAIZHANG_DATA_DIR", str(tmp_path / "data"))
    answer = CliRunner().invoke(app, ["accountability", "backfill", "--dry-run"])
    assert answer.exit_code == 0, answer.output
    lines = [line.split("\t") for line in answer.stdout.splitlines()]
    assert [key for key, _, _ in lines] == list(BACKFILL_LABELS)
    assert all(number.isdigit() for _, number, _ in lines)
    assert [label for _, _, label in lines] == list(BACKFILL_LABELS.values())
    assert dict((k, int(n)) for k, n, _ in lines)["opened"] == 0
