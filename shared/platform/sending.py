"""When a message to a person goes out: retry waits and quiet hours, for every service that
sends (notify to the office's people, intake to reporters). Pure: no I/O."""

from __future__ import annotations

from datetime import datetime, time, timedelta


class DeliveryFailed(Exception):
    """The channel did not take the message; ``code`` is what a delivery log shows."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def backoff(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def quiet_until(moment: datetime, start: time | None, end: time | None) -> datetime | None:
    """When quiet hours (免打扰) around ``moment`` (local, aware) end, or None when
    ``moment`` is not in them. Hours may run past midnight (22:00–07:00)."""
    if start is None or end is None or start == end:
        return None
    clock = moment.timetz().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        ends_on = moment.date()
    else:
        inside = clock >= start or clock < end
        ends_on = moment.date() + timedelta(days=1) if clock >= start else moment.date()
    if not inside:
        return None
    return datetime.combine(ends_on, end, moment.tzinfo)
