"""The service's one NATS connection does not grow with the traffic it carries."""

from __future__ import annotations

import uuid

import pytest

from shared.platform.messaging.nats import JetStream
from tests.support.deployment import delete_streams


@pytest.mark.nats
async def test_publishing_batch_after_batch_keeps_one_reply_subscription(nats_url: str) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    stream = JetStream(nats_url, "test", namespace=namespace)
    await stream.connect_forever()
    try:
        await stream.ensure_stream("intake")
        assert stream.nc is not None
        subscriptions = []
        for batch in range(5):  # as the relay does: stream.js once per batch
            js = stream.js
            acks = [
                await js.publish_async(
                    f"{namespace}.intake.TipRegistered",
                    b"{}",
                    headers={"Nats-Msg-Id": f"intake:{batch}:{n}"},
                )
                for n in range(3)
            ]
            for ack in acks:
                assert not (await ack).duplicate
            subscriptions.append(len(stream.nc._subs))
        assert subscriptions == [subscriptions[0]] * 5  # the reply inbox, subscribed once
    finally:
        await stream.close()
        await delete_streams(nats_url, namespace)
