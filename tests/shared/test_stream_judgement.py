"""How a relay judges its stream from stream info and publish acks (ADR 17): the stream
holds what was recorded, is behind (lost messages), or is another stream altogether."""

from __future__ import annotations

from nats.js.api import PubAck

from shared.platform.messaging.streams import (
    Seen,
    StreamRecord,
    Verdict,
    judge,
    kept_through,
    position_in,
)

CREATED = "2026-12-06T10:00:00.123456+00:00"
SERVER = "cluster=- domain=-"
RECORD = StreamRecord(
    "intake", "TZ_INTAKE", CREATED, SERVER, position=120, first_seq=1, last_seq=100
)


def seen(first: int = 1, last: int = 100, created: str = CREATED, deleted: int = 0) -> Seen:
    return Seen(created, SERVER, first, last, deleted)


def ack(seq: int, duplicate: bool = False, stream: str = "TZ_INTAKE") -> PubAck:
    return PubAck(stream=stream, seq=seq, duplicate=duplicate or None)


def test_the_same_stream_grown_by_the_batch_holds() -> None:
    acks = [ack(101), ack(102)]
    assert judge(RECORD, seen(last=102), acks) == (Verdict.HOLDS, "")


def test_a_batch_sent_again_inside_the_window_holds() -> None:
    """A relay that crashed before recording re-sends; JetStream answers duplicates."""
    assert judge(RECORD, seen(last=102), [ack(101, True), ack(102, True)])[0] is Verdict.HOLDS


def test_a_stream_created_at_another_moment_is_a_stranger() -> None:
    verdict, why = judge(RECORD, seen(created="2026-12-06T11:00:00+00:00"))
    assert verdict is Verdict.STRANGER
    assert "recorded 2026-12-06T10:00:00.123456" in why


def test_another_cluster_or_domain_is_a_stranger() -> None:
    other = Seen(CREATED, "cluster=east domain=-", 1, 100, 0)
    assert judge(RECORD, other)[0] is Verdict.STRANGER


def test_a_purged_stream_is_behind_although_its_sequence_goes_on() -> None:
    """After a purge the next message still gets the next sequence: only the first
    sequence tells that the messages are gone."""
    assert judge(RECORD, seen(first=101, last=100))[0] is Verdict.BEHIND
    assert judge(RECORD, seen(first=101, last=101), [ack(101)])[0] is Verdict.BEHIND


def test_a_lost_tail_is_behind_even_when_new_messages_made_the_stream_longer() -> None:
    """A stream restored from an older copy, then fed: its last sequence may exceed the
    recorded one, but the batch's first sequence went back."""
    assert judge(RECORD, seen(last=80))[0] is Verdict.BEHIND
    acks = [ack(81 + n) for n in range(30)]
    assert judge(RECORD, seen(last=110), acks)[0] is Verdict.BEHIND


def test_a_duplicate_of_a_purged_message_is_behind() -> None:
    """JetStream keeps de-duplication entries of purged messages: such a duplicate is not
    in the stream."""
    record = StreamRecord("intake", "TZ_INTAKE", CREATED, SERVER, 120, first_seq=101, last_seq=100)
    assert judge(record, seen(first=101, last=100), [ack(7, True)])[0] is Verdict.BEHIND


def test_deleted_messages_are_behind() -> None:
    assert judge(RECORD, seen(deleted=1))[0] is Verdict.BEHIND


def test_a_refill_anchored_after_a_purge_holds_from_there() -> None:
    """After the repair the claim starts after what the stream holds; a refill under a
    new generation of ids lands there and holds."""
    repaired = RECORD.anchored(seen(first=101, last=100), position=0, generation=1)
    assert (repaired.first_seq, repaired.last_seq, repaired.position) == (101, 100, 0)
    assert repaired.message_id("intake:5") == "intake:5#g1"
    assert judge(repaired, seen(first=101, last=103), [ack(101), ack(102), ack(103)])[0] is (
        Verdict.HOLDS
    )


def test_the_first_generation_keeps_the_plain_message_id() -> None:
    assert RECORD.message_id("intake:5") == "intake:5"


def test_a_lost_tail_is_refilled_from_the_last_message_still_held() -> None:
    """A copy restored from before the last 20 messages: everything up to sequence 80 is
    still there, so the refill starts after the position of that message, not at 0."""
    assert kept_through(RECORD, seen(last=80)) == 80
    # found only by the batch: the stream was restored, then fed, before the relay looked
    acks = [ack(81 + n) for n in range(30)]
    assert kept_through(RECORD, seen(last=110), acks) == 80


def test_messages_lost_elsewhere_are_refilled_from_the_start() -> None:
    assert kept_through(RECORD, seen(first=101, last=100)) is None  # purged at the front
    assert kept_through(RECORD, seen(deleted=1)) is None  # deleted somewhere in between
    assert kept_through(RECORD, seen(last=0)) is None  # nothing left
    # a duplicate of a purged message: the tail is whole, the loss is not at the tail
    assert kept_through(RECORD, seen(last=100), [ack(7, True)]) is None


def test_the_position_a_message_id_names() -> None:
    assert position_in("intake:4711", "intake") == 4711
    assert position_in("intake:4711#g3", "intake") == 4711  # a refill's generation
    assert position_in("dispatch:4711", "intake") is None  # not this relay's
    assert position_in("", "intake") is None and position_in("intake:x", "intake") is None
