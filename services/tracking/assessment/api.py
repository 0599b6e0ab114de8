"""The annual assessment (责任制考核): the year's ranking with grades, a unit's breakdown with
the cases behind every figure, and the office's decisions and rectification notices."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from services.tracking.assessment import domain
from services.tracking.assessment.application import AssessmentOffice
from services.tracking.assessment.domain import Grade, Round
from shared.contracts.vocabulary import ROUND_LABELS, RoundKind
from shared.platform.officialdoc import DOCX, PDF, OfficialDocument, to_docx, to_pdf
from shared.web.auth import CurrentPrincipal, Principal
from shared.web.authz import Action, allowed, permitted, require
from shared.web.ratelimit import public_rate_limit
from shared.web.reads import ReadRecorder
from shared.web.refusals import Refusal, Refusals, documented

REFUSALS: Refusals = {
    domain.UnknownUnit: Refusal(404, "no_such_assessed_unit", "该年度没有该单位的考核"),
    domain.VetoedGrade: Refusal(409, "assessment_vetoed", "一票否决：该单位档次不得高于基本合格"),
    domain.NoticeNotFound: Refusal(404, "no_such_notice", "没有该单位的整改通知书"),
    domain.AlreadyReplied: Refusal(409, "notice_already_replied", "整改情况已回告"),
    domain.CircularAlreadyIssued: Refusal(409, "circular_already_issued", "该月通报已印发"),
    domain.CircularNotIssued: Refusal(404, "no_such_circular", "该月通报尚未印发"),
    domain.RoundPeriodInvalid: Refusal(
        422, "round_period_invalid", "期次不符(自查为每年6月、12月;年度报告为年份)"
    ),
    domain.RoundAlreadyOpen: Refusal(409, "round_already_open", "该期已开启"),
    domain.RoundNotFound: Refusal(404, "no_such_round", "没有该期任务"),
    domain.RoundWithoutUnits: Refusal(
        409, "round_without_units", "台账中尚无责任单位,请待单位名录同步后再开启"
    ),
    domain.NotInRound: Refusal(403, "not_in_round", "本单位不在该期任务内"),
    domain.AlreadySubmitted: Refusal(409, "already_submitted", "本单位已报送"),
    domain.NothingToReview: Refusal(409, "nothing_to_review", "该单位尚未报送"),
    domain.SubmissionIncomplete: Refusal(
        422, "submission_incomplete", "自查报告须对照三个清单逐项说明"
    ),
    domain.HonoursAlreadyPublished: Refusal(409, "honours_already_published", "该月红黑榜已发布"),
    domain.HonoursNotPublished: Refusal(404, "no_such_honours", "该月红黑榜尚未发布"),
    domain.LiaisonOfAnotherUnit: Refusal(403, "not_your_unit", "只能回告本单位的整改通知书"),
}

router = APIRouter(
    prefix="/api/v1/assessments", tags=["tracking: assessment"], responses=documented(REFUSALS)
)

Reader = Annotated[Principal, Depends(require(Action.READ_REPORTS))]
Decider = Annotated[Principal, Depends(require(Action.DECIDE_ASSESSMENT))]
Replier = Annotated[Principal, Depends(require(Action.REPLY_RECTIFICATION))]


async def _round_reader(principal: CurrentPrincipal) -> Principal:
    if allowed(principal, Action.READ_REPORTS):
        return principal
    return permitted(principal, Action.REPLY_RECTIFICATION)


RoundReader = Annotated[Principal, Depends(_round_reader)]
Year = Annotated[int, Path(ge=2000, le=2100)]
DocKind = Annotated[Literal["docx", "pdf"], Path(description="docx (to edit) or pdf (to print)")]


def get_office(request: Request) -> AssessmentOffice:
    office: AssessmentOffice = request.app.state.services["tracking"].assessment
    return office


Office = Annotated[AssessmentOffice, Depends(get_office)]


def get_reads(request: Request) -> ReadRecorder:
    service: ReadRecorder = request.app.state.services["tracking"]
    return service


Reads = Annotated[ReadRecorder, Depends(get_reads)]
# Audited reads (ADR 26): the documents as the ledger's reports are, a unit's figures (they
# name cases) as a look at them.
EXPORTED = "ReportExported"
UNIT_VIEWED = "UnitAssessmentViewed"


def _now(request: Request) -> Any:
    return request.app.state.services["tracking"].now()


class MarkIn(BaseModel):
    mark: float = Field(ge=0, le=100, description="定性评价分 (0–100)")
    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    grade: Grade
    reason: str = Field(min_length=1, max_length=2000, description="确定档次的理由")


class NoticeIn(BaseModel):
    issues: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        min_length=1, max_length=50, description="突出问题与整改意见"
    )
    reply_working_days: int = Field(default=15, ge=1, le=60, description="回告时限 (工作日)")


class ReplyIn(BaseModel):
    content: str = Field(min_length=1, max_length=20000)


@router.get("/{year}", summary="The year's assessment: ranking within groups with grades")
async def assessment_year(year: Year, office: Office, _: Reader) -> dict[str, Any]:
    return await office.year(year)


@router.get("/{year}/report.{kind}", summary="The annual assessment report (.docx or .pdf)")
async def annual_report(
    year: Year, kind: DocKind, office: Office, reads: Reads, who: Reader, request: Request
) -> Response:
    document = await office.annual_document(year, _now(request))
    await reads.record_read(who, EXPORTED, asked={"document": "assessment", "year": year})
    return await _rendered(document, kind, f"assessment-{year}")


@router.get("/{year}/{unit}/notice.{kind}", summary="告知与整改通知书 (.docx or .pdf)")
async def notice_document(
    year: Year, unit: str, kind: DocKind, office: Office, reads: Reads, who: Reader
) -> Response:
    document = await office.notice_document(year, unit)
    asked = {"document": "notice", "year": year, "unit": unit}
    await reads.record_read(who, EXPORTED, asked=asked)
    return await _rendered(document, kind, f"notice-{year}-{unit}")


@router.get("/{year}/{unit}", summary="A unit's assessment: every figure with its cases")
async def assessment_unit(
    year: Year, unit: str, office: Office, reads: Reads, who: Reader
) -> dict[str, Any]:
    """The unit's figures name the cases behind them: each look is in the audit (ADR 26)."""
    found = await office.unit(year, unit)
    await reads.record_read(who, UNIT_VIEWED, asked={"year": year, "unit": unit})
    return found


