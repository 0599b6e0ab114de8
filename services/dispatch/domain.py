"""The dispatch ``Case``: a registered tip through triage, dispatch and the units' work until
its result is accepted (SPEC §3). Pure domain: times and deadline rules come in as arguments.

Every event records ``status`` (the case's status after it) and ``pass_no``, which is what the
other services are told (``shared.contracts.dispatch``). A deadline travels in events as
``{start, days, at, provisional}``: what it was counted from, so that it can be counted again
when the office loads a year's calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.dispatch.errors import Invalid, NoSuchItem, NotLeadUnit, Refused, WrongState
from shared.contracts.vocabulary import CaseStatus as S
from shared.contracts.vocabulary import DeadlineKind

if TYPE_CHECKING:
    from services.dispatch.deadlines import DeadlineRules
    from shared.platform.calendar import Deadline

SIGN, HANDLE = DeadlineKind.SIGN.value, DeadlineKind.HANDLE.value
BEFORE_SIGN = frozenset({S.REGISTERED, S.DISPATCHED, S.RETURNED})
DISPATCHABLE = BEFORE_SIGN | {S.IN_PROGRESS, S.RESULT_SUBMITTED}  # until a result is accepted
SUPERSEDED = {"accepted": False, "reason": "已重新交办 (superseded by a re-dispatch)"}
OPEN = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.RESULT_SUBMITTED})
Actor = dict[str, Any]


def counted(start: datetime, days: int | None, deadline: Deadline) -> dict[str, Any]:
    """A deadline as events carry it; ``days`` None means clock hours (immediate sign-for)."""
    return {"start": start, "days": days, "at": deadline.at, "provisional": deadline.provisional}


def _tracked(deadline: dict[str, Any], extensions: list[int] | None = None) -> dict[str, Any]:
    """A deadline as the case keeps it: with granted extensions and what was announced."""
    return {**deadline, "extensions": list(extensions or []), "approaching": False, "missed": False}


def _public(deadline: dict[str, Any] | None) -> dict[str, Any] | None:
    if deadline is None:
        return None
    return {k: deadline[k] for k in ("start", "days", "at", "provisional")}


class Case(Aggregate):
    """案件 — a case on dispatch's desk; its id is the case id intake gave the tip."""

    id: UUID

    @event("Opened")
    def __init__(
        self,
        *,
        number: str,
        channel: str,
        category: str | None,
        summary: str | None,
        content: str,
        location: dict[str, Any] | None,
        named: bool,
        registered_at: datetime,
        actor: Actor,
    ) -> None:
        self.number, self.channel, self.category = number, channel, category
        self.summary, self.content, self.location = summary, content, location
        self.named, self.registered_at = named, registered_at
        self.status, self.pass_no = S.REGISTERED.value, 1
        self.track: str | None = None
        self.note: str | None = None
        self.rule_id: str | None = None
        self.flag_reason: str | None = None
        self.lead_unit: str | None = None
        self.co_units: list[str] = []
        self.dispatched_at: datetime | None = None
        self.handle_working_days: int | None = None
        self.overruled = False
        self.deadlines: dict[str, dict[str, Any]] = {}
        self.returns_by_unit: dict[str, int] = {}
        self.extensions: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.progress: list[dict[str, Any]] = []
        self.repeats: list[dict[str, Any]] = []
        self.merged_into: dict[str, Any] | None = None
        self.not_accepted_reason: str | None = None

    # --- the office ------------------------------------------------------------------------

    def triage(
        self,
        *,
        track: str,
        category: str | None,
        note: str | None,
        actor: Actor,
        rule_id: str | None = None,
    ) -> None:
        self._require("triage", BEFORE_SIGN)
        category = category if category is not None else self.category
        self._triaged(
            track=track, category=category, note=note, rule_id=rule_id, actor=actor, **self._same()
        )

    @event("Triaged")
    def _triaged(self, track, category, note, rule_id, actor, status, pass_no) -> None:
        self.track, self.category, self.note, self.rule_id = track, category, note, rule_id

    def flag_for_accountability(self, *, reason: str, actor: Actor) -> None:
        if self.flag_reason is None:
            self._flagged(reason=reason, actor=actor, **self._same())

    @event("FlaggedForAccountability")
    def _flagged(self, reason, actor, status, pass_no) -> None:
        self.flag_reason = reason

    def merge_into(self, *, target: Case, reason: str | None, actor: Actor) -> None:
        """登记留存: this case is a duplicate; the target counts it as a repeat report."""
        self._require("merge", BEFORE_SIGN)
        if target.id == self.id:
            raise Invalid("into", "不能合并到案件自身 (a case cannot be merged into itself)")
        if target.status in (S.MERGED, S.NOT_ACCEPTED):
            raise Refused(
                f"目标案件 {target.number} 状态为 {target.status},不能作为合并对象 "
                f"(cannot merge into a case that is {target.status})"
            )
        target._repeat_linked(
            repeat_case_id=self.id,
            repeat_number=self.number,
            repeats=len(target.repeats) + 1,
            actor=actor,
            **target._same(),
        )
        self._merged(
            into_case_id=target.id,
            into_number=target.number,
            reason=reason,
            actor=actor,
            status=S.MERGED.value,
            pass_no=self.pass_no,
        )

    @event("RepeatReportLinked")
    def _repeat_linked(self, repeat_case_id, repeat_number, repeats, actor, status, pass_no):
        self.repeats.append({"case_id": repeat_case_id, "number": repeat_number})

    @event("Merged")
    def _merged(self, into_case_id, into_number, reason, actor, status, pass_no) -> None:
        self.merged_into = {"case_id": into_case_id, "number": into_number, "reason": reason}
        self.status = status

    def not_accept(self, *, reason: str, actor: Actor) -> None:
        self._require("not_accept", BEFORE_SIGN)
        self._not_accepted(
            reason=reason, actor=actor, status=S.NOT_ACCEPTED.value, pass_no=self.pass_no
        )

    @event("NotAccepted")
    def _not_accepted(self, reason, actor, status, pass_no) -> None:
        self.not_accepted_reason, self.status = reason, status

    def dispatch(
        self,
        *,
        lead_unit: str,
        co_units: list[str],
        handle_working_days: int | None,
        now: datetime,
        rules: DeadlineRules,
        actor: Actor,
        rule_id: str | None = None,
    ) -> None:
        """交办 (again, if it was dispatched before): separate sign-for and handling deadlines.
        A result still under review is set aside by a re-dispatch."""
        self._require("dispatch", DISPATCHABLE)
        if self.track is None:
            raise Refused("案件尚未分类处置,请先分类再交办 (triage the case before dispatching it)")
        if lead_unit in co_units:
            raise Invalid("co_units", "牵头单位不能同时是协办单位 (the lead unit is not a co-unit)")
        days = handle_working_days or rules.default_handle_days(self.track)
        if days is None:
            raise Invalid(
                "handle_working_days",
                "年度重点整改须给出计划办理时限(工作日) "
                "(key rectification needs the plan's handle_working_days)",
            )
        sign_days = rules.sign_basis(self.track)
        self._dispatched(
            lead_unit=lead_unit,
            co_units=list(co_units),
            track=self.track,
            sign=counted(now, sign_days, rules.sign(self.track, now)),
            handle=counted(now, days, rules.count(now, days)),
            redispatch=self.lead_unit is not None,
            rule_id=rule_id,
            actor=actor,
            status=S.DISPATCHED.value,
            pass_no=self.pass_no,
        )

    @event("Dispatched")
    def _dispatched(
        self, lead_unit, co_units, track, sign, handle, redispatch, rule_id, actor, status, pass_no
    ) -> None:
        self.lead_unit, self.co_units = lead_unit, list(co_units)
        self.dispatched_at, self.handle_working_days = handle["start"], handle["days"]
        self.deadlines = {SIGN: _tracked(sign), HANDLE: _tracked(handle)}
        self.overruled = False
        self._withdraw_pending_extensions()
        for result in self.results:
            if result["review"] is None:
                result["review"] = dict(SUPERSEDED)
        self.status = status

    def overrule_return(
        self, *, reason: str, now: datetime, rules: DeadlineRules, actor: Actor
    ) -> None:
        """The return is refused: back to the same unit with a new sign-for deadline."""
        self._require("overrule_return", {S.RETURNED})
        assert self.track is not None
        sign_days = rules.sign_basis(self.track)
        self._return_overruled(
            unit=self.lead_unit,
            reason=reason,
            sign=counted(now, sign_days, rules.sign(self.track, now)),
            actor=actor,
            status=S.DISPATCHED.value,
            pass_no=self.pass_no,
        )

    @event("ReturnOverruled")
    def _return_overruled(self, unit, reason, sign, actor, status, pass_no) -> None:
        self.deadlines[SIGN] = _tracked(sign)
        self.overruled, self.status = True, status

    def decide_extension(
        self, *, n: int, granted: bool, reason: str | None, rules: DeadlineRules, actor: Actor
    ) -> None:
        request = self.extension(n)
        if request["status"] != "pending":
            raise Refused(
                f"第 {n} 项延期申请已处理({request['status']}) "
                f"(extension request {n} is {request['status']})"
            )
        if not granted and not reason:
            raise Invalid("reason", "不同意延期须说明理由 (a refusal needs a reason)")
        handle = self.deadlines[HANDLE]
        extensions = [*handle["extensions"], request["working_days"]] if granted else []
        moved = rules.count(handle["start"], handle["days"], extensions) if granted else None
        self._extension_decided(
            n=n,
            granted=granted,
            reason=reason,
            handle_deadline=moved.at if moved else handle["at"],
            handle_deadline_provisional=moved.provisional if moved else handle["provisional"],
            actor=actor,
            **self._same(),
        )

    @event("ExtensionDecided")
    def _extension_decided(
        self,
        n,
        granted,
        reason,
        handle_deadline,
        handle_deadline_provisional,
        actor,
        status,
        pass_no,
    ) -> None:
        request = self.extensions[n - 1]
        request["status"], request["decision_reason"] = "granted" if granted else "refused", reason
        if granted:
            handle = self.deadlines[HANDLE]
            extensions = [*handle["extensions"], request["working_days"]]
            fresh = {**handle, "at": handle_deadline, "provisional": handle_deadline_provisional}
            self.deadlines[HANDLE] = _tracked(fresh, extensions)

    def review_result(self, *, n: int, accepted: bool, reason: str | None, actor: Actor) -> None:
        result = self.result(n)
        self._require("review_result", {S.RESULT_SUBMITTED})
        if result["review"] is not None:
            raise Refused(f"第 {n} 份办理结果已审核 (result {n} was already reviewed)")
        if not accepted and not reason:
            raise Invalid("reason", "退回办理结果须说明理由 (a rejection needs a reason)")
        status = S.AWAITING_FEEDBACK if accepted else S.IN_PROGRESS
        self._result_reviewed(
            n=n,
            accepted=accepted,
            reason=reason,
            actor=actor,
            status=status.value,
            pass_no=self.pass_no,
        )

    @event("ResultReviewed")
    def _result_reviewed(self, n, accepted, reason, actor, status, pass_no) -> None:
        self.results[n - 1]["review"] = {"accepted": accepted, "reason": reason}
        if accepted:
            self._withdraw_pending_extensions()
        self.status = status

    # --- the lead unit (co-units may report progress) ----------------------------------------

    def sign(self, *, unit: str | None, now: datetime, actor: Actor) -> None:
        self._require("sign", {S.DISPATCHED})
        self.check_lead_unit(unit)
        on_time = now <= self.deadlines[SIGN]["at"]
        self._signed(
            unit=unit,
            signed_at=now,
            on_time=on_time,
            actor=actor,
            status=S.IN_PROGRESS.value,
            pass_no=self.pass_no,
        )

    @event("Signed")
    def _signed(self, unit, signed_at, on_time, actor, status, pass_no) -> None:
        self.status = status

    def return_case(
        self, *, unit: str | None, reason: str, now: datetime, rules: DeadlineRules, actor: Actor
    ) -> None:
        """退回: not this unit's responsibility; counted per unit (推诿扯皮 is punished)."""
        self._require("return", {S.DISPATCHED, S.IN_PROGRESS})
        self.check_lead_unit(unit)
        assert unit is not None
        assert self.dispatched_at is not None
        if self.overruled:
            raise Refused(
                "办公室已驳回本单位的退回,案件须由本单位办理 "
                "(the office overruled this unit's return; the case stays with it)"
            )
        if now > rules.return_until(self.dispatched_at):
            days = rules.policy.return_window_working_days
            raise Refused(
                f"已超过交办后 {days} 个工作日的退回时限 "
                f"(returns are accepted within {days} working days of dispatch)"
            )
        self._returned(
            unit=unit,
            reason=reason,
            returned_at=now,
            returns_by_unit=self.returns_by_unit.get(unit, 0) + 1,
            actor=actor,
            status=S.RETURNED.value,
            pass_no=self.pass_no,
        )

    @event("Returned")
    def _returned(self, unit, reason, returned_at, returns_by_unit, actor, status, pass_no):
        self.returns_by_unit[unit] = returns_by_unit
        self._withdraw_pending_extensions()
        self.status = status

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
        self._require("request_extension", {S.IN_PROGRESS})
        self.check_lead_unit(unit)
        if not 1 <= working_days <= rules.max_extension_days:
            raise Invalid(
                "working_days",
                f"每次延期为 1 至 {rules.max_extension_days} 个工作日 "
                f"(an extension is 1 to {rules.max_extension_days} working days)",
            )
        if any(r["status"] == "pending" for r in self.extensions):
            raise Refused("已有一项延期申请等待办公室决定 (an extension request is pending)")
        if now > self.deadlines[HANDLE]["at"]:
            raise Refused("办理时限已过,不能再申请延期 (file extensions before the deadline)")
        n = len(self.extensions) + 1
        self._extension_requested(
            n=n, unit=unit, working_days=working_days, reason=reason, actor=actor, **self._same()
        )
        return n

    @event("ExtensionRequested")
    def _extension_requested(self, n, unit, working_days, reason, actor, status, pass_no):
        self.extensions.append(
            {"n": n, "unit": unit, "working_days": working_days, "reason": reason}
            | {"status": "pending", "decision_reason": None}
        )

    def report_progress(self, *, unit: str | None, note: str, now: datetime, actor: Actor):
        self._require("report_progress", {S.DISPATCHED, S.IN_PROGRESS})
        if unit is None or (unit != self.lead_unit and unit not in self.co_units):
            raise NotLeadUnit("只有牵头或协办单位可以报送进展 (only the case's units may do this)")
        self._progress_reported(unit=unit, note=note, reported_at=now, actor=actor, **self._same())

    @event("ProgressReported")
    def _progress_reported(self, unit, note, reported_at, actor, status, pass_no) -> None:
        self.progress.append({"unit": unit, "note": note, "at": reported_at})

    def submit_result(
        self, *, unit: str | None, result: dict[str, Any], now: datetime, actor: Actor
    ) -> int:
        """办理结果 with the unit head's sign-off; a second pass needs 一案双查."""
        self._require("submit_result", {S.IN_PROGRESS})
        self.check_lead_unit(unit)
        if self.pass_no >= 2:
            for field in ("direct_person_findings", "leadership_findings"):
                if not result.get(field):
                    raise Invalid(
                        field,
                        "二次办理须一案双查:写明对直接责任人和单位领导班子的调查结论 "
                        "(a second pass needs findings on the person and on the leadership)",
                    )
        n = len(self.results) + 1
        self._result_submitted(
            n=n,
            unit=unit,
            result=dict(result),
            submitted_at=now,
            on_time=now <= self.deadlines[HANDLE]["at"],
            actor=actor,
            status=S.RESULT_SUBMITTED.value,
            pass_no=self.pass_no,
        )
        return n

    @event("ResultSubmitted")
    def _result_submitted(self, n, unit, result, submitted_at, on_time, actor, status, pass_no):
        self.results.append(
            {"n": n, "unit": unit, "pass_no": pass_no, **result}
            | {"on_time": on_time, "submitted_at": submitted_at, "review": None}
        )
        self.status = status

    # --- the system ------------------------------------------------------------------------

    def reopen_for_second_pass(
        self, *, pass_no: int, now: datetime, rules: DeadlineRules, actor: Actor
    ) -> bool:
        """二次办理 for pass ``pass_no``: back to the lead unit with a new handling deadline.
        False if the case is on that pass already (the reaction is idempotent)."""
        if pass_no <= self.pass_no:
            return False
        self._require("reopen", {S.AWAITING_FEEDBACK})
        days = self.handle_working_days
        assert days is not None
        self._reopened(
            unit=self.lead_unit,
            handle=counted(now, days, rules.count(now, days)),
            actor=actor,
            status=S.IN_PROGRESS.value,
            pass_no=pass_no,
        )
        return True

    @event("ReopenedForSecondPass")
    def _reopened(self, unit, handle, actor, status, pass_no) -> None:
        self.deadlines = {HANDLE: _tracked(handle)}
        self.status, self.pass_no = status, pass_no

    def current_deadlines(self) -> list[str]:
        """The deadlines that still run: sign-for until signed, handling until a result."""
        kinds = [SIGN] if self.status == S.DISPATCHED else []
        kinds += [HANDLE] if self.status in (S.DISPATCHED, S.IN_PROGRESS) else []
        return [k for k in kinds if k in self.deadlines]

    def check_deadlines(self, *, now: datetime, rules: DeadlineRules, actor: Actor) -> None:
        """催办 at the reminder point, 督办 once missed: each once per deadline set."""
        for kind in self.current_deadlines():
            deadline = self.deadlines[kind]
            announce = {"deadline_kind": kind, "deadline": deadline["at"], "unit": self.lead_unit}
            if now > deadline["at"]:
                if not deadline["missed"]:
                    self._deadline_missed(**announce, actor=actor, **self._same())
                    self._supervision_issued(**announce, actor=actor, **self._same())
            elif not deadline["approaching"] and now >= rules.remind_at(
                deadline["start"], deadline["at"]
            ):
                self._deadline_approaching(**announce, actor=actor, **self._same())

    @event("DeadlineApproaching")
    def _deadline_approaching(self, deadline_kind, deadline, unit, actor, status, pass_no):
        self.deadlines[deadline_kind]["approaching"] = True

    @event("DeadlineMissed")
    def _deadline_missed(self, deadline_kind, deadline, unit, actor, status, pass_no):
        self.deadlines[deadline_kind]["missed"] = True

    @event("SupervisionNoticeIssued")
    def _supervision_issued(self, deadline_kind, deadline, unit, actor, status, pass_no):
        pass

    def recalculate(self, *, rules: DeadlineRules, actor: Actor) -> bool:
        """Count provisional deadlines again on the calendar as now known; True if any moved."""
        if self.status not in OPEN:
            return False
        fresh = {
            kind: {**d, "at": again.at, "provisional": again.provisional}
            for kind, d in self.deadlines.items()
            if d["provisional"] and d["days"] is not None
            for again in [rules.count(d["start"], d["days"], d["extensions"])]
        }
        if all(
            (f["at"], f["provisional"])
            == (self.deadlines[k]["at"], self.deadlines[k]["provisional"])
            for k, f in fresh.items()
        ):
            return False
        now_known = {**self.deadlines, **fresh}
        self._recalculated(
            sign=_public(now_known.get(SIGN)),
            handle=_public(now_known.get(HANDLE)),
            actor=actor,
            **self._same(),
        )
        return True

    @event("DeadlinesRecalculated")
    def _recalculated(self, sign, handle, actor, status, pass_no) -> None:
        for kind, fresh in ((SIGN, sign), (HANDLE, handle)):
            if fresh is None:
                continue
            old = self.deadlines[kind]
            if fresh["at"] == old["at"]:
                old["provisional"] = fresh["provisional"]
            else:
                self.deadlines[kind] = _tracked(fresh, old["extensions"])

    # --- helpers -----------------------------------------------------------------------------

    def _same(self) -> dict[str, Any]:
        """The status and pass an event records when it does not change them."""
        return {"status": self.status, "pass_no": self.pass_no}

    def _require(self, command: str, allowed: frozenset[str] | set[str]) -> None:
        if self.status not in allowed:
            raise WrongState(self.status, command)

    def check_lead_unit(self, unit: str | None) -> None:
        if unit is None or unit != self.lead_unit:
            raise NotLeadUnit("只有牵头单位的联络员可以办理此事项 (only the lead unit may do this)")

    def _withdraw_pending_extensions(self) -> None:
        for request in self.extensions:
            if request["status"] == "pending":
                request["status"] = "withdrawn"

    def extension(self, n: int) -> dict[str, Any]:
        if not 1 <= n <= len(self.extensions):
            raise NoSuchItem(f"没有第 {n} 项延期申请 (no extension request {n})")
        return self.extensions[n - 1]

    def result(self, n: int) -> dict[str, Any]:
        if not 1 <= n <= len(self.results):
            raise NoSuchItem(f"没有第 {n} 份办理结果 (no result {n})")
        return self.results[n - 1]
