"""One active relay per service among replicas: a PostgreSQL session advisory lock.

Standby replicas poll for the lock; if the leader's session dies, its lock is released and
another replica takes over. Two relays for a moment is harmless (message ids de-duplicate)."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Protocol

import psycopg
import structlog

from shared.platform.settings import Settings, postgres_params

log = structlog.get_logger(__name__)


class Leadership(Protocol):
    """Who among replicas is the active relay."""

    async def __call__(self) -> None:
        """Return once this process leads."""

    async def held(self) -> bool:
        """Whether it still does."""


class PostgresLeadership:
    def __init__(self, settings: Settings, name: str) -> None:
        assert settings.database_url is not None
        self.params = postgres_params(settings.database_url)
        # Per schema: deployments sharing one database (tests, benchmarks) lead separately.
        self.key = zlib.crc32(f"taizhang:{settings.database_schema}:{name}".encode())
        self.name = name
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def __call__(self) -> None:
        """Return once this process holds the lock."""
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    host=self.params.host,
                    port=self.params.port,
                    dbname=self.params.dbname,
                    user=self.params.user,
                    password=self.params.password or None,
                    autocommit=True,
                    connect_timeout=5,
                )
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                row = await cursor.fetchone()
                if row and row[0]:
                    self._conn = conn
                    log.info("leadership_acquired", name=self.name)
                    return
                await conn.close()
            except psycopg.Error as e:
                log.warning("leadership_unavailable", name=self.name, error=repr(e))
            await asyncio.sleep(2.0)

    async def held(self) -> bool:
        """Whether this process still leads: a database restart ends the session, and with
        it the lock, which a standby then takes — the old leader must notice and step back,
        or two relays race each other for good."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            await self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            log.warning("leadership_lost", name=self.name)
            await self.release()
            return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None
