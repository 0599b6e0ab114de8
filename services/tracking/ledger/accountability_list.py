"""问责清单 and each person's record (issue 18, ADR 19): every decision of accountability on
the ledger, filterable by year, unit, person, measure and liability, also as xlsx; and a
person's decisions across cases and years, with the award bar (当年不得评优评先).

Read from the ledger rows' ``accountability`` lists (fed by the procedure's findings and by
§6 records made before it); which measures bar awards is ``TAIZHANG_ACCOUNTABILITY``'s
``award_bar_measures`` (杭州办法五: any accountability of a 领导干部; 武昌办法第四十三条 would
list only the heavier ones).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from openpyxl import Workbook
from pydantic import Field

from services.tracking.ledger import audit, unit_procedures
from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.tables import ledger
from services.tracking.ledger.workbook import XLSX
from shared.contracts.vocabulary import (
    DECIDING_BODY_LABELS,
    LIABILITY_LABELS,
    MEASURE_LABELS,
    TARGET_LABELS,
    TRIGGER_LABELS,
    AccountabilityTarget,
    AccountabilityTrigger,
    DecidingBody,
    Liability,
    Measure,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.schemas import Strict, Text64, Text100

L = ledger.c
HEADERS = ["案件编号", "姓名", "单位", "职务", "对象", "责任", "问责方式", "决定机关", "决定日期"]
router = APIRouter(prefix="/api/v1", tags=["accountability"])
Reader = Annotated[Principal, Depends(require(Action.READ_ACCOUNTABILITY))]


class ListQuery(Strict):
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    unit: Text64 | None = None
    person: Text100 | None = None
    measure: Measure | None = None
    liability: Liability | None = None
    trigger: AccountabilityTrigger | None = None


class PersonQuery(Strict):
    name: Text100


def year_of(record: dict[str, Any]) -> int:
    return int(str(record.get("decided_on") or record["at"])[:4])


def bars_awards(record: dict[str, Any], measures: set[str]) -> bool:
    """当年不得评优评先: held accountable by a measure of the table, not exempted."""
    return not record.get("exempted") and bool(measures & set(record.get("measures") or []))


def item(
    record: dict[str, Any],
    case_id: Any,
    number: str | None,
    unit: str | None,
    measures: set[str],
    triggers: list[str],
    source: dict[str, Any],
) -> dict[str, Any]:
    """One decision as the list shows it: a case's (``case_id``, ``number``) or a unit's
    procedure's (both None; ``source`` says which assessment opened it)."""
    target = record["target_kind"]
    liability = record.get("liability")
    decided_by = record.get("decided_by")
    return {
        "case_id": case_id,
        "number": number,
        "name": record["name"],
        "unit": record.get("unit") or unit,
        "position": record.get("position"),
        "target_kind": target,
        "target_label": TARGET_LABELS[AccountabilityTarget(target)],
        "liability": liability,
        "liability_label": LIABILITY_LABELS[Liability(liability)] if liability else None,
        "measures": record.get("measures") or [],
        "measure_labels": [MEASURE_LABELS[Measure(m)] for m in record["measures"]],
        "circumstances": record.get("circumstances"),
        "exempted": bool(record.get("exempted")),
        "decided_by": decided_by,
        "decided_by_label": DECIDING_BODY_LABELS[DecidingBody(decided_by)]
        if decided_by
        else "未注明",
        "decided_on": record.get("decided_on"),
        "year": year_of(record),
        "award_bar": bars_awards(record, measures),
        "triggers": triggers,
        "source": source,
    }


