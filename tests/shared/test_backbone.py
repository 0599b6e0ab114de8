"""The event backbone: services as separate processes on PostgreSQL + NATS JetStream, and all
in one process on the embedded default — each tip reaches the next services exactly once."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.api import Api, stored_notifications
from tests.support.deployment import Deployment, delete_consumer, ledger
from tests.support.infra import NatsProcess, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsProcess]:
    """A nats-server ≥ 2.12.3 of this test's own, which the test may stop and start."""
    server = NatsProcess(store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.store_dir, ignore_errors=True)


def post_tips(url: str, headers: dict[str, str], count: int, prefix: str) -> list[dict]:
    """Register ``count`` tips from 16 concurrent callers (one shared connection pool: building
    a client per request costs more than the server's work)."""
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:

        def post(i: int) -> dict:
            body = {
                "channel": "hotline_12388",
                "content": f"测试线索 {i}",
                "external_ref": f"{prefix}-{i}",
            }
            r = client.post("/api/v1/tips", json=body)
            assert r.status_code == 201, r.text
            return r.json()

        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(post, range(count)))


def opened_cases(deployment: Deployment) -> Counter:
    return Counter(
        n.originator_id
        for n in stored_notifications(deployment.settings, "dispatch")
        if n.topic.endswith("Case.Opened")
    )


def wait_until_opened(deployment: Deployment, case_ids: set, timeout: float = 90) -> Counter:
    def all_opened() -> Counter | None:
        opened = opened_cases(deployment)
        return opened if case_ids <= set(opened) else None

    try:
        return wait_for(all_opened, timeout, "dispatch to open every case", interval=0.3)
    except AssertionError:
        print(deployment.logs())
        raise


def wait_until_ledger(deployment: Deployment, url: str, count: int, timeout: float = 90) -> list:
    try:
        return wait_for(
            lambda: (rows := ledger(deployment, url)) and len(rows) >= count and rows,
            timeout,
            f"{count} ledger rows",
            interval=0.3,
        )
    except AssertionError:
        print(deployment.logs())
        raise


def test_a_tip_reaches_dispatch_and_the_ledger_once_across_processes(
    deployment: Deployment,
) -> None:
    intake = deployment.start("intake")
    deployment.start("dispatch")
    tracking = deployment.start("tracking")
    answer = post_tips(intake.url, deployment.auth("operator"), 1, "sep")[0]

    opened = wait_until_opened(deployment, {_uuid(answer["case_id"])})
    rows = wait_until_ledger(deployment, tracking.url, 1)
    wait_for(lambda: ledger(deployment, tracking.url)[0]["status"] == "registered", 30, "status")
    assert opened == Counter({_uuid(answer["case_id"]): 1})
    assert [r["number"] for r in rows] == [answer["number"]]
    ready = httpx.get(f"{intake.url}/readyz").json()
    assert ready["checks"]["nats"] == "ok"


def test_a_tip_reaches_dispatch_and_the_ledger_once_in_one_embedded_process(api: Api) -> None:
    answer = api.register().json()
    # Dispatch's CaseOpened may reach the ledger before intake's TipRegistered (ADR 5): wait
    # for the row to carry intake's fields too.
    rows = wait_for(
        lambda: [
            r
            for r in api.get("/api/v1/ledger", headers=api.auth("office")).json()["items"]
            if r["number"]
        ],
        30,
        "ledger row",
    )
    assert [r["number"] for r in rows] == [answer["number"]]
    opened = [
        n.originator_id
        for n in stored_notifications(api.settings, "dispatch")
        if n.topic.endswith("Case.Opened")
    ]
    assert [str(c) for c in opened] == [answer["case_id"]]


