"""The worst bug this product can have is a leaked reporter identity. Register a named tip,
let it flow through every service, then look everywhere it could have leaked: database
files and tables, NATS streams, service logs, every answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg
import pytest

from tests.support.api import Api
from tests.support.deployment import Deployment
from tests.support.infra import wait_for

NAME, PHONE, ID_NUMBER, EMAIL = (
    "欧阳举报人",
    "13987654321",
    "42010619900307123X",
    "whistle@example.cn",
)
SECRETS = [NAME, PHONE, ID_NUMBER, EMAIL]
TIP = {
    "channel": "hotline_12388",
    "content": "某局科长违规收受购物卡",
    "summary": "收受购物卡",
    "reporter": {
        "anonymous": False,
        "name": NAME,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "email": EMAIL,
    },
}


def leaks(text: str) -> list[str]:
    """Each secret found in clear, also as JSON escapes (\\uXXXX) would write it."""
    escaped = {s: json.dumps(s)[1:-1] for s in SECRETS}
    return [s for s in SECRETS if s in text or escaped[s] in text]


def test_nothing_stored_or_logged_embedded_shows_the_identity(api: Api, tmp_path: Path) -> None:
    r = api.post("/api/v1/tips", json=TIP, headers=api.auth("operator"))
    assert r.status_code == 201
    case_id = r.json()["case_id"]
    wait_for(
        lambda: api.get("/api/v1/ledger", headers=api.auth("office")).json()["items"],
        30,
        "the ledger",
    )
    for role in ("operator", "office", "supervisor", "admin"):
        for path in (f"/api/v1/tips/{case_id}", "/api/v1/ledger", f"/api/v1/cases/{case_id}"):
            answer = api.get(path, headers=api.auth(role, "话务员甲", unit="WC-JYQ"))
            assert leaks(answer.text) == [], (role, path)
    number = r.json()["number"]
    for path in ("requests.json", "requests.xml", f"requests/{number}.xml"):  # public: Open311
        assert leaks(api.get(f"/open311/v2/{path}").text) == [], path
    if api.settings.database_url is None:
        for db in api.settings.data_dir.glob("*.sqlite*"):
            assert leaks(db.read_bytes().decode("utf-8", "replace")) == [], db.name
    else:
        assert leaks(dump_schema(api.settings.database_url, api.settings.database_schema)) == []


@pytest.mark.postgres
@pytest.mark.nats
def test_nothing_in_postgres_nats_or_logs_shows_the_identity(
    deployment: Deployment, pg_url: str, pg_schema: str
) -> None:
    import httpx

    intake = deployment.start("intake")
    deployment.start("dispatch")
    tracking = deployment.start("tracking")
    r = httpx.post(f"{intake.url}/api/v1/tips", json=TIP, headers=deployment.auth("operator"))
    assert r.status_code == 201
    view = httpx.post(
        f"{intake.url}/api/v1/tips/{r.json()['case_id']}/reporter-views",
        json={"reason": "核实举报内容"},
        headers=deployment.auth("office"),
    )
    assert view.json()["name"] == NAME  # the one audited way to see it
    wait_for(
        lambda: httpx.get(
            f"{tracking.url}/api/v1/ledger", headers=deployment.auth("office")
        ).json()["items"],
        60,
        "the ledger",
    )
    assert leaks(dump_schema(pg_url, pg_schema)) == []
    assert leaks(asyncio.run(dump_streams(deployment))) == []
    assert leaks(deployment.logs()) == []


def dump_schema(url: str, schema: str) -> str:
    """Every value of every row of every table in the schema, as text (bytes decoded)."""
    out = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        assert len(tables) >= 5
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                out += [_text(value) for value in row]
    return "\n".join(out)


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def test_the_scanner_would_see_a_leak(pg_url: str, pg_schema: str) -> None:
    """Positive control: planted in a bytea column and in JSON escapes, the secrets are found."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        for i in range(5):
            conn.execute(f'CREATE TABLE "{pg_schema}".t{i} (b bytea, j text)')
        conn.execute(
            f'INSERT INTO "{pg_schema}".t0 VALUES (%s, %s)',
            (json.dumps({"n": NAME}, ensure_ascii=False).encode(), json.dumps({"p": ID_NUMBER})),
        )
    assert sorted(leaks(dump_schema(pg_url, pg_schema))) == sorted([NAME, ID_NUMBER])


async def dump_streams(deployment: Deployment) -> str:
    import nats

    nc = await nats.connect(deployment.nats_url)
    out = []
    try:
        js = nc.jetstream()
        for source in ("intake", "dispatch", "tracking"):
            stream = f"{deployment.namespace}_{source}".upper()
            try:
                info = await js.stream_info(stream)
            except Exception:
                continue
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(stream, seq)
                out.append((message.data or b"").decode())
        assert out, "no messages found in any stream"
    finally:
        await nc.close()
    return "\n".join(out)
