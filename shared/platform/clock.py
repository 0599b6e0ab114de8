"""What time it is, for deadlines and reminders: the system clock, or a test clock.

A test (or a demo) sets ``TAIZHANG_CLOCK_FILE`` to a file holding one ISO 8601 timestamp with
its zone; every process of a deployment reads the same file, so a test moves time forward for
all of them at once by rewriting it. The clock stands still at that moment until the file
changes — or, when the timestamp is followed by the word ``running``, it runs on from that
moment at the speed of real time, counted from when the file was written (a suite or a
training setup that starts on a chosen day, where events still follow one another in time).
A clock file is refused in production mode.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from eventsourcing.domain import CanCreateTimestamp

from shared.platform.settings import ConfigurationError, Settings


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """The moment written in a file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            text = self.path.read_text().split()
            written = self.path.stat().st_mtime
        except FileNotFoundError:
            raise ConfigurationError(f"clock file {self.path} does not exist") from None
        moment = datetime.fromisoformat(text[0])
        if moment.tzinfo is None:
            raise ConfigurationError(f"clock file {self.path} holds a time without a zone")
        if text[1:] == ["running"]:
            return moment + timedelta(seconds=max(0.0, time.time() - written))
        return moment


def set_clock(path: Path, moment: datetime, *, running: bool = False) -> None:
    """Move a file clock (atomically, so a reader never sees half a timestamp); `running`
    lets it run on from `moment` instead of standing there."""
    if moment.tzinfo is None:
        raise ValueError("a clock moment must be timezone-aware")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".clock-")
    with os.fdopen(fd, "w") as f:
        f.write(moment.isoformat() + (" running" if running else ""))
    os.replace(tmp, path)


def clock_for(settings: Settings) -> Clock:
    """The deployment's clock. A file clock also stamps the domain events this process
    records, so that a case's history and its deadlines are told by one clock (the library
    stamps events with the system time otherwise; production always runs on that)."""
    if settings.clock_file is None:
        return SystemClock()
    if settings.is_production:
        raise ConfigurationError("TAIZHANG_CLOCK_FILE is for tests and demos, not production")
    clock = FileClock(settings.clock_file)
    _stamp_events_by(clock)
    return clock


def _stamp_events_by(clock: FileClock) -> None:
    def create_timestamp() -> datetime:
        return clock.now().astimezone(UTC)

    CanCreateTimestamp.create_timestamp = staticmethod(create_timestamp)  # type: ignore[method-assign]
