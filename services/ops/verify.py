"""``taizhang verify``: does the ledger (台账) say what the event stores say?

Every service's event store is read from the start through its outbox translation (the
integration events it publishes): intake's registered tips, dispatch's cases, tracking's
follow-ups. What they imply for each case — that it was registered once, opened once, followed
up once; its number, shown status, pass and lead unit; how many reminders (催办), supervision
notices (督办) and feedback deliveries (反馈) it has — is compared with the ledger row.

Findings come in three kinds:

- **missing**: a case one place knows and the next does not (a tip dispatch never opened, a
  case with no ledger row);
- **duplicated**: something that must exist once exists twice (two cases for one
  ``external_ref``, one number on two rows, a reminder for the same deadline twice, a ledger
  count higher than the store's — an event applied twice);
- **diverging**: both sides have the case but disagree (status, lead unit, pass, number, or
  the ledger is behind).

While events are in flight, a live system shows some *missing* or *diverging* cases that
vanish a moment later; *duplicated* never vanishes. Run it on a quiet system, or repeat it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from services.registry import build_service
from services.tracking.ledger.projection import SOURCES
from services.tracking.ledger.rows import shown_status
from services.tracking.ledger.tables import ledger
from shared.contracts import Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts import tracking as t
from shared.platform.eventstore import ServiceApplication, application_env
from shared.platform.messaging.outbox import Outbox
from shared.platform.readmodel import create_engine
from shared.platform.settings import Settings, load_secrets

MISSING, DUPLICATED, DIVERGING = "missing", "duplicated", "diverging"


@dataclass
class CaseFacts:
    """What the event stores say about one case."""

    case_id: UUID
    number: str | None = None
    registrations: int = 0
    openings: int = 0
    follow_ups: int = 0
    dispatch_status: str | None = None
    dispatch_pass: int | None = None
    tracking_status: str | None = None
    tracking_pass: int | None = None
    lead_unit: str | None = None
    # (kind of deadline, deadline, unit) → how often a reminder / notice was issued for it
    reminders: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    notices: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (pass, feedback channel) → deliveries
    feedback: Counter[tuple[int, str]] = field(default_factory=Counter)

    def expected_status(self) -> str:
        views = ("dispatch_status", "dispatch_pass", "tracking_status", "tracking_pass")
        return shown_status({view: getattr(self, view) for view in views})

    def expected_pass(self) -> int:
        return max(self.dispatch_pass or 1, self.tracking_pass or 1)


@dataclass(frozen=True)
class Finding:
    kind: str  # missing | duplicated | diverging
    case_id: str
    number: str | None
    detail: str


@dataclass
class Report:
    counts: dict[str, int]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def as_json(self) -> dict[str, Any]:
        totals = {kind: len(self.of_kind(kind)) for kind in (MISSING, DUPLICATED, DIVERGING)}
        return {
            "ok": self.ok,
            "counts": self.counts | totals,
            "findings": [asdict(f) for f in self.findings],
        }


# --- what the stores say ---------------------------------------------------------------


class Stores:
    """Folds the three services' integration events into :class:`CaseFacts`."""

    def __init__(self) -> None:
        self.cases: dict[UUID, CaseFacts] = {}
        self.refs: dict[tuple[str, str], list[UUID]] = {}

    def case(self, case_id: UUID) -> CaseFacts:
        return self.cases.setdefault(case_id, CaseFacts(case_id))

    def add(self, envelope: Envelope) -> None:
        event = envelope.event
        case_id = getattr(event, "case_id", None)
        if not isinstance(case_id, UUID):
            return  # units and calendar years belong to no case
        facts = self.case(case_id)
        if isinstance(event, i.TipRegistered):
            facts.registrations += 1
            facts.number = event.number
            if event.external_ref:
                self.refs.setdefault((event.channel, event.external_ref), []).append(case_id)
        elif isinstance(event, d.CaseEvent):
            self._add_dispatch(facts, event)
        elif isinstance(event, t.FollowUpEvent):
            self._add_tracking(facts, event)

    @staticmethod
    def _add_dispatch(facts: CaseFacts, event: d.CaseEvent) -> None:
        facts.dispatch_status, facts.dispatch_pass = event.status, event.pass_no
        if isinstance(event, d.CaseOpened):
            facts.openings += 1
            facts.number = facts.number or event.number
        elif isinstance(event, d.CaseDispatched):
            facts.lead_unit = event.lead_unit
        elif isinstance(event, d.DeadlineApproaching):
            facts.reminders[_deadline_key(event)] += 1
        elif isinstance(event, d.SupervisionNoticeIssued):
            facts.notices[_deadline_key(event)] += 1

    @staticmethod
    def _add_tracking(facts: CaseFacts, event: t.FollowUpEvent) -> None:
        facts.tracking_status, facts.tracking_pass = event.status, event.pass_no
        if isinstance(event, t.FollowUpStarted):
            facts.follow_ups += 1
        elif isinstance(event, t.FeedbackDelivered):
            facts.feedback[(event.pass_no, event.channel)] += 1


def _deadline_key(event: d.DeadlineApproaching | d.SupervisionNoticeIssued) -> tuple[str, str, str]:
    return (event.deadline_kind, event.deadline.isoformat(), event.unit)


def read_stores(settings: Settings) -> Stores:
    """Every integration event of intake, dispatch and tracking, read from their stores."""
    stores = Stores()
    secrets = load_secrets(settings)
    for source in SOURCES:
        translate = build_service(source, settings, secrets).translate  # not started: pure
        for envelope in _envelopes(settings, source, translate):
            stores.add(envelope)
    return stores


