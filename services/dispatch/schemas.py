"""Dispatch's requests and answers as the API takes and shows them (SPEC §6)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StringConstraints

from services.dispatch.domain import HANDLE, SIGN, Case
from shared.contracts.vocabulary import ProposalKind, Track, UnitKind
from shared.web.schemas import (
    Content,
    Origin,
    Strict,
    Text32,
    Text64,
    Text100,
    Text200,
    Text500,
)

UnitCode = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Z0-9-]{1,31}$", max_length=32)
]
RuleId = Annotated[str, StringConstraints(strict=True, pattern=r"^r-[a-z0-9-]+$", max_length=64)]
WorkingDays = Annotated[int, Field(strict=True, ge=1, le=250)]


def _iso_day(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` strings (no numbers, no timestamps) are days."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("日期格式应为 YYYY-MM-DD (a date is written YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} 不是有效日期 (not a valid date)") from None


Day = Annotated[date, BeforeValidator(_iso_day)]

# --- cases -------------------------------------------------------------------------------


class TriageIn(Strict):
    track: Track
    category: Text64 | None = None
    note: Text500 | None = None
    origin: Origin | None = None  # 来源层级与机关 (issue 18): a higher level's source


class MergeIn(Strict):
    into: Text64 = Field(description="The case id or the case number (2026-000123)")
    reason: Text500 | None = None


class ReasonIn(Strict):
    reason: Text500


class WithdrawalIn(Strict):
    """撤回公开: why the office takes a file off the public portal (required)."""

    reason: Text500 = Field(description="撤回理由,如 画面中可辨认出举报人住所")


class DispatchIn(Strict):
    lead_unit: UnitCode
    co_units: list[UnitCode] = Field(default_factory=list, max_length=20)
    handle_working_days: WorkingDays | None = Field(
        default=None, description="Required for key_rectification (the plan's time)"
    )


class DispatchByRuleIn(Strict):
    rule_id: Text64 = Field(description="The rule the triage desk suggested for this case")


class ExtensionIn(Strict):
    working_days: WorkingDays
    reason: Text500


class DecisionIn(Strict):
    granted: StrictBool
    reason: Text500 | None = None


class ProgressIn(Strict):
    note: Content


class Proposal(Strict):
    kind: ProposalKind
    text: Content


class ResultIn(Strict):
    findings: Content
    rectification: Content
    proposal: Proposal
    signed_off_by: Text100 = Field(description="The unit head who signed the result off")
    direct_person_findings: Content | None = None
    leadership_findings: Content | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "findings": self.findings,
            "rectification": self.rectification,
            "proposal_kind": self.proposal.kind.value,
            "proposal_text": self.proposal.text,
            "signed_off_by": self.signed_off_by,
            "direct_person_findings": self.direct_person_findings,
            "leadership_findings": self.leadership_findings,
        }


class ReviewIn(Strict):
    accepted: StrictBool
    reason: Text500 | None = None


class CaseView(BaseModel):
    """A case in dispatch's terms."""

    case_id: UUID
    number: str
    channel: str
    status: str
    pass_no: int
    track: str | None
    category: str | None
    note: str | None
    rule_id: str | None
    flagged_for_accountability: bool
    flag_reason: str | None
    lead_unit: str | None
    co_units: list[str]
    dispatched_at: datetime | None
    sign_deadline: datetime | None
    sign_deadline_provisional: bool | None
    handle_deadline: datetime | None
    handle_deadline_provisional: bool | None
    handle_working_days: int | None
    returns_by_unit: dict[str, int]
    repeats: list[dict[str, Any]]
    merged_into: dict[str, Any] | None
    not_accepted_reason: str | None
    extensions: list[dict[str, Any]]
    results: list[dict[str, Any]]
    progress: list[dict[str, Any]]
    # after a command: the head of dispatch's log, at or past the command's event —
    # ``GET /api/v1/ledger/positions`` tells when the ledger has read that far
    position: int | None = None

    @classmethod
    def of(cls, case: Case) -> CaseView:
        sign, handle = case.deadlines.get(SIGN, {}), case.deadlines.get(HANDLE, {})
        return cls(
            case_id=case.id,
            number=case.number,
            channel=case.channel,
            status=case.status,
            pass_no=case.pass_no,
            track=case.track,
            category=case.category,
            note=case.note,
            rule_id=case.rule_id,
            flagged_for_accountability=case.flag_reason is not None,
            flag_reason=case.flag_reason,
            lead_unit=case.lead_unit,
            co_units=case.co_units,
            dispatched_at=case.dispatched_at,
            sign_deadline=sign.get("at"),
            sign_deadline_provisional=sign.get("provisional"),
            handle_deadline=handle.get("at"),
            handle_deadline_provisional=handle.get("provisional"),
            handle_working_days=case.handle_working_days,
            returns_by_unit=case.returns_by_unit,
            repeats=case.repeats,
            merged_into=case.merged_into,
            not_accepted_reason=case.not_accepted_reason,
            extensions=case.extensions,
            results=[_result(r) for r in case.results],
            progress=case.progress,
        )


