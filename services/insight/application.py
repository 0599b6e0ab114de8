"""The insight service's Application: the warnings it raised, and nothing else.

What insight reads is a read model of other services' events (ADR 23), rebuilt from them at
will. The one fact of its own is that a 苗头预警 fired (``raised.RaisedWarning``, ADR 32):
recorded once, so that the office is told once and the circular can list it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.insight.raised import RaisedWarning
from shared.contracts import SYSTEM_ACTOR
from shared.platform.eventstore import ServiceApplication


class InsightApplication(ServiceApplication):
    name = "Insight"

    def raise_warning(self, fields: dict[str, Any]) -> bool:
        """Record a warning that fired; False when it was recorded already (by this process
        on an earlier sweep, or by a replica: the id is the warning's identity). A cluster
        whose keys come in another order on a later sweep (a second key fired and now comes
        first) is the same warning: any of its keys recorded that day for that category
        counts as recorded."""
        category, day, keys = fields["category"], fields["day"], fields["keys"]
        for n in range(1, len(keys)):
            if self._exists(RaisedWarning.create_id(category, day, keys[n:])):
                return False
        raised = RaisedWarning(actor=SYSTEM_ACTOR, **fields)
        try:
            self.save(raised)
        except IntegrityError:
            return False
        return True

    def _exists(self, warning_id: UUID) -> bool:
        try:
            self.repository.get(warning_id)
        except AggregateNotFoundError:
            return False
        return True
