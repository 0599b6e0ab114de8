"""Why dispatch refuses a command. The API's table (``api.REFUSALS``) says how each is
answered; nothing here knows of HTTP."""

from __future__ import annotations

from shared.contracts.vocabulary import STATUS_LABELS, CaseStatus

# The extension requests' states, as the office reads them.
EXTENSION_STATES = {"pending": "待审批", "granted": "已同意", "refused": "不同意"}


def status_label(status: str) -> str:
    """The status's Chinese label in a sentence; the code stays in ``case_status``."""
    try:
        return STATUS_LABELS[CaseStatus(status)]
    except (ValueError, KeyError):
        return status


# What each command is called, for messages (Chinese first, as operators read them).
VERBS: dict[str, tuple[str, str]] = {
    "triage": ("分类处置", "triage"),
    "merge": ("合并", "merge"),
    "not_accept": ("不予受理", "mark not accepted"),
    "dispatch": ("交办", "dispatch"),
    "dispatch_by_rule": ("按规则一键交办(仅限待分办案件)", "dispatch by rule"),
    "overrule_return": ("驳回退回", "overrule the return of"),
    "sign": ("签收", "sign"),
    "return": ("退回", "return"),
    "request_extension": ("申请延期", "request an extension for"),
    "report_progress": ("报送进展", "report progress on"),
    "submit_result": ("提交办理结果", "submit a result for"),
    "review_result": ("审核办理结果", "review a result of"),
    "reopen": ("启动二次办理", "reopen"),
    "link_repeat": ("关联重复件", "link a repeat report to"),
}


class DispatchError(Exception):
    """Base of the refusals below; the message is for the operator."""


class WrongState(DispatchError):
    """The case is not in a state that allows the command."""

    def __init__(self, status: str, command: str) -> None:
        cn, en = VERBS[command]
        super().__init__(
            f"案件当前状态为“{status_label(status)}”,不能{cn} (cannot {en} a case {status})"
        )
        self.status = status
        self.command = command
        self.details = {"case_status": status}


class Refused(DispatchError):
    """The state allows the command, but a rule does not: late, pending, repeated."""


class NotCleaned(Refused):
    """A video kept before the store cleaned videos of their metadata (ADR 22, last amendment):
    it may not be shown to the public; uploaded again, it is cleaned."""


class Invalid(DispatchError):
    """Fields whose values the rules do not accept, each with what is wrong."""

    def __init__(self, field: str, message: str, *more: tuple[str, str]) -> None:
        self.errors = [(field, message), *more]
        super().__init__(";".join(f"{f}: {m}" for f, m in self.errors))


class NotLeadUnit(DispatchError):
    """Only the lead unit's liaison may do this."""


class NoSuchItem(DispatchError):
    """An extension request or a result number the case does not have."""


class NoSuchCase(DispatchError):
    """No case with this id or number on dispatch's desk (or none this caller may see)."""


class NoSuchUnit(DispatchError):
    """No unit with this code in the directory."""


class AlreadyExists(DispatchError):
    """A unit with this code is in the directory already."""


class Busy(DispatchError):
    """Too many concurrent changes to the same record; retrying later will work."""


class NoSuchYear(DispatchError):
    """A year whose official calendar is neither built in nor loaded."""
