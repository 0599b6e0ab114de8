"""Who may touch which case, on top of the role table (``shared.web.authz``): the row scope,
checked on the case as loaded for the command (never on a second load)."""

from __future__ import annotations

from services.dispatch.domain import Case
from services.dispatch.errors import NoSuchCase, NotLeadUnit, Refused
from shared.web.auth import Principal, Role
from shared.web.authz import STAFF, Action

CO_UNIT_ACTIONS = frozenset({Action.READ_CASE, Action.REPORT_PROGRESS, Action.ATTACH_FILE})
# What an operator may do on a case it registered: add the tip's evidence (not read the case).
REGISTRANT_ACTIONS = frozenset({Action.ATTACH_FILE})
# Which purposes each role may attach a file for (staff: any).
PURPOSES_BY_ROLE: dict[Role, frozenset[str]] = {
    Role.UNIT_LIAISON: frozenset({"result", "signed_form", "extension"}),
    Role.OPERATOR: frozenset({"evidence"}),
}


def check_access(case: Case, principal: Principal, action: Action) -> None:
    """The row scope of a case, in one place.

    Staff see every case. A liaison sees a case only while its unit is the lead unit or a
    co-unit — any other case is unknown to it, so a refusal does not reveal that it exists —
    and a co-unit's liaison may only read it, report progress and attach files. The operator
    who registered the tip may attach its evidence (after the tip, as a hotline system does);
    nobody else sees dispatch's cases.
    """
    if principal.role in STAFF:
        return
    if principal.role == Role.OPERATOR and case.registered_by == principal.id:
        if action in REGISTRANT_ACTIONS:
            return
        raise NoSuchCase(str(case.id))
    if principal.role != Role.UNIT_LIAISON or principal.unit is None:
        raise NoSuchCase(str(case.id))
    if principal.unit == case.lead_unit:
        return
    if principal.unit in case.co_units:
        if action in CO_UNIT_ACTIONS:
            return
        raise NotLeadUnit(
            "协办单位只能报送进展,此事项须由牵头单位办理 (a co-unit may only report progress)"
        )
    raise NoSuchCase(str(case.id))


def check_purpose(principal: Principal, purpose: str) -> None:
    """A liaison attaches its unit's result material; an operator a tip's evidence."""
    allowed = PURPOSES_BY_ROLE.get(principal.role)
    if allowed is not None and purpose not in allowed:
        raise Refused(
            f"此角色只能上传 {'、'.join(sorted(allowed))} 类附件 "
            f"(this role may attach files for {', '.join(sorted(allowed))} only)"
        )
