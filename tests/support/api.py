"""A small HTTP client for tests that can speak as any role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.infra import wait_for

# A test's evaluator credential names a kind (ADR 20): a deputy, unless the test says otherwise.
EVALUATOR_KIND = {"evaluator": "npc_deputy"}


class Api(httpx.Client):
    def __init__(self, base_url: str, settings: Settings) -> None:
        super().__init__(base_url=base_url, timeout=60)
        self.settings = settings
        self.secrets = load_secrets(settings)

    def auth(
        self, role: str, name: str = "测试用户", unit: str | None = None, kind: str | None = None
    ) -> dict[str, str]:
        kind = kind or EVALUATOR_KIND.get(role)
        token = issue_token(self.secrets, role=Role(role), name=name, unit=unit, kind=kind)
        return {"Authorization": f"Bearer {token}"}

    def register(
        self, role: str = "operator", name: str = "话务员甲", **tip: Any
    ) -> httpx.Response:
        body = {"channel": "hotline_12388", "content": "某街道办事处违规收取办证费用"} | tip
        return self.post("/api/v1/tips", json=body, headers=self.auth(role, name))


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def feedback_taken(send: Callable[[], httpx.Response], timeout: float = 60) -> httpx.Response:
    """Send a pass's first feedback until tracking's follow-up takes it (201).

    The ledger and the follow-up wing consume dispatch's events apart: the ledger can show
    待反馈 before the follow-up has opened the case (404, nothing recorded) or has the accepted
    result (409 ``result_not_accepted``). Only those two are waited out; any other answer fails
    here with its body."""

    def attempt() -> httpx.Response | None:
        r = send()
        early = r.status_code == 404 or (
            r.status_code == 409 and r.json().get("code") == "result_not_accepted"
        )
        return None if early else r

    answer: httpx.Response = wait_for(attempt, timeout, "the follow-up to take feedback", 0.1)
    assert answer.status_code == 201, answer.text
    return answer


def stored_notifications(settings: Settings, service: str) -> list[Any]:
    """Every event a service's store holds, in order (read straight from the store)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    from shared.platform.eventstore import application_env

    name = service.capitalize()
    # One connection is enough to read (tests poll this; a full pool each time adds up).
    one_connection = settings.model_copy(update={"db_pool_size": 1})
    env = application_env(one_connection, service) | {
        "POSTGRES_MAX_OVERFLOW": "0",
        # The library's 5 s default ended this reader's table check once on a loaded CI
        # machine (the test process stalled between two statements of one transaction).
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
    }
    factory = InfrastructureFactory.construct(Environment(name, env))
    try:
        recorder = factory.process_recorder()
        found: list[Any] = []
        start = 1
        while batch := recorder.select_notifications(start=start, limit=1000):
            found += batch
            start = batch[-1].id + 1
        return found
    finally:
        factory.close()


def count_topic(notifications: list[Any], suffix: str) -> int:
    return sum(1 for n in notifications if n.topic.endswith(suffix))
