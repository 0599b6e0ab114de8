"""A service start waits a while for its database to take a connection (a loaded server once
took over the connect timeout, and the start failed), and fails when it never does."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from shared.platform.readmodel import reachable


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


async def test_a_database_that_never_answers_fails_the_start_after_the_patience() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test"
    engine = create_async_engine(url, connect_args={"timeout": 1})
    try:
        with capture_logs() as logs, pytest.raises(ConnectionRefusedError):
            await reachable(engine, patience=0.6)
        # asked again until the patience ran out (0.5 s, then 0.75 s: two waits)
        assert [e["event"] for e in logs] == ["database_not_reachable_yet"] * 2
    finally:
        await engine.dispose()


async def test_a_database_that_answers_is_reached_at_once(tmp_path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await reachable(engine, patience=0)
    finally:
        await engine.dispose()
