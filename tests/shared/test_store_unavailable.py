"""A database that refuses a connection for want of slots answers 503 with Retry-After, not
500: asyncpg's "too many clients" reaches the app as SQLAlchemy's plain ``DBAPIError``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from shared.web.http import install_infrastructure_handlers
from shared.web.problems import install_problem_handlers


@pytest.fixture
def role_without_slots(pg_url: str) -> Iterator[str]:
    """A login role the server lets hold no connection: it refuses with SQLSTATE 53300 (too
    many connections), as a server whose every slot is taken does."""
    role = f"tz_noslot_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        yield role
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _app(url: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_infrastructure_handlers(app)

    @app.get("/count")
    async def count() -> int:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())
        finally:
            await engine.dispose()

    @app.get("/broken")
    async def broken() -> int:  # a driver error that is the code's fault stays a 500
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(sa.text("SELECT no_such_column"))).scalar_one())
        finally:
            await engine.dispose()

    return app


@pytest.mark.postgres
def test_a_server_out_of_connection_slots_is_a_503_in_chinese(
    pg_url: str, role_without_slots: str
) -> None:
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    url = (
        f"postgresql+asyncpg://{role_without_slots}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info.get('dbname', 'test')}"
    )
    with TestClient(_app(url), raise_server_exceptions=False) as client:
        answer = client.get("/count")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"]
        assert "数据库暂不可用" in answer.json()["detail"]
        assert answer.json()["code"]


@pytest.mark.postgres
def test_a_driver_error_that_is_no_outage_stays_a_500(pg_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    url = (
        f"postgresql+asyncpg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info.get('dbname', 'test')}"
    )
    with TestClient(_app(url), raise_server_exceptions=False) as client:
        assert client.get("/broken").status_code == 500
