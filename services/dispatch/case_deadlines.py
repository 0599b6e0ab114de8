"""The case's deadlines as the system watches them: counted when a pass starts, announced
(催办, 督办) as they near and pass, counted again when a year's calendar is loaded. A mixin of
:class:`~services.dispatch.domain.Case`, whose events these commands record."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from shared.contracts.vocabulary import CaseStatus as S
from shared.contracts.vocabulary import DeadlineKind

if TYPE_CHECKING:
    from services.dispatch.deadlines import DeadlineRules
    from services.dispatch.domain import Case
    from shared.platform.calendar import Deadline

SIGN, HANDLE = DeadlineKind.SIGN.value, DeadlineKind.HANDLE.value
OPEN = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.RETURNED, S.RESULT_SUBMITTED})
Actor = dict[str, Any]


def counted(start: datetime, days: int | None, deadline: Deadline) -> dict[str, Any]:
    """A deadline as events carry it; ``days`` None means clock hours (immediate sign-for)."""
    return {"start": start, "days": days, "at": deadline.at, "provisional": deadline.provisional}


def tracked(deadline: dict[str, Any], extensions: list[int] | None = None) -> dict[str, Any]:
    """A deadline as the case keeps it: with granted extensions and what was announced."""
    return {**deadline, "extensions": list(extensions or []), "approaching": False, "missed": False}


def public(deadline: dict[str, Any] | None) -> dict[str, Any] | None:
    if deadline is None:
        return None
    return {k: deadline[k] for k in ("start", "days", "at", "provisional")}


class DeadlineWatch:
    """The system's commands on a case: second pass, reminders, recounting."""

    def reopen_for_second_pass(
        self, *, pass_no: int, now: datetime, rules: DeadlineRules, actor: Actor
    ) -> bool:
        """二次办理 for pass ``pass_no``: back to the lead unit with a new handling deadline.
        False if the case is on that pass already (the reaction is idempotent)."""
        case = cast("Case", self)
        if pass_no <= case.pass_no:
            return False
        case._require("reopen", {S.AWAITING_FEEDBACK})
        days = case.handle_working_days
        assert days is not None
        case._reopened(
            unit=case.lead_unit,
            handle=counted(now, days, rules.count(now, days)),
            actor=actor,
            status=S.IN_PROGRESS.value,
            pass_no=pass_no,
        )
        return True

    def current_deadlines(self) -> list[str]:
        """The deadlines that still run: sign-for until signed, handling until a result."""
        case = cast("Case", self)
        kinds = [SIGN] if case.status == S.DISPATCHED else []
        kinds += [HANDLE] if case.status in (S.DISPATCHED, S.IN_PROGRESS) else []
        return [k for k in kinds if k in case.deadlines]

    def check_deadlines(self, *, now: datetime, rules: DeadlineRules, actor: Actor) -> None:
        """催办 at the reminder point, 督办 once missed: each once per deadline set."""
        case = cast("Case", self)
        for kind in case.current_deadlines():
            deadline = case.deadlines[kind]
            announce = {"deadline_kind": kind, "deadline": deadline["at"], "unit": case.lead_unit}
            if now > deadline["at"]:
                if not deadline["missed"]:
                    case._deadline_missed(**announce, actor=actor, **case._same())
                    case._supervision_issued(**announce, actor=actor, **case._same())
            elif (
                not deadline["approaching"]
                and not deadline["missed"]  # a clock stepped back: 督办 was issued already
                and now >= rules.remind_at(deadline["start"], deadline["at"])
            ):
                case._deadline_approaching(**announce, actor=actor, **case._same())

    def recalculate(self, *, rules: DeadlineRules, actor: Actor) -> bool:
        """Count provisional deadlines again on the calendar as now known; True if any moved."""
        case = cast("Case", self)
        if case.status not in OPEN:
            return False
        fresh = {
            kind: {**d, "at": again.at, "provisional": again.provisional}
            for kind, d in case.deadlines.items()
            if d["provisional"] and d["days"] is not None
            for again in [rules.count(d["start"], d["days"], d["extensions"])]
        }
        if all(
            (f["at"], f["provisional"])
            == (case.deadlines[k]["at"], case.deadlines[k]["provisional"])
            for k, f in fresh.items()
        ):
            return False
        now_known = {**case.deadlines, **fresh}
        case._recalculated(
            sign=public(now_known.get(SIGN)),
            handle=public(now_known.get(HANDLE)),
            actor=actor,
            **case._same(),
        )
        return True