@router.post("/{year}/{unit}/mark", summary="The office's qualitative mark (定性评价)")
async def give_mark(
    year: Year, unit: str, body: MarkIn, office: Office, who: Decider, request: Request
) -> dict[str, Any]:
    return await office.give_mark(year, unit, body.mark, body.reason, who.actor(), _now(request))


@router.post("/{year}/{unit}/decision", summary="The office's final grade, with its reason")
async def decide(
    year: Year, unit: str, body: DecisionIn, office: Office, who: Decider, request: Request
) -> dict[str, Any]:
    return await office.decide(year, unit, body.grade, body.reason, who.actor(), _now(request))


@router.post("/{year}/{unit}/notice", status_code=201, summary="告知与整改通知书 (002 第二十九条)")
async def issue_notice(
    year: Year, unit: str, body: NoticeIn, office: Office, who: Decider, request: Request
) -> dict[str, Any]:
    return await office.issue_notice(
        year, unit, body.issues, body.reply_working_days, who.actor(), _now(request)
    )


@router.post("/{year}/{unit}/notice/reply", summary="The unit's reply (按时限回告)")
async def reply(
    year: Year, unit: str, body: ReplyIn, office: Office, who: Replier, request: Request
) -> dict[str, Any]:
    if who.unit != unit:
        raise domain.LiaisonOfAnotherUnit(unit)
    return await office.reply(year, unit, body.content, who.actor(), _now(request))


