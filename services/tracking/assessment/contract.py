"""The periodic duties' domain events → integration events (``shared.contracts.tracking``).
Every event of a ``Round`` is published (read models see its versions without gaps); the
reports stay inside tracking. Assessment years and circulars are not published; every event of
a ``NoticeReminders`` (督办 of a rectification notice past its reply deadline) is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contracts import Contract
from shared.contracts import tracking as c

TRANSLATIONS: dict[str, Callable[[Any], Contract]] = {
    "Round.Opened": lambda e: c.RoundOpened(
        kind=e.kind, period=e.period, units=list(e.units), due=e.due
    ),
    "Round.Submitted": lambda e: c.RoundSubmitted(unit=e.unit, on_time=e.on_time),
    "Round.Reviewed": lambda e: c.RoundReviewed(unit=e.unit, accepted=e.accepted),
    "Round.Reminded": lambda e: c.RoundReminded(
        kind=e.kind, period=e.period, units=list(e.units), due=e.due
    ),
    "NoticeReminders.Reminded": lambda e: c.RectificationNoticeReminded(
        year=e.year, unit=e.unit, notice_number=e.notice_number, due=e.due, count=1
    ),
    "NoticeReminders.RemindedAgain": lambda e: c.RectificationNoticeReminded(
        year=e.year, unit=e.unit, notice_number=e.notice_number, due=e.due, count=e.count
    ),
}


def to_contract(event: Any) -> Contract | None:
    translate = TRANSLATIONS.get(type(event).__qualname__)
    return translate(event) if translate else None
