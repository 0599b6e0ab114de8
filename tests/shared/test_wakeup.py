"""A relay apart from its service is woken by the store's ``NOTIFY`` (ADR 48): every save's
transaction sends one on the events table's channel; the relay listens on it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from shared.platform.messaging.wakeup import listen_for_saves
from shared.platform.settings import Settings

pytestmark = pytest.mark.postgres


def test_a_notify_on_the_events_channel_wakes_the_relay(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=pg_url)
    channel = f"tz_wakeup_{uuid.uuid4().hex[:8]}"

    async def scenario() -> bool:
        news = asyncio.Event()
        listening = asyncio.create_task(listen_for_saves(settings, channel, news))
        try:
            await asyncio.wait_for(news.wait(), 30)  # listening: set once at the start
            news.clear()
            async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
                await conn.execute(SQL("NOTIFY {0}").format(Identifier(channel)))
            await asyncio.wait_for(news.wait(), 30)
            return news.is_set()
        finally:
            listening.cancel()

    assert asyncio.run(scenario())
