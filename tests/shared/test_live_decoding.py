"""The live outboxes (relays, in-process followers) read as a rebuild does (ADR 48): events no
translator publishes are skipped by their topic, undecoded; the rest are decoded by
``FastMapper``, and an event stored at an older class version still goes through the
library's upcasters. What makes the skip and the fast decoding safe is proven for every
event class in ``test_bulk_decoding.py``; this proves the running service reads that way."""

from __future__ import annotations

import dataclasses
import json

from eventsourcing.persistence import Notification

from services.app import create_app
from shared.contracts.dispatch import CaseAttachmentWithdrawnFromPublic, CaseOpened
from shared.platform.messaging.decoding import FastMapper
from shared.platform.settings import Settings
from tests.dispatch.test_domain import LIAISON, MONDAY, OFFICE, in_progress
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for


def withdrawal_stored_as_version_1(mapper: object, position: int) -> Notification:
    """A case's 撤回公开 as stored before reasons were asked (class version 1)."""
    case = in_progress()
    photo = {"digest": "ab" * 32, "media_type": "image/jpeg", "size": 10, "purpose": "result"}
    case.attach(**photo, now=MONDAY, actor=LIAISON)
    case.approve_for_public(digest=photo["digest"], now=MONDAY, actor=OFFICE)
    case.withdraw_from_public(digest=photo["digest"], reason="画面有人脸", now=MONDAY, actor=OFFICE)
    stored = mapper.to_stored_event(case.collect_events()[-1])  # type: ignore[attr-defined]
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2 and state.pop("reason") == "画面有人脸"
    fields = dataclasses.asdict(stored) | {"state": json.dumps(state).encode()}
    return Notification(id=position, **fields)


def test_the_live_outbox_skips_unpublished_events_undecoded_and_upcasts_old_versions(
    settings: Settings,
) -> None:
    app = create_app(settings)
    with ServerThread(app) as server, Api(server.url, settings) as api:
        answer = api.register().json()
        outbox = app.state.runtime.backbone.outboxes["dispatch"]
        assert isinstance(outbox.fast, FastMapper)

        def read() -> list:
            envelopes, _ = outbox.read(0)
            return [e for e in envelopes if isinstance(e.event, CaseOpened)]

        opened = wait_for(read, 30, "dispatch to open the case")
        assert [str(e.event.case_id) for e in opened] == [answer["case_id"]]
        assert outbox.fast.fallbacks == 0

        notifications = outbox.app.recorder.select_notifications(start=1, limit=100)
        issued = next(n for n in notifications if n.topic.endswith("CaseNumber.Issued"))
        garbled = dataclasses.replace(issued, state=b"not an event at all")
        assert outbox.envelope(garbled) is None  # skipped by its topic: never decoded

        old = withdrawal_stored_as_version_1(outbox.app.mapper, notifications[-1].id + 1)
        envelope = outbox.envelope(old)
        assert outbox.fast.fallbacks == 1  # the library's path, and its upcaster
        assert isinstance(envelope.event, CaseAttachmentWithdrawnFromPublic)
        assert envelope.event.reason is None and envelope.position == old.id
