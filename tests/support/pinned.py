"""The moment the suite runs at, so that no test depends on the day it is run.

Every clock a test pins — in-process (``Settings.clock_file``, see ``conftest.make_settings``)
and in the services the tests start (``TAIZHANG_CLOCK_FILE``) — starts at :data:`NOW`, 10:00
in Shanghai on :data:`TODAY`. ``TODAY`` is an ordinary Wednesday, 2026-11-18, unless
``TAIZHANG_TEST_TODAY=YYYY-MM-DD`` replays the whole suite as if on another day — the day a
failure was seen, or one of the awkward days CI replays the calendar-sensitive tests on
(a Saturday, a Sunday, 31 December, a day inside the Spring Festival holiday).

The whole suite was run as it stands and under 2026-12-05 (Saturday), 2026-12-06 (Sunday),
2026-12-07 (Monday), 2025-12-31 and 2026-02-17 (Spring Festival); `.ci/run` replays the tests
marked ``calendar`` under 2026-02-17. Tokens are the one exception: JWT expiry is checked by the
library against the real clock, so those tests use ``time.time()`` relative to itself.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.platform.clock import set_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_TODAY = date(2026, 11, 18)


def today() -> date:
    value = os.environ.get("TAIZHANG_TEST_TODAY", "").strip()
    return date.fromisoformat(value) if value else DEFAULT_TODAY


TODAY = today()
NOW = datetime.combine(TODAY, time(10, 0), SHANGHAI)


def pinned_clock(path: Path, moment: datetime | None = None) -> Path:
    """A clock file for a deployment to read, running on from `moment` (``NOW`` by default):
    the day is fixed, and events still follow one another in time."""
    set_clock(path, moment or NOW, running=True)
    return path


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)
