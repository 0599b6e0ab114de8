"""What each role may do: one table, enforced by one dependency per endpoint.

Row-level scope is applied by each service's read path on top of this table (one function
per service), and answers 404, never 403, so that a refusal does not tell anyone that a case
exists: a ``unit_liaison`` sees cases where its unit is lead or co-unit; an ``operator`` the
tips it registered; an ``evaluator`` the cases awaiting its evaluation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from shared.web.auth import CurrentPrincipal, Principal, Role
from shared.web.problems import Problem

OPERATOR, OFFICE, LIAISON, SUPERVISOR, EVALUATOR, ADMIN = (
    Role.OPERATOR,
    Role.OFFICE,
    Role.UNIT_LIAISON,
    Role.SUPERVISOR,
    Role.EVALUATOR,
    Role.ADMIN,
)


class Action(StrEnum):
    # intake
    REGISTER_TIP = "register_tip"
    READ_TIP = "read_tip"
    VIEW_REPORTER = "view_reporter"
    # dispatch: the office
    TRIAGE = "triage"
    MERGE = "merge"
    MARK_NOT_ACCEPTED = "mark_not_accepted"
    DISPATCH = "dispatch"
    OVERRULE_RETURN = "overrule_return"
    DECIDE_EXTENSION = "decide_extension"
    REVIEW_RESULT = "review_result"
    # dispatch: the lead unit's liaison (co-units may report progress)
    SIGN = "sign"
    RETURN_CASE = "return_case"
    REQUEST_EXTENSION = "request_extension"
    REPORT_PROGRESS = "report_progress"
    SUBMIT_RESULT = "submit_result"
    # directory
    READ_DIRECTORY = "read_directory"
    MANAGE_DIRECTORY = "manage_directory"  # units, routing rules, the year calendar
    # tracking
    READ_CASE = "read_case"
    READ_LEDGER = "read_ledger"
    RECORD_FEEDBACK = "record_feedback"
    RECORD_EVALUATION = "record_evaluation"
    RECORD_ACCOUNTABILITY = "record_accountability"
    CLOSE_OUT = "close_out"
    READ_STATS = "read_stats"
    READ_REPORTS = "read_reports"
    READ_AUDIT = "read_audit"
    # administration
    MANAGE_KEYS = "manage_keys"


STAFF = frozenset({OFFICE, SUPERVISOR, ADMIN})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.REGISTER_TIP: frozenset({OPERATOR, OFFICE}),
    Action.READ_TIP: frozenset({OPERATOR, OFFICE, SUPERVISOR}),
    Action.VIEW_REPORTER: frozenset({OFFICE, SUPERVISOR}),
    Action.TRIAGE: frozenset({OFFICE}),
    Action.MERGE: frozenset({OFFICE}),
    Action.MARK_NOT_ACCEPTED: frozenset({OFFICE}),
    Action.DISPATCH: frozenset({OFFICE}),
    Action.OVERRULE_RETURN: frozenset({OFFICE}),
    Action.DECIDE_EXTENSION: frozenset({OFFICE}),
    Action.REVIEW_RESULT: frozenset({OFFICE}),
    Action.SIGN: frozenset({LIAISON}),
    Action.RETURN_CASE: frozenset({LIAISON}),
    Action.REQUEST_EXTENSION: frozenset({LIAISON}),
    Action.REPORT_PROGRESS: frozenset({LIAISON}),
    Action.SUBMIT_RESULT: frozenset({LIAISON}),
    Action.READ_DIRECTORY: frozenset({OFFICE, SUPERVISOR, ADMIN, LIAISON, OPERATOR}),
    Action.MANAGE_DIRECTORY: frozenset({ADMIN}),
    Action.READ_CASE: frozenset({OFFICE, SUPERVISOR, ADMIN, LIAISON, EVALUATOR, OPERATOR}),
    Action.READ_LEDGER: frozenset({OFFICE, SUPERVISOR, ADMIN, LIAISON}),
    Action.RECORD_FEEDBACK: frozenset({OFFICE}),
    Action.RECORD_EVALUATION: frozenset({OFFICE, EVALUATOR}),
    Action.RECORD_ACCOUNTABILITY: frozenset({OFFICE, SUPERVISOR}),
    Action.CLOSE_OUT: frozenset({OFFICE}),
    Action.READ_STATS: frozenset({OFFICE, SUPERVISOR, ADMIN, LIAISON}),
    Action.READ_REPORTS: frozenset({OFFICE, SUPERVISOR, ADMIN}),
    Action.READ_AUDIT: frozenset({SUPERVISOR}),
    Action.MANAGE_KEYS: frozenset({ADMIN}),
}


def allowed(principal: Principal, action: Action) -> bool:
    return principal.role in PERMISSIONS[action]


def require(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """A FastAPI dependency: the caller, if its role may perform ``action``; else 403."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not allowed(principal, action):
            raise Problem(
                403,
                "Forbidden",
                f"角色 {principal.role.value} 无权执行此操作 (role may not {action.value})",
            )
        return principal

    return dependency
