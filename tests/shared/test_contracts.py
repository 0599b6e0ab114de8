"""Integration events: the wire format, and how a contract evolves without editing a release."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts import Envelope, UnknownContract, decode
from shared.contracts.base import _CONTRACTS, Contract, contract, upcaster
from shared.contracts.intake import TipRegistered
from tests.support.pinned import NOW


def _envelope(event: Contract) -> Envelope:
    return Envelope(
        source="intake",
        position=42,
        stream_id=uuid.uuid4(),
        stream_version=1,
        occurred_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        actor={"id": "op-1", "name": "话务员甲", "role": "operator", "unit": None},
        event=event,
    )


def test_an_envelope_survives_the_wire_unchanged() -> None:
    tip = TipRegistered(
        case_id=uuid.uuid4(),
        number="2026-000042",
        channel="media",
        content="曝光",
        summary=None,
        category="乱收费",
        external_ref=None,
        occurred_at=None,
        location={"district": "武昌区"},
        subject=None,
        named=False,
        receipt_digest="ab" * 32,
        registered_at=NOW,
    )
    sent = _envelope(tip)
    received = decode(sent.encode())
    assert received == sent
    assert received.message_id == "intake:42"
    assert "武昌区".encode() in sent.encode()  # UTF-8, not \\u escapes


def test_an_unknown_type_is_reported_not_guessed() -> None:
    payload = _envelope(TipRegistered.model_construct()).encode().replace(b"TipRegistered", b"Nope")
    with pytest.raises(UnknownContract):
        decode(payload)


def test_a_new_version_upcasts_what_was_stored_under_the_old_one() -> None:
    """v1 is released and never edited; v2 renames a field and adds one, with an upcaster."""

    @contract
    class ExampleNoted(Contract):
        type = "ExampleNoted"
        version = 1
        text: str

    old_message = _envelope(ExampleNoted(text="旧的")).encode()

    @contract
    class ExampleNotedV2(Contract):
        type = "ExampleNoted"
        version = 2
        note: str
        urgent: bool

    @upcaster("ExampleNoted", from_version=1)
    def _v1_to_v2(data: dict) -> dict:
        return {"note": data["text"], "urgent": False}

    try:
        received = decode(old_message)
        assert received.event == ExampleNotedV2(note="旧的", urgent=False)
        with pytest.raises(ValueError, match="does not supersede"):
            contract(ExampleNoted)  # re-registering the old version is refused
    finally:
        _CONTRACTS.pop("ExampleNoted", None)