async def decisions(session: Any, measures: set[str]) -> list[dict[str, Any]]:
    found = await session.execute(
        sa.select(L.case_id, L.number, L.lead_unit, L.accountability, L.accountability_procedure)
        .where(sa.cast(L.accountability, sa.Text) != "[]")
        .order_by(L.number)
    )
    items = []
    for row in found:
        triggers = (row.accountability_procedure or {}).get("triggers") or []
        source = {"kind": "case", "label": f"案件 {row.number}"}
        for record in row.accountability or []:
            items.append(
                item(record, row.case_id, row.number, row.lead_unit, measures, triggers, source)
            )
    for p in await unit_procedures.listed(session):
        source, triggers = unit_source(p), [p["trigger"]]
        for record in p["decisions"]:
            items.append(item(record, None, None, p["unit"], measures, triggers, source))
    return items


def unit_source(procedure: dict[str, Any]) -> dict[str, Any]:
    """Where a unit's procedure came from: its assessment (004), not a case."""
    year, group = procedure["year"], procedure["assessment_group"]
    return {
        "kind": "assessment",
        "unit": procedure["unit"],
        "year": year,
        "label": f"{year}年度考核:连续两年列{group}小组末位",
    }


def matches(item: dict[str, Any], q: ListQuery) -> bool:
    return (
        (q.year is None or item["year"] == q.year)
        and (q.unit is None or item["unit"] == q.unit)
        and (q.person is None or q.person in item["name"])
        and (q.measure is None or q.measure.value in item["measures"])
        and (q.liability is None or item["liability"] == q.liability.value)
        and (q.trigger is None or q.trigger.value in item["triggers"])
    )


async def listed(session: Any, reader: Any, q: ListQuery) -> list[dict[str, Any]]:
    measures = set((await reader.accountability()).award_bar_measures)
    return [i for i in await decisions(session, measures) if matches(i, q)]


@router.get("/accountability", summary="问责清单: every decision of accountability")
async def accountability_list(
    q: Annotated[ListQuery, Query()], reader: LedgerDep, session: ReadSession, who: Reader
) -> dict[str, Any]:
    items = await listed(session, reader, q)
    filters = audit.asked_of(reader, q.model_dump(exclude_none=True)) | {"list": "accountability"}
    await audit.record(reader, who, audit.ACCOUNTABILITY_LISTED, asked=filters)
    return {"items": items, "total": len(items)}


