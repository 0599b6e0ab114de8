"""Integration events: what crosses a service boundary, and how it is written on the wire.

A domain event stays inside its service; its ``contract.py`` translates it into one of the
contracts registered here. Every message is an :class:`Envelope` around a contract's data.

Evolving a contract — the one rule: a released ``(type, version)`` is never edited. To change
one, register a new class with ``version = n + 1`` and an upcaster from ``n`` to ``n + 1``
(:func:`upcaster`); consumers always receive the newest version, whatever was stored in a
stream years ago.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]


class Contract(BaseModel):
    """Base of every integration event: immutable, validated on decode."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str]
    version: ClassVar[int] = 1


_CONTRACTS: dict[str, type[Contract]] = {}  # type → newest version's class
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}

C = TypeVar("C", bound=type[Contract])


def contract(cls: C) -> C:
    """Class decorator: register the newest version of an integration event."""
    known = _CONTRACTS.get(cls.type)
    if known is not None and known is not cls and known.version >= cls.version:
        raise ValueError(f"{cls.type} v{cls.version} does not supersede v{known.version}")
    _CONTRACTS[cls.type] = cls
    return cls


def upcaster(type_: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(type_, from_version)] = fn
        return fn

    return register


def contract_class(type_: str) -> type[Contract]:
    try:
        return _CONTRACTS[type_]
    except KeyError:
        raise UnknownContract(type_) from None


class UnknownContract(Exception):
    """A message of a type this build does not know (a newer producer): not for us yet."""


# Who an event's actor is when no person caused it (a reaction, a deadline passing, a seed):
# recorded on events and carried in envelopes like any person's actor.
SYSTEM_ACTOR: dict[str, Any] = {"id": "system", "name": "系统", "role": "system", "unit": None}


@dataclass(frozen=True)
class Envelope:
    """One integration event on its way between services.

    ``source``/``position`` locate it in the producer's notification log (and make the
    message id); ``stream_id``/``stream_version`` locate it in its aggregate's history, which
    is what read models use to apply each aggregate's events once and in order.
    """

    source: str
    position: int
    stream_id: UUID
    stream_version: int
    occurred_at: datetime
    actor: dict[str, Any] | None
    event: Contract
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def message_id(self) -> str:
        return f"{self.source}:{self.position}"

    def encode(self) -> bytes:
        return json.dumps(
            {
                "type": self.event.type,
                "version": self.event.version,
                "source": self.source,
                "position": self.position,
                "stream_id": str(self.stream_id),
                "stream_version": self.stream_version,
                "occurred_at": self.occurred_at.isoformat(),
                "actor": self.actor,
                "data": self.event.model_dump(mode="json"),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()


def decode(payload: bytes) -> Envelope:
    """Parse a message, upcasting its data to the newest version of its contract."""
    raw = json.loads(payload)
    cls = contract_class(raw["type"])
    data, version = raw["data"], int(raw["version"])
    while version < cls.version:
        data = _UPCASTERS[(raw["type"], version)](data)
        version += 1
    return Envelope(
        source=raw["source"],
        position=int(raw["position"]),
        stream_id=UUID(raw["stream_id"]),
        stream_version=int(raw["stream_version"]),
        occurred_at=datetime.fromisoformat(raw["occurred_at"]),
        actor=raw["actor"],
        event=cls.model_validate(data),
    )
