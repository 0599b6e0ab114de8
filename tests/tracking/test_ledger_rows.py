"""How a ledger row is folded from events (pure): the shown status across services (ADR 5),
whatever order the three services' streams interleave in, and the overdue rule."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.tracking.ledger import rows as ledger
from services.tracking.ledger.presentation import is_overdue
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts import tracking as t

CASE = uuid.uuid4()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=20)


class Streams:
    """Envelopes of one case on the three services' streams, in each stream's order."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.versions: dict[str, int] = {}
        self.clock = T0

    def add(self, source: str, event: Contract) -> Envelope:
        self.versions[source] = self.versions.get(source, 0) + 1
        self.clock += timedelta(minutes=1)
        envelope = Envelope(
            source=source,
            position=len(self.envelopes) + 1,
            stream_id=CASE,
            stream_version=self.versions[source],
            occurred_at=self.clock,
            actor={"id": "x", "name": "x", "role": "office", "unit": None},
            event=event,
        )
        self.envelopes.append(envelope)
        return envelope


def case_event(cls: type[Contract], status: str, pass_no: int = 1, **data: Any) -> Contract:
    return cls(case_id=CASE, status=status, pass_no=pass_no, **data)


def lifecycle() -> tuple[Streams, list[str]]:
    """A case through a dissatisfied evaluation, a second pass and close-out, with the status
    the ledger shows after each event when delivered in this (causal) order."""
    s, shown = Streams(), []

    def step(source: str, event: Contract, status: str) -> None:
        s.add(source, event)
        shown.append(status)

    step("intake", tip(), "registered")
    step(
        "dispatch",
        case_event(
            d.CaseOpened, "registered", number="2026-000001", channel="mayor_hotline", named=False
        ),
        "registered",
    )
    step(
        "tracking",
        case_event(
            t.FollowUpStarted,
            "registered",
            number="2026-000001",
            channel="mayor_hotline",
            named=False,
            required_feedback=["direct_reply"],
        ),
        "registered",
    )
    step(
        "dispatch", case_event(d.CaseDispatched, "dispatched", **dispatched("WC-JYQ")), "dispatched"
    )
    step(
        "dispatch",
        case_event(d.CaseSigned, "in_progress", unit="WC-JYQ", on_time=True),
        "in_progress",
    )
    step(
        "dispatch",
        case_event(d.ResultSubmitted, "result_submitted", **result(1)),
        "result_submitted",
    )
    step(
        "dispatch",
        case_event(d.ResultReviewed, "awaiting_feedback", n=1, accepted=True, reason=None),
        "awaiting_feedback",
    )
    step(
        "tracking",
        case_event(t.FollowUpOpened, "awaiting_feedback", required_feedback=["direct_reply"]),
        "awaiting_feedback",
    )
    step(
        "tracking",
        case_event(
            t.FeedbackDelivered,
            "awaiting_evaluation",
            channel="direct_reply",
            content="已回复",
            delivered_feedback=["direct_reply"],
        ),
        "awaiting_evaluation",
    )
    step(
        "tracking",
        case_event(
            t.EvaluationRecorded,
            "awaiting_evaluation",
            rating="dissatisfied",
            evaluator_kind="complainant",
            comment=None,
        ),
        "awaiting_evaluation",
    )
    step(
        "tracking",
        case_event(t.SecondPassStarted, "second_pass", 2, reason="不满意"),
        "second_pass",
    )
    step(
        "dispatch",
        case_event(
            d.CaseReopenedForSecondPass,
            "in_progress",
            2,
            unit="WC-JYQ",
            handle_deadline=DEADLINE,
            handle_deadline_provisional=False,
        ),
        "in_progress",
    )
    step(
        "dispatch",
        case_event(d.ResultSubmitted, "result_submitted", 2, **result(2)),
        "result_submitted",
    )
    step(
        "dispatch",
        case_event(d.ResultReviewed, "awaiting_feedback", 2, n=2, accepted=True, reason=None),
        "awaiting_feedback",
    )
    step(
        "tracking",
        case_event(t.FollowUpOpened, "awaiting_feedback", 2, required_feedback=["direct_reply"]),
        "awaiting_feedback",
    )
    step(
        "tracking",
        case_event(
            t.FeedbackDelivered,
            "awaiting_evaluation",
            2,
            channel="direct_reply",
            content="再次回复",
            delivered_feedback=["direct_reply"],
        ),
        "awaiting_evaluation",
    )
    step(
        "tracking",
        case_event(
            t.EvaluationRecorded,
            "awaiting_evaluation",
            2,
            rating="satisfied",
            evaluator_kind="complainant",
            comment=None,
        ),
        "awaiting_evaluation",
    )
    step("tracking", case_event(t.CaseClosedOut, "closed_out", 2, closed_at=s.clock), "closed_out")
    return s, shown


