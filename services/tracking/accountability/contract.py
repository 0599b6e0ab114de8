"""The procedure's domain events → integration events (``shared.contracts.tracking``).
Every event of a procedure — a case's or a unit's — is published (read models see its
versions without gaps); the supervision tally stays inside tracking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contracts import Contract
from shared.contracts import tracking as c

FINDING_FIELDS = (
    "target_kind",
    "name",
    "unit",
    "position",
    "liability",
    "measures",
    "circumstances",
    "grounds",
    "exempted",
    "exemption",
    "decided_by",
    "decided_on",
    "note",
    "correction_reason",
)


def _same(e: Any) -> dict[str, Any]:
    return {"case_id": e.case_id, "stage": e.stage, "round": e.round}


def _opened(e: Any) -> Contract:
    return c.AccountabilityProcedureOpened(
        case_id=e.case_id,
        stage="open",
        round=1,
        trigger=e.trigger,
        reason=e.reason,
        origin=e.origin,
        report_back_required=e.report_back_required,
        report_back_due=e.report_back_due,
    )


def _trigger_added(e: Any) -> Contract:
    return c.AccountabilityTriggerAdded(
        **_same(e),
        trigger=e.trigger,
        reason=e.reason,
        reopened=e.reopened,
        origin=e.origin,
        report_back_required=e.report_back_required,
        report_back_due=e.report_back_due,
    )


def _finding(e: Any) -> Contract:
    record = {k: e.record.get(k) for k in FINDING_FIELDS}
    return c.AccountabilityFindingRecorded(
        **_same(e), n=e.n, corrects=e.corrects, legacy=e.legacy, **record
    )


def _no_one(e: Any) -> Contract:
    return c.NoAccountabilityFound(
        **_same(e), reason=e.reason, decided_by=e.decided_by, decided_on=e.decided_on
    )


def _decided(e: Any) -> Contract:
    return c.AccountabilityDecided(
        **_same(e), findings=e.findings, no_accountability=e.no_accountability
    )


def _reported(e: Any) -> Contract:
    return c.AccountabilityReportedBack(
        **_same(e),
        reported_to=e.reported_to,
        content=e.content,
        reported_on=e.reported_on,
        on_time=e.on_time,
    )


def _closed(e: Any) -> Contract:
    return c.AccountabilityProcedureClosed(**_same(e))


def _typical(e: Any) -> Contract:
    return c.TypicalCasePublished(
        **_same(e),
        kind=e.kind,
        title=e.title,
        text=e.text,
        keep_names=e.keep_names,
        persons=e.persons,
    )


def _report_back_approaching(e: Any) -> Contract:
    return c.ReportBackApproaching(**_same(e), due=e.due)


def _report_back_missed(e: Any) -> Contract:
    return c.ReportBackMissed(**_same(e), due=e.due)


def _unit_same(e: Any) -> dict[str, Any]:
    return {"unit": e.unit, "year": e.year, "stage": e.stage, "round": e.round}


def _unit_opened(e: Any) -> Contract:
    return c.UnitAccountabilityProcedureOpened(
        unit=e.unit, year=e.year, stage="open", group=e.group, trigger=e.trigger, reason=e.reason
    )


def _unit_finding(e: Any) -> Contract:
    record = {k: e.record.get(k) for k in FINDING_FIELDS if k != "unit"}
    return c.UnitAccountabilityFindingRecorded(
        **_unit_same(e), n=e.n, corrects=e.corrects, **record
    )


def _unit_no_one(e: Any) -> Contract:
    return c.UnitNoAccountabilityFound(
        **_unit_same(e), reason=e.reason, decided_by=e.decided_by, decided_on=e.decided_on
    )


def _unit_decided(e: Any) -> Contract:
    return c.UnitAccountabilityDecided(
        **_unit_same(e), findings=e.findings, no_accountability=e.no_accountability
    )


# domain event class (by qualified name) → its integration event
TRANSLATIONS: dict[str, Callable[[Any], Contract]] = {
    "AccountabilityProcedure.Opened": _opened,
    "AccountabilityProcedure.TriggerAdded": _trigger_added,
    "AccountabilityProcedure.FindingRecorded": _finding,
    "AccountabilityProcedure.NoAccountabilityFound": _no_one,
    "AccountabilityProcedure.Decided": _decided,
    "AccountabilityProcedure.ReportedBack": _reported,
    "AccountabilityProcedure.Closed": _closed,
    "AccountabilityProcedure.TypicalCasePublished": _typical,
    "AccountabilityProcedure.ReportBackApproaching": _report_back_approaching,
    "AccountabilityProcedure.ReportBackMissed": _report_back_missed,
    "UnitAccountabilityProcedure.Opened": _unit_opened,
    "UnitAccountabilityProcedure.FindingRecorded": _unit_finding,
    "UnitAccountabilityProcedure.NoAccountabilityFound": _unit_no_one,
    "UnitAccountabilityProcedure.Decided": _unit_decided,
    "UnitAccountabilityProcedure.Closed": lambda e: c.UnitAccountabilityProcedureClosed(
        **_unit_same(e)
    ),
}


def to_contract(event: Any) -> Contract | None:
    translate = TRANSLATIONS.get(type(event).__qualname__)
    return translate(event) if translate else None
