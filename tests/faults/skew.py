"""Replicas whose clocks disagree: each dispatch and tracking replica reads a file clock of its
own (``TAIZHANG_CLOCK_FILE`` per process — the product's test clock, refused in production;
the harness links each to the deployment's clock), here set apart: running at the speed of
real time from its own offset, and moved or stepped back one by one. Intake keeps the
deployment's clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.tracking.ledger.tables import ledger
from shared.platform.calendar import WorkingCalendar
from shared.platform.clock import FileClock, set_clock
from shared.platform.readmodel import create_engine
from tests.faults.harness import FaultyDeployment
from tests.support.pinned import SHANGHAI

# Seconds each replica's clock is off the deployment's: minutes, both ways, across midnight.
OFFSETS = {("dispatch", 0): 90, ("dispatch", 1): -45, ("tracking", 0): 60, ("tracking", 1): 300}


def night_before_a_working_day(after: datetime) -> datetime:
    """23:59:40 in Shanghai on a working day followed by another, after ``after``: replicas
    a minute ahead are already on the next day, the others not yet."""
    calendar, day = WorkingCalendar(), after.astimezone(SHANGHAI).date() + timedelta(days=1)
    while not (calendar.is_working_day(day) and calendar.is_working_day(day + timedelta(days=1))):
        day += timedelta(days=1)
    return datetime.combine(day, time(23, 59, 40), SHANGHAI)


class SkewedClocks:
    def __init__(self, system: FaultyDeployment) -> None:
        self.system = system
        self.base = night_before_a_working_day(FileClock(system.clock).now())
        # ("dispatch", 0) → its process
        self.replicas = {key: system.replicas(key[0])[key[1]] for key in OFFSETS}

    def file(self, key: tuple[str, int]) -> Path:
        """The replica's own clock file (the harness starts each replica on one)."""
        return Path(self.replicas[key].env["TAIZHANG_CLOCK_FILE"])

    def set_all(self, moment: datetime) -> None:
        """The deployment's clock stands at ``moment``; each replica's runs from its offset."""
        set_clock(self.system.clock, moment)
        for key, offset in OFFSETS.items():
            set_clock(self.file(key), moment + timedelta(seconds=offset), running=True)

    def step_back(self, key: tuple[str, int], by: timedelta) -> None:
        """NTP steps the replica's clock backwards (from wherever it reads now)."""
        set_clock(self.file(key), FileClock(self.file(key)).now() - by, running=True)

    def now(self, key: tuple[str, int]) -> datetime:
        return FileClock(self.file(key)).now()

    @contextmanager
    def apart(self) -> Iterator[SkewedClocks]:
        """Each replica on its own running clock, no restart needed: the file a replica reads
        stops being a link to the deployment's clock. On leaving it is one again (the
        scenarios after this one move that clock for everyone)."""
        for key in OFFSETS:
            assert self.file(key).is_symlink(), f"{key} does not read a clock of its own"
        self.set_all(self.base)
        try:
            yield self
        finally:
            for key in OFFSETS:
                link = self.file(key).with_suffix(".link")
                link.unlink(missing_ok=True)
                link.symlink_to(self.system.clock)
                os.replace(link, self.file(key))


def ledger_rows(system: FaultyDeployment, cases: list[str]) -> dict[str, dict[str, Any]]:
    """The ledger's times and deadlines of these cases, read from its table."""
    columns = ("registered_at", "dispatched_at", "sign_deadline", "handle_deadline")
    picked = [ledger.c.case_id, ledger.c.accountability_procedure]
    picked += [ledger.c[name] for name in columns]

    async def read() -> dict[str, dict[str, Any]]:
        engine = create_engine(system.d.settings.model_copy(update={"db_pool_size": 1}))
        try:
            async with engine.connect() as conn:
                ids = [uuid.UUID(case) for case in cases]
                found = await conn.execute(sa.select(*picked).where(ledger.c.case_id.in_(ids)))
                return {str(row.case_id): dict(row._mapping) for row in found}
        finally:
            await engine.dispose()

    return asyncio.run(read())
