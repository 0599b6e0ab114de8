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

from services.dispatch.case_attachments import CaseAttachments
from services.dispatch.case_deadlines import DeadlineWatch, counted, tracked
from services.dispatch.case_units import UnitWork
from services.dispatch.errors import (
    EXTENSION_STATES,
    Invalid,
    NoSuchItem,
    NotLeadUnit,
    Refused,
    WrongState,
    status_label,
)
from shared.contracts.vocabulary import CaseStatus as S
from shared.contracts.vocabulary import DeadlineKind

if TYPE_CHECKING:
    from services.dispatch.deadlines import DeadlineRules

SIGN, HANDLE = DeadlineKind.SIGN.value, DeadlineKind.HANDLE.value
BEFORE_SIGN = frozenset({S.REGISTERED, S.DISPATCHED, S.RETURNED})
DISPATCHABLE = BEFORE_SIGN | {S.IN_PROGRESS, S.RESULT_SUBMITTED}  # until a result is accepted
SUPERSEDED = {"accepted": False, "reason": "已重新交办 (superseded by a re-dispatch)"}
Actor = dict[str, Any]


class Case(UnitWork, DeadlineWatch, CaseAttachments, Aggregate):
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
        self.attachments: list[dict[str, Any]] = []
        # Who registered the tip: that operator may add the tip's evidence (its row scope).
        self.registered_by: str | None = actor.get("id")

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

    def record_origin(self, *, origin: dict[str, Any], actor: Actor) -> None:
        """来源: the office says at triage which level and body the case came from."""
        self._require("triage", BEFORE_SIGN)
        self._origin_recorded(origin=origin, actor=actor, **self._same())

    @event("OriginRecorded")
    def _origin_recorded(self, origin, actor, status, pass_no) -> None:
        self.origin = origin

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
                f"目标案件 {target.number} 状态为“{status_label(target.status)}”,不能作为合并对象 "
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
        self.deadlines = {SIGN: tracked(sign), HANDLE: tracked(handle)}
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
        self.deadlines[SIGN] = tracked(sign)
        self.overruled, self.status = True, status

    def decide_extension(
        self, *, n: int, granted: bool, reason: str | None, rules: DeadlineRules, actor: Actor
    ) -> None:
        request = self.extension(n)
        if request["status"] != "pending":
            raise Refused(
                f"第 {n} 项延期申请已处理({EXTENSION_STATES.get(request['status'], '已处理')}) "
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
            self.deadlines[HANDLE] = tracked(fresh, extensions)

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

    # --- the lead unit's events (its commands: ``case_units.UnitWork``) -----------------

    @event("Signed")
    def _signed(self, unit, signed_at, on_time, actor, status, pass_no) -> None:
        self.status = status

    @event("Returned")
    def _returned(self, unit, reason, returned_at, returns_by_unit, actor, status, pass_no):
        self.returns_by_unit[unit] = returns_by_unit
        self._withdraw_pending_extensions()
        self.status = status

    @event("ExtensionRequested")
    def _extension_requested(self, n, unit, working_days, reason, actor, status, pass_no):
        self.extensions.append(
            {"n": n, "unit": unit, "working_days": working_days, "reason": reason}
            | {"status": "pending", "decision_reason": None}
        )

    @event("ProgressReported")
    def _progress_reported(self, unit, note, reported_at, actor, status, pass_no) -> None:
        self.progress.append({"unit": unit, "note": note, "at": reported_at})

    @event("ResultSubmitted")
    def _result_submitted(self, n, unit, result, submitted_at, on_time, actor, status, pass_no):
        self.results.append(
            {"n": n, "unit": unit, "pass_no": pass_no, **result}
            | {"on_time": on_time, "submitted_at": submitted_at, "review": None}
        )
        self.status = status

    # --- files (their commands: ``case_attachments.CaseAttachments``) -----------------

    @event("AttachmentAdded")
    def _attachment_added(
        self, n, digest, media_type, size, purpose, attached_at, actor, status, pass_no
    ) -> None:
        self.attachments.append(
            {"n": n, "digest": digest, "media_type": media_type, "size": size}
            | {"purpose": purpose, "by": actor, "at": attached_at, "downloads": 0}
            | {"public": False, "public_by": None, "public_at": None}
        )

    @event("AttachmentDownloaded")
    def _attachment_downloaded(self, n, digest, downloaded_at, actor, status, pass_no) -> None:
        self.attachments[n - 1]["downloads"] += 1

    @event("AttachmentApprovedForPublic")
    def _attachment_approved(self, n, digest, media_type, approved_at, actor, status, pass_no):
        self.attachments[n - 1] |= {"public": True, "public_by": actor, "public_at": approved_at}
        self.attachments[n - 1]["public_reason"] = None

    class AttachmentWithdrawnFromPublic(Aggregate.Event):
        """撤回公开. Version 2 says why (the office's reason); a version 1 event, stored
        before a reason was asked, is read with none."""

        class_version = 2
        n: int
        digest: str
        withdrawn_at: datetime
        actor: Actor
        status: str
        pass_no: int
        reason: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = None

    @event(AttachmentWithdrawnFromPublic)
    def _attachment_withdrawn(
        self, n, digest, withdrawn_at, actor, status, pass_no, reason
    ) -> None:
        self.attachments[n - 1] |= {"public": False, "public_by": actor, "public_at": withdrawn_at}
        self.attachments[n - 1]["public_reason"] = reason

    @event("AttachmentCleaned")
    def _attachment_cleaned(
        self, n, old_digest, digest, media_type, size, cleaned_at, actor, status, pass_no
    ) -> None:
        self.attachments[n - 1] |= {"digest": digest, "size": size}
        self.attachments[n - 1] |= {"cleaned_at": cleaned_at, "cleaned_from": old_digest}

    # --- the system's events (its commands: ``case_deadlines.DeadlineWatch``) ----------

    @event("ReopenedForSecondPass")
    def _reopened(self, unit, handle, actor, status, pass_no) -> None:
        self.deadlines = {HANDLE: tracked(handle)}
        self.status, self.pass_no = status, pass_no

    @event("DeadlineApproaching")
    def _deadline_approaching(self, deadline_kind, deadline, unit, actor, status, pass_no):
        self.deadlines[deadline_kind]["approaching"] = True

    @event("DeadlineMissed")
    def _deadline_missed(self, deadline_kind, deadline, unit, actor, status, pass_no):
        self.deadlines[deadline_kind]["missed"] = True

    @event("SupervisionNoticeIssued")
    def _supervision_issued(self, deadline_kind, deadline, unit, actor, status, pass_no):
        pass

    @event("DeadlinesRecalculated")
    def _recalculated(self, sign, handle, actor, status, pass_no) -> None:
        for kind, fresh in ((SIGN, sign), (HANDLE, handle)):
            if fresh is None:
                continue
            old = self.deadlines[kind]
            if fresh["at"] == old["at"]:
                old["provisional"] = fresh["provisional"]
            else:
                self.deadlines[kind] = tracked(fresh, old["extensions"])

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
