"""Dispatch's reactions on SQLite and PostgreSQL: a registered tip opens a case once, and
tracking's SecondPassStarted reopens it for the lead unit once (一案双查 on the new pass)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.dispatch.application import DispatchApplication
from services.dispatch.errors import Invalid
from services.dispatch.policy import policies
from shared.contracts import Contract, Envelope
from shared.contracts.intake import TipRegistered
from shared.contracts.tracking import SecondPassStarted
from shared.platform.eventstore import application_env
from shared.platform.messaging import Outcome
from shared.platform.messaging.policy import ApplicationPolicy
from shared.platform.readmodel import ensure_schema
from shared.platform.settings import Settings
from tests.support.api import count_topic, stored_notifications
from tests.support.pinned import NOW

OFFICE = {"id": "office:张三", "name": "张三", "role": "office", "unit": None}
LIAISON = {"id": "unit_liaison:李四", "name": "李四", "role": "unit_liaison", "unit": "T-LEAD"}
RESULT = {
    "findings": "属实",
    "rectification": "已整改",
    "proposal_kind": "accountability",
    "proposal_text": "建议对经办人诫勉谈话",
    "signed_off_by": "局长",
    "direct_person_findings": None,
    "leadership_findings": None,
}


@pytest.fixture
def app(settings: Settings) -> Iterator[DispatchApplication]:
    asyncio.run(ensure_schema(settings))
    app = DispatchApplication(application_env(settings, "dispatch"))
    try:
        yield app
    finally:
        app.close()


def envelope(source: str, position: int, event: Contract, stream_id: UUID) -> Envelope:
    return Envelope(
        source=source,
        position=position,
        stream_id=stream_id,
        stream_version=position,
        occurred_at=NOW,
        actor=OFFICE,
        event=event,
    )


def tip(case_id: UUID) -> TipRegistered:
    return TipRegistered(
        case_id=case_id,
        number="2026-000042",
        channel="hotline_12388",
        content="窗口推诿",
        summary=None,
        category=None,
        external_ref=None,
        occurred_at=None,
        location=None,
        subject=None,
        named=False,
        receipt_digest=None,
        registered_at=NOW,
    )


def deliver(policy: ApplicationPolicy, message: Envelope) -> Outcome:
    return asyncio.run(policy.handle(message))


def accepted_case(app: DispatchApplication, policy: ApplicationPolicy) -> UUID:
    case_id = uuid4()
    assert deliver(policy, envelope("intake", 1, tip(case_id), case_id)) is Outcome.DONE
    assert deliver(policy, envelope("intake", 1, tip(case_id), case_id)) is Outcome.DUPLICATE
    app.register_unit(
        {"code": "T-LEAD", "name": "测试局", "kind": "department", "parent": None, "liaisons": []},
        OFFICE,
    )
    app.triage(case_id, "general", None, None, OFFICE)
    app.dispatch(case_id, "T-LEAD", [], None, OFFICE)
    app.sign(case_id, "T-LEAD", LIAISON)
    app.submit_result(case_id, "T-LEAD", RESULT, LIAISON)
    app.review_result(case_id, 1, True, None, OFFICE)
    return case_id


def test_second_pass_reopens_for_the_lead_unit_once(
    app: DispatchApplication, settings: Settings
) -> None:
    policy = policies(app)[0]
    assert policy.sources == ("intake", "tracking")
    case_id = accepted_case(app, policy)
    started = SecondPassStarted(case_id=case_id, status="second_pass", pass_no=2, reason="不满意")

    assert deliver(policy, envelope("tracking", 7, started, case_id)) is Outcome.DONE
    case = app.get_case(case_id)
    assert (case.status, case.pass_no, case.lead_unit) == ("in_progress", 2, "T-LEAD")
    assert case.deadlines["handle"]["start"] > case.dispatched_at  # type: ignore[operator]
    assert deliver(policy, envelope("tracking", 7, started, case_id)) is Outcome.DUPLICATE
    assert deliver(policy, envelope("tracking", 8, started, case_id)) is Outcome.DONE  # same pass
    stored = stored_notifications(settings, "dispatch")
    assert count_topic(stored, "Case.ReopenedForSecondPass") == 1
    assert count_topic(stored, "Case.Opened") == 1

    with pytest.raises(Invalid) as refused:
        app.submit_result(case_id, "T-LEAD", RESULT | {"leadership_findings": "班子"}, LIAISON)
    assert refused.value.errors[0][0] == "direct_person_findings"
    both: dict[str, Any] = RESULT | {
        "direct_person_findings": "诫勉",
        "leadership_findings": "检查",
    }
    _, n = app.submit_result(case_id, "T-LEAD", both, LIAISON)
    assert n == 2
    assert app.get_case(case_id).results[1]["pass_no"] == 2


def test_a_second_pass_for_a_case_not_opened_yet_is_retried_later(app: DispatchApplication) -> None:
    policy = policies(app)[0]
    case_id = uuid4()
    started = SecondPassStarted(case_id=case_id, status="second_pass", pass_no=2, reason="不满意")
    assert deliver(policy, envelope("tracking", 1, started, case_id)) is Outcome.RETRY_LATER
    assert app.find_case(case_id) is None