class NumberedCaseView(CaseView):
    """The answer to a new extension request or result: its number ``n`` and the case."""

    n: int


def _result(record: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in record.items() if not k.startswith("proposal_")}
    return shown | {"proposal": {"kind": record["proposal_kind"], "text": record["proposal_text"]}}


# --- the directory -------------------------------------------------------------------------


class Liaison(Strict):
    """A liaison officer by name. ``phone`` and ``email`` are still accepted (SPEC §6 clients)
    but no longer kept: contacts belong in the directory of persons (``/api/v1/persons``)."""

    name: Text64
    phone: Text32 | None = Field(default=None, description="Accepted, not kept (ADR 21)")
    email: Text200 | None = Field(default=None, description="Accepted, not kept (ADR 21)")


class ResponsiblePerson(Strict):
    """单位负责人, e.g. 张某, 局长 — a name and a position, as the ledger prints them."""

    name: Text64 = Field(description="姓名,如 张某")
    position: Text64 | None = Field(default=None, description="职务,如 局长")


class UnitFields(Strict):
    name: Text100
    kind: UnitKind
    parent: UnitCode | None = None
    liaisons: list[Liaison] = Field(default_factory=list, max_length=20)
    responsible_person: ResponsiblePerson | None = Field(
        default=None, description="单位负责人 (optional; a PUT without it clears it)"
    )

    def record(self) -> dict[str, Any]:
        person = self.responsible_person
        return {
            "name": self.name,
            "kind": self.kind.value,
            "parent": self.parent,
            "liaisons": [c.model_dump(exclude_none=True) for c in self.liaisons],
            "responsible_person": person.model_dump() if person else None,
        }


class UnitIn(UnitFields):
    code: UnitCode


class UnitUpdate(UnitFields):
    active: StrictBool = True


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None
    liaisons: list[dict[str, Any]]
    responsible_person: dict[str, Any] | None = None
    active: bool


class UnitList(BaseModel):
    items: list[UnitOut]
    total: int


class RuleMatch(Strict):
    categories: list[Text64] = Field(default_factory=list, max_length=100)
    districts: list[Text64] = Field(default_factory=list, max_length=100)
    streets: list[Text64] = Field(default_factory=list, max_length=100)
    channels: list[Text64] = Field(default_factory=list, max_length=100)
    keywords: list[Text64] = Field(default_factory=list, max_length=100)


class RuleIn(Strict):
    id: RuleId
    name: Text200
    match: RuleMatch
    lead_unit: UnitCode
    co_units: list[UnitCode] = Field(default_factory=list, max_length=20)
    track: Track


class RulesIn(Strict):
    rules: list[RuleIn] = Field(max_length=500)

    def records(self) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in self.rules]


class RulesOut(BaseModel):
    rules: list[RuleIn]


class YearIn(Strict):
    holidays: list[Day] = Field(default_factory=list, max_length=366)
    workdays: list[Day] = Field(default_factory=list, max_length=366)


class YearOut(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    source: str = Field(description="loaded (by the office) or built_in (chinese_calendar)")