# In CI: tests/faults/test_faults.py::test_nats_killed_and_restarted_then_stopped_for_a_while
@pytest.mark.soak
def test_intake_accepts_tips_while_nats_is_down_and_they_flow_on_when_it_returns(
    pg_url: str, pg_schema: str, own_nats: NatsProcess, tmp_path: Path
) -> None:
    deployment = Deployment(pg_url, pg_schema, own_nats.url, tmp_path / "data")
    try:
        intake = deployment.start("intake")
        deployment.start("dispatch")
        tracking = deployment.start("tracking")
        first = post_tips(intake.url, deployment.auth("operator"), 5, "before")
        wait_until_opened(deployment, {_uuid(a["case_id"]) for a in first})

        own_nats.stop()
        during = post_tips(intake.url, deployment.auth("operator"), 20, "during")
        degraded = httpx.get(f"{intake.url}/readyz")
        assert degraded.json()["checks"]["nats"] == "unavailable"
        assert degraded.status_code == 200  # intake keeps taking tips

        own_nats.start()
        ids = {_uuid(a["case_id"]) for a in first + during}
        opened = wait_until_opened(deployment, ids, timeout=120)
        assert set(opened.values()) == {1}
        rows = wait_until_ledger(deployment, tracking.url, 25, timeout=120)
        assert len(rows) == 25
    finally:
        deployment.close()


# In CI: tests/faults/test_faults.py::test_each_service_killed_with_sigkill_in_turn_and_restarted
# and ::test_consumers_crashing_after_commit_before_ack
@pytest.mark.soak
def test_a_consumer_killed_mid_batch_applies_each_event_once_after_restart(
    deployment: Deployment,
) -> None:
    intake = deployment.start("intake")
    tracking = deployment.start("tracking")
    answers = post_tips(intake.url, deployment.auth("operator"), 300, "kill")
    dispatch = deployment.start("dispatch")
    wait_for(lambda: len(opened_cases(deployment)) >= 30, 60, "dispatch to be mid-way")
    dispatch.kill()
    assert len(opened_cases(deployment)) < 300
    deployment.start("dispatch")

    opened = wait_until_opened(deployment, {_uuid(a["case_id"]) for a in answers}, timeout=120)
    assert len(opened) == 300
    assert set(opened.values()) == {1}
    rows = wait_until_ledger(deployment, tracking.url, 300, timeout=120)
    assert len({r["case_id"] for r in rows}) == 300


# In CI: tests/faults/test_faults.py::test_every_consumer_replayed_from_the_start (verify
# compares the replayed ledger with the stores) and tests/system/test_rebuild.py
@pytest.mark.soak
def test_replaying_the_whole_stream_to_a_fresh_consumer_yields_the_same_state(
    deployment: Deployment, pg_url: str, pg_schema: str
) -> None:
    intake = deployment.start("intake")
    deployment.start("dispatch")
    tracking = deployment.start("tracking")
    answers = post_tips(intake.url, deployment.auth("operator"), 40, "replay")
    wait_until_opened(deployment, {_uuid(a["case_id"]) for a in answers})
    wait_for(lambda: _consumer_caught_up(deployment), 60, "the ledger to consume everything")
    before = sorted(
        wait_for(
            lambda: (
                (rows := ledger(deployment, tracking.url))
                and all(r["status"] == "registered" for r in rows)
                and all(r["required_feedback"] for r in rows)  # tracking's events too
                and len(rows) == 40
                and rows
            ),
            60,
            "ledger complete",
        ),
        key=lambda r: r["number"],
    )
    tracking.stop()

    # Same read tables, consumers replayed from the start: every message is a duplicate.
    for source in ("intake", "dispatch", "tracking"):
        asyncio.run(
            delete_consumer(deployment.nats_url, deployment.namespace, source, f"ledger__{source}")
        )
    tracking = deployment.start("tracking")
    wait_for(lambda: _consumer_caught_up(deployment), 60, "replay to finish")
    assert sorted(ledger(deployment, tracking.url), key=lambda r: r["number"]) == before
    tracking.stop()

    # Fresh read tables and fresh consumers: the stream alone rebuilds the same ledger.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = ("ledger", "case_units", "case_history", "units", "calendar_years")
        fresh = ", ".join(f'"{pg_schema}".{t}' for t in (*tables, "projection_streams"))
        conn.execute(f"TRUNCATE {fresh}")
        conn.execute(
            f'DELETE FROM "{pg_schema}".projection_positions WHERE consumer = %s', ("ledger",)
        )
    for source in ("intake", "dispatch", "tracking"):
        asyncio.run(
            delete_consumer(deployment.nats_url, deployment.namespace, source, f"ledger__{source}")
        )
    tracking = deployment.start("tracking")
    rebuilt = wait_until_ledger(deployment, tracking.url, 40)
    wait_for(
        lambda: all(
            r["status"] == "registered" and r["required_feedback"]
            for r in ledger(deployment, tracking.url)
        ),
        60,
        "rebuilt statuses",
    )
    # Every source applied, not only dispatch's and tracking's (the statuses above): the
    # three consumers run at once, and intake's may be the one a deadlock held back.
    wait_for(lambda: _consumer_caught_up(deployment), 60, "the rebuild to finish")
    rebuilt = sorted(ledger(deployment, tracking.url), key=lambda r: r["number"])
    assert _without_times(rebuilt) == _without_times(before)
    assert opened_cases(deployment) == Counter({_uuid(a["case_id"]): 1 for a in answers})


