"""苗头预警 (issue 25): a surge raises exactly one warning; an ordinary year almost none."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.insight.warning import (
    SURGE_STREET,
    WARNING_DEFAULT,
    Signal,
    detect,
    ordinary_year,
    poisson_tail,
    surge_signals,
    surge_warnings,
)


def test_poisson_tail() -> None:
    assert poisson_tail(0, 2.0) == 1.0
    assert abs(poisson_tail(1, 2.0) - (1 - 2.718281828**-2)) < 1e-6
    assert poisson_tail(10, 0.7) < WARNING_DEFAULT.alpha < poisson_tail(4, 0.7)


def test_a_surge_of_one_streets_charges_raises_exactly_one_warning() -> None:
    warnings = surge_warnings()
    assert len(warnings) == 1
    (w,) = warnings
    assert w.category == "arbitrary_charges"
    assert ("street", SURGE_STREET) in w.keys
    surge_ids = {s.case_id for s in surge_signals()}
    assert len(w.case_ids & surge_ids) >= WARNING_DEFAULT.min_count
    assert SURGE_STREET in w.reason and "基线" in w.reason


def test_a_simulated_ordinary_year_raises_at_most_the_budget() -> None:
    assert len(ordinary_year()) <= WARNING_DEFAULT.year_budget


def test_a_key_that_fired_rests_and_a_quiet_key_is_not_alarmed_by_few_tips() -> None:
    day0 = date(2025, 6, 2)
    few = [
        Signal(f"f{i}", "bribe_seeking", datetime(2025, 6, 2 + i, 9), street="青山镇")
        for i in range(WARNING_DEFAULT.min_count - 1)
    ]
    assert detect(few, day0, day0 + timedelta(days=10)) == []
    many = [
        Signal(f"m{i}", "bribe_seeking", datetime(2025, 6, 2 + i % 3, 9), street="青山镇")
        for i in range(20)
    ]
    fired = detect(many, day0, day0 + timedelta(days=12))
    assert len(fired) == 1 and fired[0].day == date(2025, 6, 2)
