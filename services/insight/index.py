"""What insight keeps of the backbone, in memory and pure (ADR 23): the open cases it suggests
from and the signals 苗头预警 counts. The service shell (not yet built) feeds it integration
events from ``shared/contracts``; every method is idempotent, since redelivery is normal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.insight.domain import DEFAULT, Suggestion, Tip, Weights, suggest
from services.insight.warning import WARNING_DEFAULT, Rule, Signal, Warning, detect
from shared.contracts import Contract
from shared.contracts.dispatch import CaseEvent, CaseTriaged
from shared.contracts.intake import TipRegistered
from shared.contracts.vocabulary import CaseStatus

CLOSED = frozenset({CaseStatus.CLOSED_OUT, CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED})


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def tip_of(event: TipRegistered) -> Tip:
    """A registered tip as insight scores it: the problem, never the reporter."""
    subject, location = event.subject or {}, event.location or {}
    content = event.content if not event.summary else f"{event.summary}。{event.content}"
    return Tip(
        case_id=str(event.case_id),
        content=content,
        category=event.category,
        street=_text(location.get("street")),
        subject_unit=_text(subject.get("unit")),
        registered_at=event.registered_at,
        number=event.number,
        subject_person=_text(subject.get("person")),
    )


@dataclass
class OpenCases:
    """The read model: every tip seen, which are still open, and their categories as triaged."""

    tips: dict[str, Tip] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)

    def apply(self, event: Contract) -> None:
        if isinstance(event, TipRegistered):
            self.tips.setdefault(str(event.case_id), tip_of(event))
        elif isinstance(event, CaseEvent):
            key = str(event.case_id)
            if isinstance(event, CaseTriaged) and event.category and key in self.tips:
                old = self.tips[key]
                self.tips[key] = Tip(**{**old.__dict__, "category": event.category})
            if event.status in CLOSED:
                self.closed.add(key)

    def open(self) -> list[Tip]:
        return [t for k, t in self.tips.items() if k not in self.closed]

    def suggestions(self, case_id: str, w: Weights = DEFAULT) -> list[Suggestion] | None:
        """Open cases likely the same problem as ``case_id`` (None: insight never saw it)."""
        tip = self.tips.get(case_id)
        return None if tip is None else suggest(tip, self.open(), w)

    def signals(self) -> Sequence[Signal]:
        return [
            Signal(
                t.case_id, t.category, t.registered_at, t.street, t.subject_unit, t.subject_person
            )
            for t in self.tips.values()
            if t.category
        ]

    def warnings(self, first: date, last: date, rule: Rule = WARNING_DEFAULT) -> list[Warning]:
        return detect(self.signals(), first, last, rule)