circulars = APIRouter(
    prefix="/api/v1/circulars", tags=["tracking: assessment"], responses=documented(REFUSALS)
)
Month = Annotated[str, Path(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")]


def _month(month: str) -> tuple[int, int]:
    year, number = (int(p) for p in month.split("-"))
    return year, number


async def _rendered(document: OfficialDocument, kind: str, stem: str) -> Response:
    render, media = (to_pdf, PDF) if kind == "pdf" else (to_docx, DOCX)
    content = await asyncio.to_thread(render, document)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{kind}"'},
    )


@circulars.post("/{month}", status_code=201, summary="Issue the month's circular (一月一通报)")
async def issue_circular(
    month: Month, office: Office, who: Decider, request: Request
) -> dict[str, Any]:
    c = await office.issue_circular(*_month(month), who.actor(), _now(request))
    return {"number": c.number, "title": c.title, "issued_at": c.issued_at, "sections": c.sections}


@circulars.get("/{month}", summary="An issued circular, as issued")
async def issued_circular(month: Month, office: Office, _: Reader) -> dict[str, Any]:
    c = await office.circular(*_month(month))
    view = {"number": c.number, "title": c.title, "issued_at": c.issued_at}
    return view | {"sections": c.sections, "honours": c.honours}


@circulars.get("/{month}/{kind}", summary="An issued circular (docx or pdf), reprinted as issued")
async def circular_document(
    month: Month, kind: DocKind, office: Office, reads: Reads, who: Reader
) -> Response:
    document = await office.circular_document(*_month(month))
    await reads.record_read(who, EXPORTED, asked={"document": "circular", "month": month})
    return await _rendered(document, kind, f"circular-{month}")


rounds = APIRouter(
    prefix="/api/v1/rounds", tags=["tracking: assessment"], responses=documented(REFUSALS)
)
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class RoundIn(BaseModel):
    kind: RoundKind
    period: str = Field(pattern=r"^20\d{2}(-(0[1-9]|1[0-2]))?$", description="2026-06 / 2026")
    units: list[str] = Field(default_factory=list, max_length=500, description="空为全部单位")
    working_days: int = Field(default=10, ge=1, le=60, description="报送时限 (工作日)")


class ThreeLists(BaseModel):
    """对照"三个清单"的履职情况 (001)."""

    power_list: Text  # 权力清单
    procedure_list: Text  # 程序清单
    responsibility_list: Text  # 责任清单


class Problem(BaseModel):
    problem: Text
    rectification_task: Text
    timetable: date
    responsible_person: Annotated[str, Field(min_length=1, max_length=100)]


class SubmissionIn(BaseModel):
    content: Text | None = None
    lists: ThreeLists | None = None
    problems: list[Problem] = Field(default_factory=list, max_length=100)


class ReviewIn(BaseModel):
    accepted: bool
    comment: Annotated[str, Field(max_length=2000)] = ""


def round_view(r: Round, now: Any) -> dict[str, Any]:
    late = r.late(now)
    return {
        "kind": r.kind,
        "kind_label": ROUND_LABELS[RoundKind(r.kind)],
        "period": r.period,
        "due": r.due,
        "opened_at": r.opened_at,
        "units": [
            {
                "unit": u,
                "submitted_at": r.submissions.get(u, {}).get("at"),
                "on_time": r.submissions.get(u, {}).get("on_time"),
                "review": r.submissions.get(u, {}).get("review"),
                "report": r.submissions.get(u, {}).get("report"),
                "late": u in late,
            }
            for u in r.units
        ],
        "late": len(late),
        "submitted": len(r.submissions),
        "reminders": r.reminders,
    }


@rounds.post("", status_code=201, summary="Open a round of a periodic duty")
async def open_round(body: RoundIn, office: Office, who: Decider, request: Request) -> Any:
    now = _now(request)
    opened = await office.open_round(
        body.kind, body.period, body.units, body.working_days, who.actor(), now
    )
    return round_view(opened, now)


@rounds.get("/{kind}/{period}", summary="A round: who submitted, who is late")
async def get_round(
    kind: str, period: str, office: Office, who: RoundReader, request: Request
) -> Any:
    """The office and supervisors read the whole round; a unit's liaison its own line only
    (what it owes and by when — not the other units' reports)."""
    view = round_view(await office.get_round(kind, period), _now(request))
    if not allowed(who, Action.READ_REPORTS):
        view["units"] = [u for u in view["units"] if u["unit"] == who.unit]
        view["late"] = sum(u["late"] for u in view["units"])
        view["submitted"] = sum(bool(u["submitted_at"]) for u in view["units"])
    return view


@rounds.post("/{kind}/{period}/submissions", status_code=201, summary="A unit's report")
async def submit(
    kind: str, period: str, body: SubmissionIn, office: Office, who: Replier, request: Request
) -> Any:
    now = _now(request)
    unit = who.unit or ""
    report = body.model_dump(mode="json", exclude_none=True)
    changed, _ = await office.change_round(
        kind, period, lambda r: r.submit(unit, report, who.actor(), now)
    )
    return round_view(changed, now)


@rounds.post("/{kind}/{period}/submissions/{unit}/review", summary="The office's review")
async def review(
    kind: str,
    period: str,
    unit: str,
    body: ReviewIn,
    office: Office,
    who: Decider,
    request: Request,
) -> Any:
    now = _now(request)
    changed, _ = await office.change_round(
        kind, period, lambda r: r.review(unit, body.accepted, body.comment, who.actor(), now)
    )
    return round_view(changed, now)


@rounds.post("/{kind}/{period}/reminders", summary="督办 the units that have not submitted")
async def remind(kind: str, period: str, office: Office, who: Decider, request: Request) -> Any:
    now = _now(request)
    changed, reminded = await office.change_round(
        kind, period, lambda r: r.remind(who.actor(), now)
    )
    return {"reminded": reminded, "round": round_view(changed, now)}


@circulars.post("/{month}/honours", status_code=201, summary="Publish the month's 红黑榜")
async def publish_honours(
    month: Month, office: Office, who: Decider, request: Request
) -> dict[str, Any]:
    issued = await office.publish_honours(*_month(month), who.actor(), _now(request))
    return {"month": month, **(issued.honours or {})}


public = APIRouter(
    prefix="/public/v1",
    tags=["public portal"],
    dependencies=[Depends(public_rate_limit)],
    responses=documented(REFUSALS),
)


@public.get("/honours/{month}", summary="The month's 红黑榜, once the office published it")
async def public_honours(month: Month, office: Office) -> dict[str, Any]:
    found = await office.published_honours(*_month(month))
    return {"month": month, **found}