def _consumer_caught_up(deployment: Deployment) -> bool:
    async def pending() -> int | None:
        import nats
        from nats.js.errors import NotFoundError

        nc = await nats.connect(deployment.nats_url)
        try:
            js = nc.jetstream()
            total = 0
            for source in ("intake", "dispatch", "tracking"):
                stream = f"{deployment.namespace}_{source}".upper()
                try:
                    info = await js.consumer_info(stream, f"ledger__{source}")
                except NotFoundError:
                    return None  # not subscribed yet
                total += info.num_pending + info.num_ack_pending
            return total
        finally:
            await nc.close()

    return asyncio.run(pending()) == 0


def _without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def _uuid(value: str):  # type: ignore[no-untyped-def]
    import uuid

    return uuid.UUID(value)


# Enough tips to span several fetch batches shared by two replicas; 150 rather than 200
# keeps the module inside the suite's time budget.
TIPS = 150


# In CI: every scenario of tests/faults runs two replicas of dispatch and tracking and
# verifies 0 duplicated; tests/dispatch/test_reminders.py's two schedulers
@pytest.mark.soak
def test_two_replicas_of_each_consumer_share_the_work_without_double_effects(
    deployment: Deployment,
) -> None:
    intake = deployment.start("intake")
    trackings = [deployment.start("tracking"), deployment.start("tracking")]
    answers = post_tips(intake.url, deployment.auth("operator"), TIPS, "replicas")
    deployment.start("dispatch")
    deployment.start("dispatch")

    opened = wait_until_opened(deployment, {_uuid(a["case_id"]) for a in answers}, timeout=120)
    assert len(opened) == TIPS
    assert set(opened.values()) == {1}
    rows = wait_until_ledger(deployment, trackings[1].url, TIPS, timeout=120)
    wait_for(
        lambda: all(r["status"] == "registered" for r in ledger(deployment, trackings[0].url)),
        60,
        "every case opened in the ledger",
    )
    assert sorted(r["number"] for r in rows) == sorted(a["number"] for a in answers)


# In CI: tests/faults/test_faults.py::test_intakes_relay_apart_killed_then_its_standby_crashing_
# after_publishing, and tests/system/test_deploy.py's stack runs intake's relay apart
@pytest.mark.soak
def test_intakes_relay_apart_one_active_of_two_hands_over_on_kill_9_and_each_tip_arrives_once(
    deployment: Deployment,
) -> None:
    """TAIZHANG_RELAY=apart (ADR 48): intake serves without a relay; two `taizhang relay run
    intake` processes elect one active by the advisory lock; kill -9 of the active one hands
    the outbox to the other, and every case is opened exactly once."""
    intake = deployment.start("intake", TAIZHANG_RELAY="apart")
    relays = [deployment.start_relay("intake"), deployment.start_relay("intake")]
    deployment.start("dispatch")
    headers = deployment.auth("operator")
    first = post_tips(intake.url, headers, 10, "apart-a")
    wait_until_opened(deployment, {_uuid(a["case_id"]) for a in first})
    leaders = [r for r in relays if "leadership_acquired" in r.log()]
    assert len(leaders) == 1

    leaders[0].kill()
    second = post_tips(intake.url, headers, 10, "apart-b")
    opened = wait_until_opened(deployment, {_uuid(a["case_id"]) for a in [*first, *second]})
    assert len(opened) == 20 and set(opened.values()) == {1}
    standby = next(r for r in relays if r is not leaders[0])
    assert "leadership_acquired" in standby.log()
    assert "relay:intake" not in httpx.get(f"{intake.url}/healthz/delivery").json()["parts"]
    parts = httpx.get(f"{standby.url}/healthz/delivery").json()["parts"]
    assert parts["relay:intake"]["status"] == "ok"
