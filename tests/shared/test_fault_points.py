"""Crash points are named in TAIZHANG_FAULTS as a comma-separated list; a misspelt one is
refused (a fault test that silently injects nothing proves nothing), and so is any in
production mode."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.platform.faults import CONSUMER_EXIT_AFTER_COMMIT, RELAY_EXIT_AFTER_PUBLISH
from shared.platform.settings import ConfigurationError, Settings, load_secrets


def test_crash_points_are_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "TAIZHANG_FAULTS", f"{RELAY_EXIT_AFTER_PUBLISH}, {CONSUMER_EXIT_AFTER_COMMIT}"
    )
    assert Settings().faults == {RELAY_EXIT_AFTER_PUBLISH, CONSUMER_EXIT_AFTER_COMMIT}


def test_an_unknown_crash_point_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAIZHANG_FAULTS", "relay_exit_after_pubilsh")
    with pytest.raises(ValidationError, match="unknown fault"):
        Settings()


def test_crash_points_are_refused_in_production() -> None:
    settings = Settings(environment="production", faults=frozenset({RELAY_EXIT_AFTER_PUBLISH}))
    with pytest.raises(ConfigurationError, match="TAIZHANG_FAULTS"):
        load_secrets(settings)
