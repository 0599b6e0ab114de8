"""The lead unit's work on a case (co-units may report progress): sign, return, ask for an
extension, report progress, submit the result. A mixin of
:class:`~services.dispatch.domain.Case`, whose events these commands record."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from services.dispatch.errors import Invalid, NotLeadUnit, Refused
from shared.contracts.vocabulary import CaseStatus as S
from shared.contracts.vocabulary import DeadlineKind

if TYPE_CHECKING:
    from services.dispatch.deadlines import DeadlineRules
    from services.dispatch.domain import Case

SIGN, HANDLE = DeadlineKind.SIGN.value, DeadlineKind.HANDLE.value
Actor = dict[str, Any]


class UnitWork:
    """The lead unit's commands on a case."""

    def sign(self, *, unit: str | None, now: datetime, actor: Actor) -> None:
        case = cast("Case", self)
        case._require("sign", {S.DISPATCHED})
        case.check_lead_unit(unit)
        on_time = now <= case.deadlines[SIGN]["at"]
        case._signed(
            unit=unit,
            signed_at=now,
            on_time=on_time,
            actor=actor,
            status=S.IN_PROGRESS.value,
            pass_no=case.pass_no,
        )

    def return_case(
        self, *, unit: str | None, reason: str, now: datetime, rules: DeadlineRules, actor: Actor
    ) -> None:
        """退回: not this unit's responsibility; counted per unit (推诿扯皮 is punished)."""
        case = cast("Case", self)
        case._require("return", {S.DISPATCHED, S.IN_PROGRESS})
        case.check_lead_unit(unit)
        assert unit is not None
        assert case.dispatched_at is not None
        if case.overruled:
            raise Refused(
                "办公室已驳回本单位的退回,案件须由本单位办理 "
                "(the office overruled this unit's return; the case stays with it)"
            )
        if now > rules.return_until(case.dispatched_at):
            days = rules.policy.return_window_working_days
            raise Refused(
                f"已超过交办后 {days} 个工作日的退回时限 "
                f"(returns are accepted within {days} working days of dispatch)"
            )
        case._returned(
            unit=unit,
            reason=reason,
            returned_at=now,
            returns_by_unit=case.returns_by_unit.get(unit, 0) + 1,
            actor=actor,
            status=S.RETURNED.value,
            pass_no=case.pass_no,
        )

    def request_extension(
        self,
        *,
        unit: str | None,
        working_days: int,
        reason: str,
        now: datetime,
        rules: DeadlineRules,
        actor: Actor,
    ) -> int:
        """延期申请: filed before the handling deadline, one at a time; returns its number."""
        case = cast("Case", self)
        case._require("request_extension", {S.IN_PROGRESS})
        case.check_lead_unit(unit)
        if not 1 <= working_days <= rules.max_extension_days:
            raise Invalid(
                "working_days",
                f"每次延期为 1 至 {rules.max_extension_days} 个工作日 "
                f"(an extension is 1 to {rules.max_extension_days} working days)",
            )
        if any(r["status"] == "pending" for r in case.extensions):
            raise Refused("已有一项延期申请等待办公室决定 (an extension request is pending)")
        if now > case.deadlines[HANDLE]["at"]:
            raise Refused("办理时限已过,不能再申请延期 (file extensions before the deadline)")
        n = len(case.extensions) + 1
        case._extension_requested(
            n=n, unit=unit, working_days=working_days, reason=reason, actor=actor, **case._same()
        )
        return n

    def report_progress(self, *, unit: str | None, note: str, now: datetime, actor: Actor):
        case = cast("Case", self)
        case._require("report_progress", {S.DISPATCHED, S.IN_PROGRESS})
        if unit is None or (unit != case.lead_unit and unit not in case.co_units):
            raise NotLeadUnit("只有牵头或协办单位可以报送进展 (only the case's units may do this)")
        case._progress_reported(unit=unit, note=note, reported_at=now, actor=actor, **case._same())

    def submit_result(
        self,
        *,
        unit: str | None,
        result: dict[str, Any],
        now: datetime,
        actor: Actor,
        signed_form_required: bool = False,
    ) -> int:
        """办理结果 with the unit head's sign-off; a second pass needs 一案双查. Where the
        office requires it, the form the head signed (主要领导签字背书) must be attached first:
        one signed form per result."""
        case = cast("Case", self)
        case._require("submit_result", {S.IN_PROGRESS})
        case.check_lead_unit(unit)
        signed = [a for a in case.attachments if a["purpose"] == "signed_form"]
        if signed_form_required and len(signed) <= len(case.results):
            raise Invalid(
                "signed_form",
                "须先上传主要领导签字背书的扫描件(附件用途 signed_form)再报送办理结果 "
                "(attach the form the unit head signed before submitting the result)",
            )
        if case.pass_no >= 2:
            for field in ("direct_person_findings", "leadership_findings"):
                if not result.get(field):
                    raise Invalid(
                        field,
                        "二次办理须一案双查:写明对直接责任人和单位领导班子的调查结论 "
                        "(a second pass needs findings on the person and on the leadership)",
                    )
        n = len(case.results) + 1
        case._result_submitted(
            n=n,
            unit=unit,
            result=dict(result),
            submitted_at=now,
            on_time=now <= case.deadlines[HANDLE]["at"],
            actor=actor,
            status=S.RESULT_SUBMITTED.value,
            pass_no=case.pass_no,
        )
        return n
