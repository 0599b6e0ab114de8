"""Who may touch which case, on top of the role table (``shared.web.authz``), and how dispatch's
refusals are answered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.dispatch import errors
from services.dispatch.domain import Case
from shared.web.auth import Principal, Role
from shared.web.authz import STAFF, Action
from shared.web.http import unavailable
from shared.web.problems import Problem, not_found

CO_UNIT_ACTIONS = frozenset({Action.READ_CASE, Action.REPORT_PROGRESS})


def check_access(case: Case, principal: Principal, action: Action) -> None:
    """The row scope of a case, in one place.

    Staff see every case. A liaison sees a case only while its unit is the lead unit or a
    co-unit — any other case answers 404, so a refusal does not reveal that it exists — and a
    co-unit's liaison may only read it and report progress (403 otherwise). Nobody else sees
    dispatch's cases.
    """
    if principal.role in STAFF:
        return
    if principal.role != Role.UNIT_LIAISON or principal.unit is None:
        raise not_found("case")
    if principal.unit == case.lead_unit:
        return
    if principal.unit in case.co_units:
        if action in CO_UNIT_ACTIONS:
            return
        raise Problem(
            403,
            "Forbidden",
            "协办单位只能报送进展,此事项须由牵头单位办理 (a co-unit may only report progress)",
        )
    raise not_found("case")


@contextmanager
def refusals() -> Iterator[None]:
    """Dispatch's refusals as problem+json answers."""
    try:
        yield
    except errors.WrongState as e:
        raise Problem(409, "Conflict", str(e), case_status=e.status) from None
    except (errors.Refused, errors.AlreadyExists) as e:
        raise Problem(409, "Conflict", str(e)) from None
    except errors.Invalid as e:
        items = [{"field": f, "message": m, "code": "invalid"} for f, m in e.errors]
        raise Problem(422, "Invalid request", str(e), errors=items) from None
    except errors.NotLeadUnit as e:
        raise Problem(403, "Forbidden", str(e)) from None
    except errors.NoSuchItem as e:
        raise Problem(404, "Not Found", str(e)) from None
    except errors.NoSuchCase:
        raise not_found("case") from None
    except errors.NoSuchUnit:
        raise not_found("unit") from None
    except errors.Busy as e:
        raise unavailable(str(e)) from None
