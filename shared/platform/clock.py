"""What time it is, for deadlines and reminders: the system clock, or a test clock.

A test (or a demo) sets ``TAIZHANG_CLOCK_FILE`` to a file holding one ISO 8601 timestamp with
its zone; every process of a deployment reads the same file, so a test moves time forward for
all of them at once by rewriting it. The clock stands still at that moment until the file
changes. A clock file is refused in production mode.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

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
            text = self.path.read_text().strip()
        except FileNotFoundError:
            raise ConfigurationError(f"clock file {self.path} does not exist") from None
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ConfigurationError(f"clock file {self.path} holds a time without a zone")
        return moment


def set_clock(path: Path, moment: datetime) -> None:
    """Move a file clock (atomically, so a reader never sees half a timestamp)."""
    if moment.tzinfo is None:
        raise ValueError("a clock moment must be timezone-aware")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".clock-")
    with os.fdopen(fd, "w") as f:
        f.write(moment.isoformat())
    os.replace(tmp, path)


def clock_for(settings: Settings) -> Clock:
    if settings.clock_file is None:
        return SystemClock()
    if settings.is_production:
        raise ConfigurationError("TAIZHANG_CLOCK_FILE is for tests and demos, not production")
    return FileClock(settings.clock_file)
