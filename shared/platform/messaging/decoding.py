"""Stored events decoded for a bulk read: the library's mapper, minus its Python JSON (ADR 41).

A rebuild decodes every stored event of three stores; the library's ``Mapper`` parses each
with the standard ``json`` module and a Python object hook called for every JSON object, then
builds the event. :class:`FastMapper` gives the same event — the same class, the same
``__dict__`` — from a parse in Rust (``pydantic_core.from_json``, already a dependency) and one
walk that applies the transcoder's own decoders (UUIDs, moments, dates) bottom-up, as the
hook does. It knows one stored version of each event class, the class's own: an event stored
at any other ``class_version`` (an older one that upcasters bring forward), a state the walk
cannot read (a name no transcoding is registered for) and a mapper that encrypts or compresses
all go through the library's ``to_domain_event``, which upcasts, or raises, as always.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic
from pydantic_core import from_json

Decode = Callable[[Any], Any]


class FastMapper:
    """``mapper.to_domain_event`` for a bulk read; ``fallbacks`` counts the events that took
    the library's path (its upcasters)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.usable = (
            mapper.cipher is None
            and mapper.compressor is None
            and isinstance(transcoder, JSONTranscoder)
        )
        names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        self.decoders: dict[str, Decode] = {name: t.decode for name, t in names.items()}
        self.classes: dict[str, tuple[type, int]] = {}  # topic → class, its version
        self.fallbacks = 0

    def to_domain_event(self, stored: StoredEvent) -> Any:
        if not self.usable:
            return self.mapper.to_domain_event(stored)
        known = self.classes.get(stored.topic)
        if known is None:
            cls = resolve_topic(stored.topic)
            known = self.classes[stored.topic] = (cls, getattr(cls, "class_version", 1))
        cls, version = known
        try:
            state = self._walk(from_json(stored.state))
        except (ValueError, KeyError):  # not JSON, or a name with no transcoding
            state = None
        if type(state) is not dict or state.pop("class_version", 1) != version:
            self.fallbacks += 1
            return self.mapper.to_domain_event(stored)  # upcast (or refused) as always
        convert = find_id_convertor(cls, type(stored.originator_id))  # type: ignore[arg-type]
        state["originator_id"] = convert(stored.originator_id)
        state["originator_version"] = stored.originator_version
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _walk(self, value: Any) -> Any:
        """The transcoder's object hook over a parsed document, innermost objects first."""
        if type(value) is dict:
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[key] = self._walk(item)
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self.decoders[value["_type_"]](value["_data_"])
            return value
        if type(value) is list:
            return [self._walk(i) if type(i) is dict or type(i) is list else i for i in value]
        return value
