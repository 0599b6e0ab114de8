"""The controllable clock: one file moves time for every process; never in production."""

from __future__ import annotations

import base64
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app as cli
from shared.platform.clock import FileClock, SystemClock, clock_for, set_clock
from shared.platform.settings import ConfigurationError, Settings

CST = timezone(timedelta(hours=8))


def test_a_file_clock_stands_at_the_moment_written_until_moved(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    set_clock(path, datetime(2026, 12, 28, 10, tzinfo=CST))
    clock = clock_for(Settings(data_dir=tmp_path, clock_file=path))
    assert isinstance(clock, FileClock)
    assert clock.now() == datetime(2026, 12, 28, 10, tzinfo=CST)
    set_clock(path, datetime(2027, 1, 4, 9, tzinfo=CST))
    assert clock.now() == datetime(2027, 1, 4, 9, tzinfo=CST)
    with pytest.raises(ValueError, match="timezone-aware"):
        set_clock(path, datetime(2027, 1, 4, 9))


def test_a_running_file_clock_runs_on_from_the_moment_written(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    set_clock(path, datetime(2026, 2, 17, 10, tzinfo=CST), running=True)
    os.utime(path, (time.time() - 90, time.time() - 90))  # written a minute and a half ago
    moment = FileClock(path).now()
    assert datetime(2026, 2, 17, 10, 1, 30, tzinfo=CST) <= moment
    assert moment < datetime(2026, 2, 17, 10, 2, 30, tzinfo=CST)


def test_without_a_clock_file_the_system_clock_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAIZHANG_CLOCK_FILE")  # the suite's pinned clock (tests/support/pinned.py)
    assert isinstance(clock_for(Settings(data_dir=tmp_path)), SystemClock)


def test_production_refuses_a_clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path, environment="production", clock_file=tmp_path / "c")
    with pytest.raises(ConfigurationError, match="CLOCK_FILE"):
        clock_for(settings)
    for name in [k for k in os.environ if k.startswith("TAIZHANG_")]:
        monkeypatch.delenv(name)
    env = {
        "TAIZHANG_ENVIRONMENT": "production",
        "TAIZHANG_DATA_DIR": str(tmp_path),
        "TAIZHANG_JWT_SECRET": "s" * 48,
        "TAIZHANG_RECEIPT_SECRET": "r" * 48,
        "TAIZHANG_REPORTER_KEYS": "k1:" + base64.b64encode(b"k" * 32).decode(),
        "TAIZHANG_CLOCK_FILE": str(tmp_path / "c"),
    }
    refused = CliRunner().invoke(cli, ["serve"], env=env)
    assert refused.exit_code == 2
    assert "CLOCK_FILE" in refused.output
