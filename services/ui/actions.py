"""What a viewer may do to a case from its page: one table of forms, by role and state.

Each row says which API action it is (so ``shared.web.authz`` decides who sees it), in which
shown statuses it makes sense, whether only the lead unit's liaison (or a co-unit's too) may
use it, and how its form fields become the API's request body. The API still decides: a
form shown here can be refused, and the page then shows the API's message beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.web.auth import Principal, Role
from shared.web.authz import Action, allowed

Form = Mapping[str, Any]  # field → text; "measures" → the ticked list
Body = dict[str, Any]

OPEN_DESK = frozenset({"registered", "returned"})
HANDLING = frozenset({"dispatched", "in_progress"})
AFTER_RESULT = frozenset({"awaiting_feedback", "awaiting_evaluation"})
FOLLOWED = frozenset(
    {"in_progress", "result_submitted", *AFTER_RESULT, "second_pass", "closed_out"}
)


def _text(form: Form, *names: str) -> Body:
    """The named fields that were filled in (blank ones are left for the API's defaults)."""
    return {n: form[n].strip() for n in names if form.get(n, "").strip()}


def _number(value: str) -> int | str:
    """Digits become a number; anything else goes as typed, for the API to name the field."""
    return int(value) if value.strip().isdigit() else value


def _yes(value: str | None) -> bool:
    return value == "true"


def _units(value: str) -> list[str]:
    return [u.strip() for u in value.replace(",", ",").split(",") if u.strip()]


def _dispatch(form: Form) -> Body:
    body: Body = {"lead_unit": form.get("lead_unit", "").strip(), "co_units": []}
    body["co_units"] = _units(form.get("co_units", ""))
    if form.get("handle_working_days", "").strip():
        body["handle_working_days"] = _number(form["handle_working_days"])
    return body


def _extension(form: Form) -> Body:
    return {"working_days": _number(form.get("working_days", "")), **_text(form, "reason")}


def _result(form: Form) -> Body:
    body = _text(
        form,
        "findings",
        "rectification",
        "signed_off_by",
        "direct_person_findings",
        "leadership_findings",
    )
    proposal = {"kind": form.get("proposal_kind", ""), "text": form.get("proposal_text", "")}
    return body | {"proposal": proposal}


def accountability_body(form: Form) -> Body:
    """A decision of accountability as the forms post it (a case's and a unit's procedure)."""
    return _accountability(form)


def _accountability(form: Form) -> Body:
    body = _text(
        form,
        "target_kind",
        "name",
        "unit",
        "position",
        "liability",
        "circumstances",
        "grounds",
        "decided_by",
        "decided_on",
        "note",
    )
    return body | {
        "measures": list(form.get("measures", [])),
        "exempted": _yes(form.get("exempted")),
    }


@dataclass(frozen=True)
class CaseAction:
    key: str
    label: str
    action: Action
    statuses: frozenset[str]
    path: str  # under /api/v1/cases/{case_id}/; {n}: the result or extension (hidden field)
    body: Callable[[Form], Body]
    unit: str | None = None  # "lead": the lead unit's liaison only; "assigned": lead or co-unit
    # the case's accountability procedure (``case["procedure"]``) offers it too: "undecided"
    # while it waits for a decision, "owed" (only then) while a report back is owed; "none"
    # only while the case has none
    procedure: str | None = None

    def offered_to(self, principal: Principal, case: Mapping[str, Any]) -> bool:
        if not allowed(principal, self.action):
            return False
        if self.procedure == "none" and case.get("procedure") is not None:
            return False
        missing = {m["code"] for m in (case.get("procedure") or {}).get("missing", [])}
        if self.procedure == "owed":
            return "report_back_missing" in missing
        wanted = self.procedure == "undecided" and "accountability_undecided" in missing
        if case["status"] not in self.statuses and not wanted:
            return False
        if principal.role != Role.UNIT_LIAISON or self.unit is None:
            return True
        lead = (case.get("lead_unit") or {}).get("code")
        co = {u["code"] for u in case.get("co_units") or [] if u}
        return principal.unit == lead or (self.unit == "assigned" and principal.unit in co)


ACTIONS: tuple[CaseAction, ...] = (
    # the office
    CaseAction(
        "triage",
        "分类处置",
        Action.TRIAGE,
        OPEN_DESK,
        "triage",
        lambda f: _text(f, "track", "category", "note"),
    ),
    CaseAction("dispatch", "交办", Action.DISPATCH, OPEN_DESK | HANDLING, "dispatch", _dispatch),
    CaseAction(
        "merge",
        "合并重复件",
        Action.MERGE,
        OPEN_DESK,
        "merge",
        lambda f: _text(f, "into", "reason"),
    ),
    CaseAction(
        "not_accepted",
        "不予受理",
        Action.MARK_NOT_ACCEPTED,
        OPEN_DESK,
        "not-accepted",
        lambda f: _text(f, "reason"),
    ),
    CaseAction(
        "overrule_return",
        "驳回退回",
        Action.OVERRULE_RETURN,
        frozenset({"returned"}),
        "overrule-return",
        lambda f: _text(f, "reason"),
    ),
    CaseAction(
        "decide_extension",
        "审批延期",
        Action.DECIDE_EXTENSION,
        HANDLING,
        "extensions/{n}/decision",
        lambda f: {"granted": _yes(f.get("granted")), **_text(f, "reason")},
    ),
    CaseAction(
        "review",
        "审核办理结果",
        Action.REVIEW_RESULT,
        frozenset({"result_submitted"}),
        "results/{n}/review",
        lambda f: {"accepted": _yes(f.get("accepted")), **_text(f, "reason")},
    ),
    # the lead unit's liaison (co-units may report progress)
    CaseAction(
        "sign", "签收", Action.SIGN, frozenset({"dispatched"}), "sign", lambda f: {}, "lead"
    ),
    CaseAction(
        "return",
        "退回",
        Action.RETURN_CASE,
        HANDLING,
        "return",
        lambda f: _text(f, "reason"),
        "lead",
    ),
    CaseAction(
        "extension",
        "申请延期",
        Action.REQUEST_EXTENSION,
        frozenset({"in_progress"}),
        "extensions",
        _extension,
        "lead",
    ),
    CaseAction(
        "progress",
        "报送进展",
        Action.REPORT_PROGRESS,
        HANDLING,
        "progress",
        lambda f: _text(f, "note"),
        "assigned",
    ),
    CaseAction(
        "result",
        "报送办理结果",
        Action.SUBMIT_RESULT,
        frozenset({"in_progress"}),
        "results",
        _result,
        "lead",
    ),
    # after the result
    CaseAction(
        "feedback",
        "反馈",
        Action.RECORD_FEEDBACK,
        AFTER_RESULT,
        "feedback",
        lambda f: _text(f, "channel", "content"),
    ),
    CaseAction(
        "evaluation",
        "评价",
        Action.RECORD_EVALUATION,
        frozenset({"awaiting_evaluation"}),
        "evaluations",
        lambda f: _text(f, "rating", "evaluator_kind", "comment"),
    ),
    CaseAction(
        "accountability",
        "问责",
        Action.RECORD_ACCOUNTABILITY,
        FOLLOWED,
        "accountability",
        _accountability,
        procedure="undecided",
    ),
    CaseAction(
        # the office's own decision (a local 暗访 or exposure, a case it judges so): a
        # higher level's source, the supervised track and a second pass open one by themselves
        "open_procedure",
        "启动问责程序",
        Action.DECIDE_ACCOUNTABILITY,
        FOLLOWED - {"closed_out"} | OPEN_DESK | HANDLING,
        "accountability/open",
        lambda f: _text(f, "reason"),
        procedure="none",
    ),
    CaseAction(
        "report_back",
        "回告上级",
        Action.DECIDE_ACCOUNTABILITY,
        FOLLOWED,
        "accountability/report-back",
        lambda f: _text(f, "reported_to", "content", "reported_on"),
        procedure="owed",
    ),
    CaseAction("close_out", "销号", Action.CLOSE_OUT, AFTER_RESULT, "close-out", lambda f: {}),
)
BY_KEY = {a.key: a for a in ACTIONS}


def api_path(action: CaseAction, case_id: str, form: Form) -> str:
    n = str(form.get("n", "")).strip()
    return f"/api/v1/cases/{case_id}/" + action.path.replace("{n}", n if n.isdigit() else "0")


def offered(principal: Principal, case: Mapping[str, Any]) -> list[CaseAction]:
    return [a for a in ACTIONS if a.offered_to(principal, case)]
