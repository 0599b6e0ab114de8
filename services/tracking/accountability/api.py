"""The accountability procedure (问责程序) of a case: read it, open it, record a decision per
target (the §6 ``POST …/accountability`` route, whose old body still answers ``201``),
correct one, find no one accountable, report back (回告).

Refusals: ``404`` unknown case or no procedure, ``409`` when the procedure's stage does not
allow it, ``422`` naming the rule a decision breaks. A refusal changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from services.tracking.accountability import errors
from services.tracking.accountability.application import Done, UnitDone
from services.tracking.accountability.deps import Procedures, Reads
from services.tracking.accountability.presentation import procedure_view, unit_procedure_view
from services.tracking.accountability.schemas import (
    CorrectionIn,
    FindingIn,
    NoAccountabilityIn,
    OpenIn,
    ProcedureAnswer,
    ReportBackIn,
    TypicalCaseIn,
    UnitProcedureAnswer,
)
from shared.contracts.vocabulary import AccountabilityTrigger, Measure
from shared.platform.settings import AccountabilityRules
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import not_found
from shared.web.refusals import Refusal, Refusals, documented
from shared.web.schemas import Strict

REFUSALS: Refusals = {
    errors.CaseNotFound: Refusal(
        404, "no_such_case", "没有该案件", detail=not_found("case").detail
    ),
    errors.ProcedureNotFound: Refusal(404, "no_accountability_procedure", "该案件没有问责程序"),
    errors.ProcedureError: Refusal(409, "accountability_conflict", "问责程序当前不允许"),
    errors.InvalidFinding: Refusal(422, "invalid_accountability", "问责决定不符合规定"),
    errors.NotDecided: Refusal(409, "accountability_undecided", "问责程序尚未作出决定"),
    errors.NoReportBackOwed: Refusal(409, "no_report_back_owed", "无需回告"),
    errors.AlreadyReportedBack: Refusal(409, "already_reported_back", "已回告"),
    errors.DecisionConflict: Refusal(409, "decision_conflict", "问责决定相互矛盾"),
    errors.NoSuchFinding: Refusal(404, "no_such_finding", "没有该项问责决定"),
    errors.UnitProcedureNotFound: Refusal(
        404, "no_unit_accountability_procedure", "该单位该年度考核未启动问责程序"
    ),
}
RESPONSES = documented(REFUSALS)

router = APIRouter(
    prefix="/api/v1/cases/{case_id}/accountability", tags=["accountability"], responses=RESPONSES
)

Recorder = Annotated[Principal, Depends(require(Action.RECORD_ACCOUNTABILITY))]
Decider = Annotated[Principal, Depends(require(Action.DECIDE_ACCOUNTABILITY))]
Reader = Annotated[Principal, Depends(require(Action.READ_ACCOUNTABILITY))]


def answered(procedures: Procedures, done: Done) -> ProcedureAnswer:
    state = procedures.case_state(done.case_id)
    status, pass_no = state if state is not None else (None, None)
    return ProcedureAnswer(
        case_id=done.case_id,
        stage=done.stage,
        round=done.round,
        position=done.position,
        n=done.n,
        status=status,
        pass_no=pass_no,
    )


def _record(body: FindingIn) -> dict[str, Any]:
    record = body.model_dump(mode="json", exclude={"reason"})
    record["decided_on"] = body.decided_on  # a date, as the domain keeps it
    return record


# The procedure names the officials held accountable: each look is in the audit (ADR 26).
# A case without one shows nothing (the case page asks on every view): no row then.
VIEWED = "AccountabilityProcedureViewed"


@router.get("", summary="The case's accountability procedure (问责程序; the read is audited)")
async def read_procedure(
    case_id: UUID, procedures: Procedures, reads: Reads, who: Reader
) -> dict[str, Any]:
    procedure = await asyncio.to_thread(procedures.get_procedure, case_id)
    await reads.record_read(who, VIEWED, case_id=case_id)
    return procedure_view(case_id, procedure)


@router.post(
    "",
    status_code=201,
    response_model=ProcedureAnswer,
    summary="Record a decision of accountability (问责) on one person or leadership team",
)
def record_finding(
    case_id: UUID, body: FindingIn, procedures: Procedures, who: Recorder
) -> ProcedureAnswer:
    done = procedures.record_finding(case_id, _record(body), legacy=body.legacy, actor=who.actor())
    return answered(procedures, done)


@router.post("/open", status_code=201, response_model=ProcedureAnswer, summary="Open one")
def open_procedure(
    case_id: UUID, body: OpenIn, procedures: Procedures, who: Decider
) -> ProcedureAnswer:
    return answered(procedures, procedures.open_procedure(case_id, body.reason, who.actor()))


@router.post(
    "/findings/{n}/correction",
    status_code=201,
    response_model=ProcedureAnswer,
    summary="Correct decision n by a later one (never edited)",
)
def correct_finding(
    case_id: UUID, n: int, body: CorrectionIn, procedures: Procedures, who: Decider
) -> ProcedureAnswer:
    done = procedures.correct_finding(case_id, n, _record(body), body.reason, who.actor())
    return answered(procedures, done)


@router.post(
    "/no-accountability",
    status_code=201,
    response_model=ProcedureAnswer,
    summary="Find, with reasons, that no one is accountable",
)
def no_accountability(
    case_id: UUID, body: NoAccountabilityIn, procedures: Procedures, who: Decider
) -> ProcedureAnswer:
    done = procedures.find_no_one_accountable(
        case_id,
        reason=body.reason,
        decided_by=body.decided_by.value,
        decided_on=body.decided_on,
        actor=who.actor(),
    )
    return answered(procedures, done)


@router.post(
    "/report-back",
    status_code=201,
    response_model=ProcedureAnswer,
    summary="Record the report back (回告) to the higher level",
)
def report_back(
    case_id: UUID, body: ReportBackIn, procedures: Procedures, who: Decider
) -> ProcedureAnswer:
    done = procedures.report_back(
        case_id,
        reported_to=body.reported_to,
        content=body.content,
        reported_on=body.reported_on,
        actor=who.actor(),
    )
    return answered(procedures, done)


@router.post(
    "/typical-case",
    status_code=201,
    response_model=ProcedureAnswer,
    summary="Publish as a typical case (典型案例) or benchmark case (标杆案例), redacted",
)
def publish_typical(
    case_id: UUID, body: TypicalCaseIn, procedures: Procedures, who: Decider
) -> ProcedureAnswer:
    done = procedures.publish_typical(
        case_id,
        kind=body.kind,
        title=body.title,
        text=body.text,
        keep_names=body.keep_names,
        actor=who.actor(),
    )
    return answered(procedures, done)


# --- a unit's procedure, opened by its assessment (004), not by a case --------------------

units_router = APIRouter(
    prefix="/api/v1/accountability/units/{unit}/{year}",
    tags=["accountability"],
    responses=RESPONSES,
)
Year = Annotated[int, Path(ge=2000, le=2100)]
Unit = Annotated[str, Path(min_length=1, max_length=64)]


def unit_answered(done: UnitDone) -> UnitProcedureAnswer:
    return UnitProcedureAnswer(
        unit=done.unit,
        year=done.year,
        stage=done.stage,
        round=done.round,
        position=done.position,
        n=done.n,
    )


@units_router.get("", summary="The procedure a unit's assessment opened (连续两年考核列小组末位)")
async def read_unit_procedure(
    unit: Unit, year: Year, procedures: Procedures, reads: Reads, who: Reader
) -> dict[str, Any]:
    procedure = await asyncio.to_thread(procedures.get_unit_procedure, unit, year)
    await reads.record_read(who, VIEWED, asked={"unit": unit, "year": year})
    return unit_procedure_view(procedure)


@units_router.post(
    "",
    status_code=201,
    response_model=UnitProcedureAnswer,
    summary="Record a decision on the unit's main leader or its leadership team",
)
def record_unit_finding(
    unit: Unit, year: Year, body: FindingIn, procedures: Procedures, who: Decider
) -> UnitProcedureAnswer:
    """The documents' full form (``liability`` and ``decided_by`` required: no §6 defaults
    for a procedure that never had a §6 form); the person's unit is the procedure's."""
    return unit_answered(procedures.record_unit_finding(unit, year, _record(body), who.actor()))


@units_router.post(
    "/findings/{n}/correction",
    status_code=201,
    response_model=UnitProcedureAnswer,
    summary="Correct decision n by a later one (never edited)",
)
def correct_unit_finding(
    unit: Unit, year: Year, n: int, body: CorrectionIn, procedures: Procedures, who: Decider
) -> UnitProcedureAnswer:
    done = procedures.correct_unit_finding(unit, year, n, _record(body), body.reason, who.actor())
    return unit_answered(done)


@units_router.post(
    "/no-accountability",
    status_code=201,
    response_model=UnitProcedureAnswer,
    summary="Find, with reasons, that no one is accountable",
)
def unit_no_accountability(
    unit: Unit, year: Year, body: NoAccountabilityIn, procedures: Procedures, who: Decider
) -> UnitProcedureAnswer:
    done = procedures.find_no_one_accountable_in_unit(
        unit,
        year,
        reason=body.reason,
        decided_by=body.decided_by.value,
        decided_on=body.decided_on,
        actor=who.actor(),
    )
    return unit_answered(done)


# --- the office's tables: award bar and 畸轻 floors ---------------------------------------

tables_router = APIRouter(prefix="/api/v1/accountability", tags=["accountability"])


class TablesIn(Strict):
    """``award_bar_measures``: measures that bar that year's awards; ``floors``: per trigger,
    the lightest measure a decision may stop at (问责畸轻 below it)."""

    award_bar_measures: list[Measure]
    floors: dict[AccountabilityTrigger, Measure]


def _tables(rules: AccountabilityRules) -> dict[str, Any]:
    return {"award_bar_measures": rules.award_bar_measures, "floors": rules.floors}


@tables_router.get("/tables", summary="Which measures bar awards; the 畸轻 floors")
def read_tables(procedures: Procedures, who: Reader) -> dict[str, Any]:
    return _tables(procedures.tables())


@tables_router.put("/tables", summary="The office sets the award bar and the floors")
def set_tables(body: TablesIn, procedures: Procedures, who: Decider) -> dict[str, Any]:
    rules = procedures.set_tables(
        [m.value for m in body.award_bar_measures],
        {t.value: m.value for t, m in body.floors.items()},
        who.actor(),
    )
    return _tables(rules)
