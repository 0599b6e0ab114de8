"""The notify service's Application: an event store with nothing in it.

Notify records no events of its own — its directory and its messages are tables outside the
event store (ADR 21), so that a person's contacts can be corrected and erased. The store is
kept so that notify has every service's shape (a notification log, a readiness check)."""

from __future__ import annotations

from shared.platform.eventstore import ServiceApplication


class NotifyApplication(ServiceApplication):
    name = "Notify"