def tip() -> Contract:
    return i.TipRegistered(
        case_id=CASE,
        number="2026-000001",
        channel="mayor_hotline",
        content="反映某局乱收费问题",
        summary="乱收费",
        category="收费",
        external_ref=None,
        occurred_at=None,
        location={"district": "武昌区"},
        subject={"unit": "某局", "person": "张某"},
        named=False,
        receipt_digest="d" * 64,
        registered_at=T0,
    )


def dispatched(unit: str) -> dict[str, Any]:
    return {
        "lead_unit": unit,
        "co_units": ["WC-CZJ"],
        "track": "general",
        "handle_working_days": 15,
        "sign_deadline": T0 + timedelta(days=1),
        "sign_deadline_provisional": False,
        "handle_deadline": DEADLINE,
        "handle_deadline_provisional": False,
        "redispatch": False,
    }


def result(n: int) -> dict[str, Any]:
    both = n > 1
    return {
        "n": n,
        "unit": "WC-JYQ",
        "findings": f"第{n}次办理结果",
        "rectification": "已整改",
        "proposal_kind": "rectification",
        "proposal_text": "加强管理",
        "signed_off_by": "局长",
        "direct_person_findings": "责任人" if both else None,
        "leadership_findings": "领导" if both else None,
        "on_time": True,
    }


def fold(envelopes: list[Envelope]) -> ledger.Row:
    row = ledger.new_row(CASE)
    for envelope in envelopes:
        row = ledger.apply(row, envelope)
    return row


def test_in_causal_order_the_shown_status_follows_the_lifecycle() -> None:
    streams, expected = lifecycle()
    row, shown = ledger.new_row(CASE), []
    for envelope in streams.envelopes:
        row = ledger.apply(row, envelope)
        shown.append(row["status"])
    assert shown == expected
    assert row["pass_no"] == 2
    assert row["closed_out_at"] == streams.envelopes[-1].event.closed_at  # type: ignore[attr-defined]
    assert row["evaluations_total"] == 2
    assert row["evaluations_satisfied"] == 1
    assert row["latest_evaluation"]["rating"] == "satisfied"
    assert [f["pass_no"] for f in row["feedback"]] == [1, 2]


@pytest.mark.parametrize("seed", range(25))
def test_any_interleaving_of_the_three_streams_builds_the_same_row(seed: int) -> None:
    streams, _ = lifecycle()
    by_source: dict[str, list[Envelope]] = {}
    for envelope in streams.envelopes:
        by_source.setdefault(envelope.source, []).append(envelope)
    rng = random.Random(seed)
    shuffled: list[Envelope] = []
    while any(by_source.values()):
        source = rng.choice([s for s, q in by_source.items() if q])
        shuffled.append(by_source[source].pop(0))
    assert fold(shuffled) == fold(streams.envelopes)


