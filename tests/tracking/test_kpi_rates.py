"""Every KPI rate lies in [0, 1] (or is null) for any mix of cases a unit can have: each
denominator covers its numerator (``services/tracking/ledger/reports/kpis.py``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.tracking.ledger.reports.kpis import _NAMES, _with_rates

RATES = (
    "on_time_sign_rate",
    "on_time_completion_rate",
    "satisfaction_rate",
    "complainant_satisfaction_rate",
    "third_party_satisfaction_rate",
    "return_rate",
    "second_pass_rate",
)


@st.composite
def case(draw: st.DrawFn) -> dict[str, Any]:
    """One case as the ledger can hold it: flags that exclude each other do."""
    signed = draw(st.booleans())
    completed = signed and draw(st.booleans())
    complainant = draw(st.integers(0, 3))
    third_party = draw(st.integers(0, 3))
    return {
        "signed": signed,
        "signed_on_time": signed and draw(st.booleans()),
        "unsigned_past_deadline": not signed and draw(st.booleans()),
        "completed": completed,
        "completed_on_time": completed and draw(st.booleans()),
        "late_without_result": signed and not completed and draw(st.booleans()),
        "complainant": (draw(st.integers(0, complainant)), complainant),
        "third_party": (draw(st.integers(0, third_party)), third_party),
        "second_pass": complainant + third_party > 0 and draw(st.booleans()),
        "dispatches": draw(st.integers(1, 3)),
        "returns": draw(st.integers(0, 1)),
        "overruled": draw(st.booleans()),
    }


def measured(cases: list[dict[str, Any]]) -> tuple[dict[str, Any], tuple[int, int, int], Any]:
    m: dict[str, Any] = {"key": "WC-JYQ"} | dict.fromkeys(_NAMES, 0)
    m["cases"] = len(cases)
    for flag in (
        "signed",
        "signed_on_time",
        "unsigned_past_deadline",
        "completed",
        "completed_on_time",
        "late_without_result",
        "second_pass",
    ):
        m[flag] = sum(c[flag] for c in cases)
    kinds = {
        who: (sum(c[who][0] for c in cases), sum(c[who][1] for c in cases))
        for who in ("complainant", "third_party")
    }
    m["evaluations"] = kinds["complainant"][1] + kinds["third_party"][1]
    m["satisfied"] = kinds["complainant"][0] + kinds["third_party"][0]
    m["evaluated_cases"] = sum(c["complainant"][1] + c["third_party"][1] > 0 for c in cases)
    returns = sum(c["returns"] for c in cases)
    overruled = sum(c["returns"] and c["overruled"] for c in cases)
    return m, (sum(c["dispatches"] for c in cases), returns, overruled), kinds


@given(st.lists(case(), max_size=25))
def test_every_rate_is_null_or_within_zero_and_one(cases: list[dict[str, Any]]) -> None:
    m, dispatches_returns, kinds = measured(cases)
    kpis = _with_rates(m, dispatches_returns, kinds)
    for name in RATES:
        value = kpis[name]
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    if any(c["unsigned_past_deadline"] for c in cases):
        assert kpis["on_time_sign_rate"] is not None and kpis["on_time_sign_rate"] < 1.0
