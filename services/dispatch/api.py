"""Dispatch's HTTP API for cases (SPEC §6): the office's triage desk and decisions, and the
units' actions. Every endpoint takes the same path: role (``require``), then the case's row
scope, then the command (``DispatchService.act``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.dispatch import errors
from services.dispatch.attachments_api import router as attachments_router
from services.dispatch.deps import DispatchDep
from services.dispatch.directory_api import router as directory_router
from services.dispatch.schedule import desk
from services.dispatch.schemas import (
    CaseView,
    DecisionIn,
    DispatchByRuleIn,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    NumberedCaseView,
    ProgressIn,
    ReasonIn,
    ResultIn,
    ReviewIn,
    TriageIn,
)
from shared.web.attachments import ATTACHMENT_REFUSALS
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import not_found
from shared.web.refusals import Refusal, Refusals, documented

# How every dispatch refusal is answered, cases and directory alike.
REFUSALS: Refusals = {
    errors.WrongState: Refusal(409, "wrong_state", "案件当前状态不允许此操作"),
    errors.Refused: Refusal(409, "refused", "规则不允许(逾期、待决或重复)"),
    errors.NotCleaned: Refusal(
        409, "attachment_not_cleaned", "该文件保存于清除元数据之前,须重新上传"
    ),
    errors.AlreadyExists: Refusal(409, "already_exists", "单位代码已存在"),
    errors.Invalid: Refusal(422, "invalid", "字段取值不符合规则"),
    errors.NotLeadUnit: Refusal(403, "not_lead_unit", "须由牵头单位办理"),
    errors.NoSuchItem: Refusal(404, "no_such_item", "没有该延期申请或办理结果"),
    errors.NoSuchCase: Refusal(404, "no_such_case", "没有该案件", detail=not_found("case").detail),
    errors.NoSuchUnit: Refusal(404, "no_such_unit", "没有该单位", detail=not_found("unit").detail),
    errors.NoSuchYear: Refusal(404, "no_such_year", "尚无该年的官方日历"),
    errors.Busy: Refusal(503, "busy", "案件正被同时修改,请重试"),
    **ATTACHMENT_REFUSALS,
}

router = APIRouter(prefix="/api/v1", tags=["dispatch"], responses=documented(REFUSALS))
router.include_router(directory_router)
router.include_router(attachments_router)


Triager = Annotated[Principal, Depends(require(Action.TRIAGE))]
Reader = Annotated[Principal, Depends(require(Action.READ_CASE))]
Merger = Annotated[Principal, Depends(require(Action.MERGE))]
Refuser = Annotated[Principal, Depends(require(Action.MARK_NOT_ACCEPTED))]
Dispatcher = Annotated[Principal, Depends(require(Action.DISPATCH))]
Overruler = Annotated[Principal, Depends(require(Action.OVERRULE_RETURN))]
ExtensionDecider = Annotated[Principal, Depends(require(Action.DECIDE_EXTENSION))]
Reviewer = Annotated[Principal, Depends(require(Action.REVIEW_RESULT))]
Signer = Annotated[Principal, Depends(require(Action.SIGN))]
Returner = Annotated[Principal, Depends(require(Action.RETURN_CASE))]
ExtensionRequester = Annotated[Principal, Depends(require(Action.REQUEST_EXTENSION))]
Reporter = Annotated[Principal, Depends(require(Action.REPORT_PROGRESS))]
Submitter = Annotated[Principal, Depends(require(Action.SUBMIT_RESULT))]


@router.get(
    "/triage-desk",
    summary="Cases waiting for the office (registered or returned): named first, then oldest",
)
async def triage_desk(dispatch: DispatchDep, who: Triager) -> dict[str, Any]:
    async with dispatch.reads() as session:
        rows = await desk(session)
    items = await asyncio.to_thread(dispatch.desk_items, rows)
    return {"items": items, "total": len(items)}


@router.get(
    "/cases/{case_id}/dispatch",
    response_model=CaseView,
    summary="A case in dispatch's terms: units, deadlines, extensions, results",
)
def read_case(case_id: UUID, dispatch: DispatchDep, who: Reader) -> CaseView:
    return dispatch.view(case_id, who)


# --- the office --------------------------------------------------------------------------


@router.post("/cases/{case_id}/triage", response_model=CaseView)
def triage(case_id: UUID, body: TriageIn, dispatch: DispatchDep, who: Triager) -> CaseView:
    """分类处置: choose the track and the category."""
    return dispatch.act(
        case_id,
        who,
        Action.TRIAGE,
        lambda app: app.triage(
            case_id,
            body.track.value,
            body.category,
            body.note,
            who.actor(),
            body.origin.model_dump(exclude_none=True) if body.origin else None,
        ),
    )


@router.post("/cases/{case_id}/merge", response_model=CaseView)
def merge(case_id: UUID, body: MergeIn, dispatch: DispatchDep, who: Merger) -> CaseView:
    """Fold a duplicate into another case (by id or number); both records are kept."""
    return dispatch.act(
        case_id,
        who,
        Action.MERGE,
        lambda app: app.merge(case_id, body.into, body.reason, who.actor()),
    )


@router.post("/cases/{case_id}/not-accepted", response_model=CaseView)
def not_accepted(case_id: UUID, body: ReasonIn, dispatch: DispatchDep, who: Refuser) -> CaseView:
    """不予受理, with the reason."""
    return dispatch.act(
        case_id,
        who,
        Action.MARK_NOT_ACCEPTED,
        lambda app: app.not_accept(case_id, body.reason, who.actor()),
    )


@router.post("/cases/{case_id}/dispatch", response_model=CaseView)
def dispatch_case(
    case_id: UUID, body: DispatchIn, dispatch: DispatchDep, who: Dispatcher
) -> CaseView:
    """交办 by hand, or again (re-dispatch) at any time before a result is accepted."""
    return dispatch.act(
        case_id,
        who,
        Action.DISPATCH,
        lambda app: app.dispatch(
            case_id, body.lead_unit, body.co_units, body.handle_working_days, who.actor()
        ),
    )


@router.post("/cases/{case_id}/dispatch-by-rule", response_model=CaseView)
def dispatch_by_rule(
    case_id: UUID, body: DispatchByRuleIn, dispatch: DispatchDep, who: Dispatcher
) -> CaseView:
    """一键交办: triage and dispatch as the rule the triage desk suggests (`suggestion`)."""
    return dispatch.act(
        case_id,
        who,
        Action.DISPATCH,
        lambda app: app.dispatch_by_rule(case_id, body.rule_id, who.actor()),
    )


@router.post("/cases/{case_id}/overrule-return", response_model=CaseView)
def overrule_return(
    case_id: UUID, body: ReasonIn, dispatch: DispatchDep, who: Overruler
) -> CaseView:
    """Refuse a unit's return: the case goes back to it with a new sign-for deadline."""
    return dispatch.act(
        case_id,
        who,
        Action.OVERRULE_RETURN,
        lambda app: app.overrule_return(case_id, body.reason, who.actor()),
    )


