"""Every event of dispatch's published aggregates crosses the boundary as a contract, and
each translation produces a valid, decodable integration event."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from services.dispatch.contract import TRANSLATIONS, to_contract
from services.dispatch.deadlines import DeadlineRules
from services.dispatch.directory import CalendarYear, CaseNumber, RoutingTable, Unit, UnitDirectory
from services.dispatch.domain import Case
from shared.contracts import SYSTEM_ACTOR, Envelope, decode
from shared.contracts import dispatch as dispatch_contracts
from shared.contracts.dispatch import CaseEvent
from shared.platform.calendar import WorkingCalendar, YearCalendar
from shared.platform.settings import DeadlinePolicy
from tests.dispatch.test_domain import (
    LIAISON,
    MONDAY,
    OFFICE,
    RESULT,
    RULES,
    in_progress,
    new_case,
)

CST = timezone(timedelta(hours=8))
PUBLISHED = (Case, Unit, CalendarYear)
INTERNAL = (RoutingTable, UnitDirectory, CaseNumber)


LIBRARY_BASES = {"Event", "Created"}  # the library's base classes, never triggered here


def event_classes(aggregate: type[Aggregate]) -> set[str]:
    return {
        value.__qualname__
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name not in LIBRARY_BASES
    }


def test_every_event_class_of_the_published_aggregates_has_a_translation() -> None:
    published = set().union(*(event_classes(a) for a in PUBLISHED))
    assert published == set(TRANSLATIONS)


def test_internal_aggregates_are_not_published() -> None:
    table = RoutingTable(rules=[], actor=SYSTEM_ACTOR)
    table.replace(rules=[], actor=SYSTEM_ACTOR)
    directory = UnitDirectory()
    directory.add("WC-JYJ")
    number = CaseNumber(number="2026-000001", case_id=new_case().id)
    events = [*table.collect_events(), *directory.collect_events(), *number.collect_events()]
    assert events
    assert all(to_contract(e) is None for e in events)


def every_case_event() -> list[Any]:
    """One case through every kind of event there is."""
    case = in_progress()
    case.flag_for_accountability(reason="媒体曝光", actor=SYSTEM_ACTOR)
    case.report_progress(unit="WC-SCJG", note="进展", now=case.dispatched_at, actor=LIAISON)
    n = case.request_extension(
        unit="WC-JYJ",
        working_days=2,
        reason="r",
        now=case.dispatched_at,
        rules=RULES,
        actor=LIAISON,
    )
    case.decide_extension(n=n, granted=True, reason=None, rules=RULES, actor=OFFICE)
    handle = case.deadlines["handle"]
    case.check_deadlines(
        now=RULES.remind_at(handle["start"], handle["at"]), rules=RULES, actor=SYSTEM_ACTOR
    )
    case.check_deadlines(now=handle["at"] + timedelta(seconds=1), rules=RULES, actor=SYSTEM_ACTOR)
    case.submit_result(unit="WC-JYJ", result=RESULT, now=handle["at"], actor=LIAISON)
    case.review_result(n=1, accepted=True, reason=None, actor=OFFICE)
    digest = "ab" * 32
    file = {"digest": digest, "media_type": "application/pdf", "size": 10, "purpose": "result"}
    case.attach(**file, now=handle["at"], actor=LIAISON)
    case.record_download(digest=digest, now=handle["at"], actor=OFFICE)
    cleaned = {"n": 1, "old_digest": digest, "digest": "ef" * 32, "size": 9}
    assert case.record_cleaned(**cleaned, now=handle["at"], actor=SYSTEM_ACTOR)
    assert not case.record_cleaned(**cleaned, now=handle["at"], actor=SYSTEM_ACTOR)  # once
    photo = {"digest": "cd" * 32, "media_type": "image/jpeg", "size": 10, "purpose": "result"}
    case.attach(**photo, now=handle["at"], actor=LIAISON)
    case.approve_for_public(digest=photo["digest"], now=handle["at"], actor=OFFICE)
    case.withdraw_from_public(
        digest=photo["digest"], reason="画面可辨认举报人住所", now=handle["at"], actor=OFFICE
    )
    late = datetime(2026, 12, 28, 10, tzinfo=CST)
    case.reopen_for_second_pass(pass_no=2, now=late, rules=RULES, actor=SYSTEM_ACTOR)
    loaded = WorkingCalendar([YearCalendar(2027, frozenset({date(2027, 1, 1)}), frozenset())])
    case.recalculate(rules=DeadlineRules(DeadlinePolicy(), loaded), actor=SYSTEM_ACTOR)
    events = case.collect_events()

    other, returned = new_case(), new_case()
    other.merge_into(target=returned, reason="重复", actor=OFFICE)
    returned.record_origin(origin={"level": "city", "body": "市纪委"}, actor=OFFICE)
    returned.triage(track="general", category=None, note=None, actor=OFFICE)
    returned.dispatch(
        lead_unit="WC-JYJ",
        co_units=[],
        handle_working_days=None,
        now=late,
        rules=RULES,
        actor=OFFICE,
    )
    returned.return_case(unit="WC-JYJ", reason="不属于", now=late, rules=RULES, actor=LIAISON)
    returned.overrule_return(reason="属于", now=late, rules=RULES, actor=OFFICE)
    refused = new_case()
    refused.not_accept(reason="不属于受理范围", actor=OFFICE)
    return [*events, *other.collect_events(), *returned.collect_events(), *refused.collect_events()]


def directory_events() -> list[Any]:
    head = {"name": "张某", "position": "局长"}  # 单位负责人
    unit = Unit(
        code="WC-JYJ",
        name="教育局",
        kind="department",
        parent=None,
        liaisons=[],
        actor=OFFICE,
        responsible_person=head,
    )
    unit.update(
        name="区教育局", kind="department", parent=None, liaisons=[], active=False, actor=OFFICE
    )
    year = CalendarYear(year=2027, holidays=[date(2027, 1, 1)], workdays=[], actor=OFFICE)
    year.reload(holidays=[date(2027, 1, 1)], workdays=[date(2027, 2, 20)], actor=OFFICE)
    return [*unit.collect_events(), *year.collect_events()]


def test_each_translation_is_a_valid_contract_that_survives_the_wire() -> None:
    events = every_case_event() + directory_events()
    assert {type(e).__qualname__ for e in events} == set(TRANSLATIONS)
    every_dispatch_contract = {
        cls.type
        for cls in vars(dispatch_contracts).values()
        if hasattr(cls, "type") and cls is not CaseEvent
    }
    assert {to_contract(e).type for e in events} == every_dispatch_contract  # type: ignore[union-attr]
    for position, event in enumerate(events, start=1):
        contract = to_contract(event)
        assert contract is not None
        envelope = Envelope(
            source="dispatch",
            position=position,
            stream_id=event.originator_id,
            stream_version=event.originator_version,
            occurred_at=event.timestamp,
            actor=event.actor if hasattr(event, "actor") else None,
            event=contract,
        )
        assert decode(envelope.encode()).event == contract
        if isinstance(contract, CaseEvent):
            assert contract.status == getattr(event, "status", "registered")
            assert contract.case_id == event.originator_id
    registered, updated = (to_contract(e) for e in directory_events()[:2])
    assert registered.responsible_person == {"name": "张某", "position": "局长"}  # type: ignore[union-attr]
    assert updated.responsible_person is None  # type: ignore[union-attr]  # cleared by the change


def test_second_pass_and_recount_carry_the_pass_and_the_exact_deadline() -> None:
    contracts = [to_contract(e) for e in every_case_event()]
    reopened = next(c for c in contracts if c is not None and c.type == "CaseReopenedForSecondPass")
    recounted = next(c for c in contracts if c is not None and c.type == "DeadlinesRecalculated")
    assert (reopened.status, reopened.pass_no) == ("in_progress", 2)  # type: ignore[attr-defined]
    assert reopened.handle_deadline_provisional  # type: ignore[attr-defined]
    assert recounted.pass_no == 2  # type: ignore[attr-defined]
    assert not recounted.handle_deadline_provisional  # type: ignore[attr-defined]


def test_a_withdrawal_stored_before_reasons_were_asked_loads_and_crosses_with_none() -> None:
    """``Case.AttachmentWithdrawnFromPublic`` v1 (stored without a reason) is upcast to v2 on
    load, replays, and crosses as ``CaseAttachmentWithdrawnFromPublic`` v2 with no reason; a
    v1 message on the wire decodes the same way. A v2 event carries the office's words."""
    case = in_progress()
    photo = {"digest": "cd" * 32, "media_type": "video/mp4", "size": 10, "purpose": "result"}
    case.attach(**photo, now=MONDAY, actor=LIAISON)
    case.approve_for_public(digest=photo["digest"], now=MONDAY, actor=OFFICE)
    case.withdraw_from_public(digest=photo["digest"], reason="画面有人脸", now=MONDAY, actor=OFFICE)
    *before, withdrawn = case.collect_events()
    assert to_contract(withdrawn).reason == "画面有人脸"  # type: ignore[union-attr]

    mapper = Application().mapper
    stored = mapper.to_stored_event(withdrawn)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2 and state.pop("reason") == "画面有人脸"
    as_v1 = dataclasses.replace(stored, state=json.dumps(state).encode())
    loaded = mapper.to_domain_event(as_v1)
    replayed = None
    for event in [*before, loaded]:
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.attachments[0]["public"] is False
    assert replayed.attachments[0]["public_reason"] is None
    contract = to_contract(loaded)
    assert (contract.version, contract.reason) == (2, None)  # type: ignore[union-attr]

    wire = Envelope(
        source="dispatch",
        position=1,
        stream_id=withdrawn.originator_id,
        stream_version=withdrawn.originator_version,
        occurred_at=withdrawn.timestamp,
        actor=OFFICE,
        event=contract,  # type: ignore[arg-type]
    ).encode()
    message = json.loads(wire)
    message["version"] = 1
    del message["data"]["reason"]
    assert decode(json.dumps(message).encode()).event.reason is None  # type: ignore[attr-defined]