@router.get("/accountability.xlsx", summary="问责清单 as an Excel workbook")
async def accountability_workbook(
    q: Annotated[ListQuery, Query()], reader: LedgerDep, session: ReadSession, who: Reader
) -> Response:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "问责清单"
    sheet.append(
        [
            "案件编号/来源",
            "姓名",
            "单位",
            "职务",
            "对象",
            "责任",
            "问责方式",
            "决定机关",
            "决定日期",
            "当年不得评优评先",
        ]
    )
    for i in await listed(session, reader, q):
        sheet.append(
            [
                i["number"] or i["source"]["label"],
                i["name"],
                i["unit"],
                i["position"],
                i["target_label"],
                i["liability_label"],
                "、".join(i["measure_labels"]) or ("容错免责" if i["exempted"] else ""),
                i["decided_by_label"],
                i["decided_on"],
                "是" if i["award_bar"] else "否",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    filters = audit.asked_of(reader, q.model_dump(exclude_none=True)) | {"list": "accountability"}
    await audit.record(reader, who, audit.REPORT_EXPORTED, asked=filters)
    disposition = "attachment; filename*=UTF-8''accountability.xlsx"
    return Response(out.getvalue(), media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/accountability/persons", summary="A person's record: every decision about them")
async def person_record(
    q: Annotated[PersonQuery, Query()], reader: LedgerDep, session: ReadSession, who: Reader
) -> dict[str, Any]:
    """Names are not unique: one entry per (name, unit, position), each with its decisions
    across cases and years and the years it may not be given awards; ``unit_award_bar``: the
    years the unit's conduct office may not be rated advanced (杭州办法五)."""
    await audit.record(
        reader, who, audit.PERSON_SEARCHED, asked=audit.asked_of(reader, {"name": q.name})
    )
    everything = await listed(session, reader, ListQuery())
    persons: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in everything:
        if item["name"] != q.name:
            continue
        key = (item["name"], item["unit"], item["position"])
        person = persons.setdefault(
            key,
            {"name": key[0], "unit": key[1], "position": key[2], "decisions": []},
        )
        person["decisions"].append(item)
    unit_bars: dict[str, set[int]] = {}
    for item in everything:
        if item["award_bar"] and item["unit"]:
            unit_bars.setdefault(item["unit"], set()).add(item["year"])
    for person in persons.values():
        years = sorted({d["year"] for d in person["decisions"] if d["award_bar"]})
        person["award_bar_years"] = years
        person["award_bar_label"] = [f"{y}年度不得评优评先" for y in years]
        person["unit_award_bar_years"] = sorted(unit_bars.get(person["unit"], set()))
    return {"items": list(persons.values()), "total": len(persons)}


# 问责畸轻: how heavy each measure is, lightest first (组织处理 above 通报批评; 调整处理 is a
# leadership team's 调整职务).
SEVERITY = {
    m.value: rank
    for rank, group in enumerate(
        [
            [Measure.CRITICISM_EDUCATION],
            [Measure.ADMONISHMENT_TALK],
            [Measure.WRITTEN_SELF_CRITICISM],
            [Measure.CIRCULATED_CRITICISM],
            [Measure.REASSIGNMENT, Measure.LEADERSHIP_ADJUSTMENT],
            [Measure.ORDERED_RESIGNATION, Measure.DEMOTION],
            [Measure.DISMISSAL],
            [Measure.DISCIPLINARY_SANCTION],
            [Measure.JUDICIAL_TRANSFER],
        ]
    )
    for m in group
}


def too_light(record: dict[str, Any], triggers: list[str], floors: dict[str, str]) -> str | None:
    """The floor a decision stays below, if any (exempted decisions are not judged)."""
    if record.get("exempted"):
        return None
    heaviest = max((SEVERITY[m] for m in record.get("measures") or []), default=-1)
    for trigger in triggers:
        floor = floors.get(trigger)
        if floor is not None and heaviest < SEVERITY[floor]:
            return floor
    return None


# 一案双查 (洪山意见): a second pass's accountability covers the direct person and the
# leadership (main or important leadership liability, or the team's collective one).
DOUBLE_CHECK = frozenset(
    {AccountabilityTrigger.SECOND_PASS, AccountabilityTrigger.DISSATISFIED_TWICE}
)


def check_items(
    row: Any, now: datetime, floors: dict[str, str], decision_due: Callable[[str], str]
) -> list[dict[str, Any]]:
    """``decision_due(opened_at)``: when a procedure that owes no report back should have
    been decided (the office's ``decision_working_days`` on the working-day calendar)."""
    p = row.accountability_procedure or {}
    due = p.get("report_back_due")
    late = due is not None and datetime.fromisoformat(due) < now
    base = {"case_id": row.case_id, "number": row.number, "unit": row.lead_unit}
    found = []
    undecided_by = due or (decision_due(p["opened_at"]) if p.get("opened_at") else None)
    if p.get("stage") == "open" and undecided_by and datetime.fromisoformat(undecided_by) < now:
        found.append({**base, "check": "unasked", "label": "该问不问", "due": undecided_by})
    if p.get("decided_at") and p.get("report_back_required") and not p.get("reported_on"):
        found.append({**base, "check": "unreported", "label": "问而不报", "due": due, "late": late})
    if p.get("decided_at") and DOUBLE_CHECK & set(p.get("triggers") or []):
        records = row.accountability or []
        direct = any(r.get("liability") == "direct" for r in records)
        leaders = any(r.get("liability") not in (None, "direct") for r in records)
        if records and not (direct and leaders):
            found.append({**base, "check": "half_checked", "label": "一案双查不全"})
    for record in row.accountability or []:
        floor = too_light(record, p.get("triggers") or [], floors)
        if floor is not None:
            found.append(
                {
                    **base,
                    "check": "too_light",
                    "label": "问责畸轻",
                    "name": record["name"],
                    "floor": floor,
                    "floor_label": MEASURE_LABELS[Measure(floor)],
                }
            )
    return found


@router.get("/accountability/checks", summary="该问不问, 问而不报, 问责畸轻")
async def accountability_checks(
    reader: LedgerDep, session: ReadSession, who: Reader
) -> dict[str, Any]:
    """该问不问: a procedure past its report-back deadline (or, owing none, past the office's
    ``decision_working_days`` from its opening) with no decision; 问而不报: decided
    but not reported back; 问责畸轻: a decision below the floor the office set for one of
    its procedure's triggers (the office's tables, empty by default); 一案双查不全: a second
    pass decided without both the direct person and the leadership."""
    now = reader.clock.now()
    rules = await reader.accountability()
    calendar = (await reader.context(session, now)).calendar

    def decision_due(opened_at: str) -> str:
        start = datetime.fromisoformat(opened_at)
        return calendar.add_working_days(start, rules.decision_working_days).at.isoformat()

    found = await session.execute(
        sa.select(L.case_id, L.number, L.lead_unit, L.accountability, L.accountability_procedure)
        .where(L.accountability_procedure.is_not(None))
        .order_by(L.number)
    )
    items = [item for row in found for item in check_items(row, now, rules.floors, decision_due)]
    for p in await unit_procedures.listed(session):
        items += unit_check_items(p, now, rules.floors, decision_due)
    await audit.record(reader, who, audit.ACCOUNTABILITY_LISTED, asked={"list": "checks"})
    return {"items": items, "total": len(items)}


def unit_check_items(
    p: dict[str, Any], now: datetime, floors: dict[str, str], decision_due: Callable[[str], str]
) -> list[dict[str, Any]]:
    """该问不问 and 问责畸轻 for a unit's procedure (it owes no report back)."""
    base = {"case_id": None, "number": None, "unit": p["unit"], "source": unit_source(p)}
    found = []
    due = decision_due(p["opened_at"].isoformat())
    if p["stage"] == "open" and datetime.fromisoformat(due) < now:
        found.append({**base, "check": "unasked", "label": "该问不问", "due": due})
    for record in p["decisions"]:
        floor = too_light(record, [p["trigger"]], floors)
        if floor is not None:
            found.append(
                {
                    **base,
                    "check": "too_light",
                    "label": "问责畸轻",
                    "name": record["name"],
                    "floor": floor,
                    "floor_label": MEASURE_LABELS[Measure(floor)],
                }
            )
    return found


UNIT_STAGE_LABELS = {"open": "待决定", "decided": "已决定", "closed": "已办结"}


@router.get("/accountability/units", summary="问责程序 opened by units' assessments (004)")
async def unit_procedure_list(
    reader: LedgerDep, session: ReadSession, who: Reader
) -> dict[str, Any]:
    """Each procedure a unit's annual assessment opened for its main leader (连续两年考核列
    小组末位, 004) — not a case's: its source, stage and decisions so far. Its steps are taken
    at ``/api/v1/accountability/units/{unit}/{year}``."""
    items = [
        {
            "unit": p["unit"],
            "year": p["year"],
            "group": p["assessment_group"],
            "trigger": p["trigger"],
            "trigger_label": TRIGGER_LABELS[AccountabilityTrigger(p["trigger"])],
            "reason": p["reason"],
            "source": unit_source(p),
            "stage": p["stage"],
            "stage_label": UNIT_STAGE_LABELS.get(p["stage"], p["stage"]),
            "opened_at": p["opened_at"],
            "decided_at": p["decided_at"],
            "decisions": len(p["decisions"]),
            "no_accountability": p["no_accountability"],
        }
        for p in await unit_procedures.listed(session)
    ]
    return {"items": items, "total": len(items)}