@router.post("/cases/{case_id}/extensions/{n}/decision", response_model=CaseView)
def decide_extension(
    case_id: UUID,
    n: int,
    body: DecisionIn,
    dispatch: DispatchDep,
    who: ExtensionDecider,
) -> CaseView:
    """Grant (the handling deadline moves by working days) or refuse, with a reason."""
    return dispatch.act(
        case_id,
        who,
        Action.DECIDE_EXTENSION,
        lambda app: app.decide_extension(case_id, n, body.granted, body.reason, who.actor()),
    )


@router.post("/cases/{case_id}/results/{n}/review", response_model=CaseView)
def review_result(
    case_id: UUID, n: int, body: ReviewIn, dispatch: DispatchDep, who: Reviewer
) -> CaseView:
    """Accept a result (→ awaiting_feedback) or reject it with a reason (→ in_progress)."""
    return dispatch.act(
        case_id,
        who,
        Action.REVIEW_RESULT,
        lambda app: app.review_result(case_id, n, body.accepted, body.reason, who.actor()),
    )


# --- the lead unit (co-units may report progress) ----------------------------------------


@router.post("/cases/{case_id}/sign", response_model=CaseView)
def sign(case_id: UUID, dispatch: DispatchDep, who: Signer) -> CaseView:
    """签收."""
    return dispatch.act(
        case_id, who, Action.SIGN, lambda app: app.sign(case_id, who.unit, who.actor())
    )


@router.post("/cases/{case_id}/return", response_model=CaseView)
def return_case(case_id: UUID, body: ReasonIn, dispatch: DispatchDep, who: Returner) -> CaseView:
    """退回 to the office: not this unit's responsibility (within the return window)."""
    return dispatch.act(
        case_id,
        who,
        Action.RETURN_CASE,
        lambda app: app.return_case(case_id, who.unit, body.reason, who.actor()),
    )


@router.post(
    "/cases/{case_id}/extensions",
    status_code=201,
    response_model=NumberedCaseView,
)
def request_extension(
    case_id: UUID, body: ExtensionIn, dispatch: DispatchDep, who: ExtensionRequester
) -> NumberedCaseView:
    """延期申请, before the handling deadline; the answer carries its number ``n``."""
    return dispatch.act_numbered(
        case_id,
        who,
        Action.REQUEST_EXTENSION,
        lambda app: app.request_extension(
            case_id, who.unit, body.working_days, body.reason, who.actor()
        ),
    )


@router.post("/cases/{case_id}/progress", response_model=CaseView)
def report_progress(
    case_id: UUID, body: ProgressIn, dispatch: DispatchDep, who: Reporter
) -> CaseView:
    """A progress note, from the lead unit or a co-unit."""
    return dispatch.act(
        case_id,
        who,
        Action.REPORT_PROGRESS,
        lambda app: app.report_progress(case_id, who.unit, body.note, who.actor()),
    )


@router.post("/cases/{case_id}/results", status_code=201, response_model=NumberedCaseView)
def submit_result(
    case_id: UUID, body: ResultIn, dispatch: DispatchDep, who: Submitter
) -> NumberedCaseView:
    """办理结果 signed off by the unit head; a second pass needs both findings (一案双查)."""
    return dispatch.act_numbered(
        case_id,
        who,
        Action.SUBMIT_RESULT,
        lambda app: app.submit_result(case_id, who.unit, body.as_record(), who.actor()),
    )
