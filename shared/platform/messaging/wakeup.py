"""A relay apart from its service (ADR 48) woken by the store's own ``NOTIFY``.

Inline, a save in the same process wakes the relay. Apart, nothing in its process saves; the
library's PostgreSQL recorder (and ours, ``recorders.py``) already sends ``NOTIFY <events
table>`` in every save's transaction, so the relay ``LISTEN``s on that channel: a commit
wakes it as promptly as inline, at no cost to the writer. The relay's poll stays as the
floor: a lost listening connection delays events by the poll, never loses them.
"""

from __future__ import annotations

import asyncio

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

from shared.platform.settings import Settings, postgres_params

log = structlog.get_logger(__name__)

RETRY_SECONDS = 2.0


async def listen_for_saves(settings: Settings, channel: str, news: asyncio.Event) -> None:
    """Set ``news`` on every notification of ``channel`` until cancelled."""
    assert settings.database_url is not None
    params = postgres_params(settings.database_url)
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                host=params.host,
                port=params.port,
                dbname=params.dbname,
                user=params.user,
                password=params.password or None,
                autocommit=True,
                connect_timeout=5,
            )
            async with conn:
                await conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
                news.set()  # whatever was saved while nobody listened
                async for _ in conn.notifies():
                    news.set()
        except psycopg.Error as e:
            log.warning("outbox_listen_failed", channel=channel, error=repr(e))
        await asyncio.sleep(RETRY_SECONDS)