def test_tracking_ahead_on_a_later_pass_shows_the_second_pass_until_dispatch_reopens() -> None:
    streams, _ = lifecycle()
    envelopes = streams.envelopes
    reopen = next(e for e in envelopes if isinstance(e.event, d.CaseReopenedForSecondPass))
    second = next(e for e in envelopes if isinstance(e.event, t.SecondPassStarted))
    before = [e for e in envelopes[: envelopes.index(second)]]
    assert fold([*before, second])["status"] == "second_pass"
    assert fold([*before, second, reopen])["status"] == "in_progress"
    # Dispatch's hand-over alone (tracking not yet opened) shows dispatch's view.
    accepted = envelopes[:7]
    assert fold(accepted)["status"] == "awaiting_feedback"
    assert fold(accepted)["tracking_status"] == "registered"


def test_overdue_is_past_a_running_deadline_and_never_after_the_result() -> None:
    streams, _ = lifecycle()
    envelopes = streams.envelopes
    dispatched_row = fold(envelopes[:4])
    signed_row = fold(envelopes[:5])
    submitted_row = fold(envelopes[:6])
    sign_missed = T0 + timedelta(days=2)
    handle_missed = DEADLINE + timedelta(seconds=1)
    assert not is_overdue(dispatched_row, T0)
    assert is_overdue(dispatched_row, sign_missed)  # not signed by the sign-for deadline
    assert not is_overdue(signed_row, sign_missed)
    assert is_overdue(signed_row, handle_missed)
    assert not is_overdue(submitted_row, handle_missed)


def test_control_characters_never_reach_the_sheet_xml() -> None:
    """Stored before the edge refused them, they are dropped from the cell, not a failed export."""
    from openpyxl import Workbook

    from services.tracking.ledger.workbook import cell

    sheet = Workbook(write_only=True).create_sheet("台账")
    assert cell(sheet, "乱收费\x1b\x07问题", ctx=None) == "乱收费问题"  # type: ignore[arg-type]
    long = cell(sheet, "乱收费\x1b\x07问题\n第二行，群众多次反映", ctx=None)  # type: ignore[arg-type]
    assert long.value == "乱收费问题\n第二行，群众多次反映"  # wrapped in its column
    assert long.alignment.wrap_text is True


def test_a_file_attached_or_downloaded_does_not_move_the_cases_updated_time() -> None:
    """Open311 shows the public ``updated_datetime``: an office member's download must not."""
    streams, _ = lifecycle()
    dispatched_row = fold(streams.envelopes[:4])
    digest = "ab" * 32
    added = streams.add(
        "dispatch",
        case_event(
            d.CaseAttachmentAdded,
            "dispatched",
            n=1,
            digest=digest,
            media_type="image/jpeg",
            size=100,
            purpose="evidence",
        ),
    )
    downloaded = streams.add(
        "dispatch", case_event(d.CaseAttachmentDownloaded, "dispatched", n=1, digest=digest)
    )
    row = ledger.apply(ledger.apply(dispatched_row, added), downloaded)
    assert row["updated_at"] == dispatched_row["updated_at"] < downloaded.occurred_at
    assert row["status"] == "dispatched"


def test_an_approved_file_cleaned_since_is_shown_under_its_new_digest() -> None:
    """ADR 42: ``CaseAttachmentCleaned`` replaces the digest in ``public_images`` (the portal
    follows), leaves the others, and is not a step of the case (``updated_at`` stays)."""
    s = Streams()
    row = ledger.apply(ledger.new_row(CASE), s.add("intake", tip()))
    for n, digest in ((1, "aa" * 32), (2, "bb" * 32)):
        shown = case_event(
            d.CaseAttachmentApprovedForPublic,
            "registered",
            n=n,
            digest=digest,
            media_type="video/mp4",
        )
        row = ledger.apply(row, s.add("dispatch", shown))
    before = row.get("updated_at")
    cleaned = case_event(
        d.CaseAttachmentCleaned,
        "registered",
        n=1,
        old_digest="aa" * 32,
        digest="cc" * 32,
        media_type="video/mp4",
        size=9,
    )
    row = ledger.apply(row, s.add("dispatch", cleaned))
    assert [i["digest"] for i in row["public_images"]] == ["cc" * 32, "bb" * 32]
    assert row.get("updated_at") == before