def _envelopes(
    settings: Settings, source: str, translate: Callable[[Any], Any]
) -> Iterator[Envelope]:
    # A bare application of the service's name reads its store without starting the service
    # (no writer, no scheduler that could add events while we read).
    reader_class = type(f"{source}Reader", (ServiceApplication,), {"name": source.capitalize()})
    one_connection = settings.model_copy(update={"db_pool_size": 1})
    app = reader_class(application_env(one_connection, source))
    try:
        outbox = Outbox(source, app, translate)
        position, head = 0, outbox.head()
        while position < head:
            envelopes, position = outbox.read(position, 1000)
            yield from envelopes
    finally:
        app.close()


# --- what the ledger says --------------------------------------------------------------

LEDGER_COLUMNS = (
    ledger.c.case_id,
    ledger.c.number,
    ledger.c.status,
    ledger.c.pass_no,
    ledger.c.lead_unit,
    ledger.c.reminders,
    ledger.c.supervision_notices,
    ledger.c.feedback,
)


async def read_ledger(settings: Settings) -> dict[UUID, dict[str, Any]]:
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.select(*LEDGER_COLUMNS))
            return {row.case_id: dict(row._mapping) for row in result}
    finally:
        await engine.dispose()


# --- the comparison ----------------------------------------------------------------------


def compare(stores: Stores, rows: dict[UUID, dict[str, Any]]) -> Report:
    """Pure: the findings for these stores and these ledger rows."""
    findings: list[Finding] = []
    for facts in stores.cases.values():
        findings += _case_findings(facts, rows.get(facts.case_id))
    findings += _duplicate_refs(stores)
    findings += _duplicate_numbers(rows)
    for case_id, row in rows.items():
        if case_id not in stores.cases:
            findings.append(
                Finding(DIVERGING, str(case_id), row["number"], "ledger row in no event store")
            )
    cases = stores.cases.values()
    counts = {
        "registered": sum(1 for c in cases if c.registrations),
        "opened": sum(1 for c in cases if c.openings),
        "followed_up": sum(1 for c in cases if c.follow_ups),
        "ledger_rows": len(rows),
    }
    return Report(counts, findings)


def _case_findings(facts: CaseFacts, row: dict[str, Any] | None) -> list[Finding]:
    found: list[tuple[str, str]] = []
    for what, times in (
        ("registered by intake", facts.registrations),
        ("opened by dispatch", facts.openings),
        ("followed up by tracking", facts.follow_ups),
    ):
        if times > 1:
            found.append((DUPLICATED, f"{what} {times} times"))
    if not facts.registrations:
        found.append((DIVERGING, "not registered by intake"))
    elif not facts.openings:
        found.append((MISSING, "registered but not opened by dispatch"))
    if facts.openings and not facts.follow_ups:
        found.append((MISSING, "opened but not followed up by tracking"))
    for name, counter in (
        ("reminder", facts.reminders),
        ("supervision notice", facts.notices),
        ("feedback", facts.feedback),
    ):
        found += [
            (DUPLICATED, f"{name} {key} issued {n} times") for key, n in counter.items() if n > 1
        ]
    if row is None:
        found.append((MISSING, "not in the ledger"))
    else:
        found += _row_findings(facts, row)
    return [Finding(kind, str(facts.case_id), facts.number, detail) for kind, detail in found]


def _row_findings(facts: CaseFacts, row: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    expected = {
        "number": facts.number,
        "status": facts.expected_status(),
        "pass_no": facts.expected_pass(),
        "lead_unit": facts.lead_unit,
    }
    for column, value in expected.items():
        if row[column] != value:
            found.append((DIVERGING, f"{column}: ledger {row[column]!r}, stores {value!r}"))
    for column, stored in (
        ("reminders", sum(facts.reminders.values())),
        ("supervision_notices", sum(facts.notices.values())),
        ("feedback", sum(facts.feedback.values())),
    ):
        shown = row[column] if isinstance(row[column], int) else len(row[column] or [])
        if shown > stored:
            found.append((DUPLICATED, f"{column}: ledger {shown}, stores {stored}"))
        elif shown < stored:
            found.append((DIVERGING, f"{column}: ledger {shown}, stores {stored}"))
    return found


def _duplicate_refs(stores: Stores) -> list[Finding]:
    """One (channel, external_ref) must be one case (SPEC §4: intake is idempotent)."""
    return [
        Finding(DUPLICATED, str(case_id), stores.cases[case_id].number, f"external_ref {ref} again")
        for ref, case_ids in stores.refs.items()
        for case_id in case_ids[1:]
    ]


def _duplicate_numbers(rows: dict[UUID, dict[str, Any]]) -> list[Finding]:
    numbers = Counter(row["number"] for row in rows.values() if row["number"])
    return [
        Finding(DUPLICATED, str(case_id), row["number"], f"number on {numbers[row['number']]} rows")
        for case_id, row in rows.items()
        if row["number"] and numbers[row["number"]] > 1
    ]


async def verify(settings: Settings) -> Report:
    """The ledger is read first, then the stores: whatever moves meanwhile leaves the ledger
    behind the stores (a passing *missing*/*diverging*), never ahead of them, so a count
    higher in the ledger than in the stores is a real duplicate."""
    rows = await read_ledger(settings)
    stores = await asyncio.to_thread(read_stores, settings)
    return compare(stores, rows)
