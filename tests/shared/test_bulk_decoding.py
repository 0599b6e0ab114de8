"""A rebuild's reads (ADR 41): ``FastMapper`` decodes a stored event into the very event the
library's mapper gives, falls back to the library (and its upcasters) for a stored version it
does not know; a bulk read skips undecoded only what no translator publishes."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from services.registry import build_service
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging.decoding import FastMapper
from shared.platform.settings import Settings, load_secrets
from tests.dispatch.test_domain import LIAISON, MONDAY, OFFICE, in_progress


class Sample(Aggregate):
    """Every transcoding in every position: at the top, in a list, nested in a dict."""

    @event("Noted")
    def note(self, ids: list[UUID], when: dict[str, Any], amount: Decimal, text: str) -> None:
        pass


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and list(a.__dict__.items()) == list(b.__dict__.items())


def test_fast_decoding_gives_the_librarys_events_and_the_library_upcasts_old_versions() -> None:
    app = ServiceApplication()
    mapper = app.mapper
    case = in_progress()
    photo = {"digest": "cd" * 32, "media_type": "video/mp4", "size": 10, "purpose": "result"}
    case.attach(**photo, now=MONDAY, actor=LIAISON)
    case.approve_for_public(digest=photo["digest"], now=MONDAY, actor=OFFICE)
    case.withdraw_from_public(digest=photo["digest"], reason="画面有人脸", now=MONDAY, actor=OFFICE)
    sample = Sample()
    cst = timezone(timedelta(hours=8))
    when = {"at": datetime(2026, 3, 2, 9, 30, tzinfo=cst), "days": [date(2026, 3, 2)]}
    sample.note(ids=[uuid4(), uuid4()], when=when, amount=Decimal("1.50"), text="反映“某局”\n")
    events = [*case.collect_events(), *sample.collect_events()]
    stored = [mapper.to_stored_event(e) for e in events]

    fast = FastMapper(mapper)
    for record in stored:
        assert same(fast.to_domain_event(record), mapper.to_domain_event(record)), record.topic
    assert fast.fallbacks == 0
    assert fast.to_domain_event(stored[-1]).when["days"] == [date(2026, 3, 2)]

    # a withdrawal stored as version 1, before reasons were asked: the library's upcaster
    withdrawn = next(s for s in stored if s.topic.endswith("AttachmentWithdrawnFromPublic"))
    state = json.loads(withdrawn.state)
    assert state.pop("class_version") == 2 and state.pop("reason") == "画面有人脸"
    as_v1 = dataclasses.replace(withdrawn, state=json.dumps(state).encode())
    loaded = fast.to_domain_event(as_v1)
    assert fast.fallbacks == 1
    assert loaded.reason is None and same(loaded, mapper.to_domain_event(as_v1))


def domain_events(module_prefix: str) -> list[type]:
    """Every event class of the aggregates a service's modules define."""
    found, seen = [], set()
    pending = list(Aggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls in seen or not cls.__module__.startswith(module_prefix):
            continue
        seen.add(cls)
        found += [
            e
            for e in vars(cls).values()
            if isinstance(e, type) and issubclass(e, Aggregate.Event) and e.__qualname__ != "Event"
        ]
    return found


def test_what_a_bulk_read_skips_undecoded_no_translator_publishes(tmp_path: Path) -> None:
    """An event outside a service's ``published`` names translates to None, whatever it
    holds (here: nothing at all), so skipping it by its topic loses nothing."""
    import services.dispatch.service
    import services.intake.service
    import services.tracking.service  # noqa: F401  (their aggregates, for the walk below)

    settings = Settings(data_dir=tmp_path)
    secrets = load_secrets(settings)
    for name in ("intake", "dispatch", "tracking"):
        service = build_service(name, settings, secrets)
        published = service.published
        assert published, name
        classes = domain_events(f"services.{name}.")
        kept = [c for c in classes if c.__qualname__ not in published]
        assert kept, name  # each keeps some to itself (number sequences, indexes)
        for cls in kept:
            assert service.translate(object.__new__(cls)) is None, cls.__qualname__
        assert {c.__qualname__ for c in classes} >= published, name
