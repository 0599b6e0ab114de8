"""A misconfigured broker is loud without refusing tips (issue 17, point 2): with a NATS URL
nothing answers at, intake still takes tips and ``/readyz`` stays ready, but its body and
``/healthz/delivery`` say delivery is degraded once the grace is over, and the log names
the URL once instead of a traceback per reconnect attempt."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.deployment import Deployment
from tests.support.infra import free_port, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def test_an_unreachable_nats_url_is_reported_degraded_named_once_and_tips_are_taken(
    deployment: Deployment,
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    intake = deployment.start(
        "intake", TAIZHANG_NATS_URL=nowhere, TAIZHANG_DELIVERY_GRACE_SECONDS="1"
    )
    tip = {"channel": "hotline_12388", "content": "投递降级期间的来电", "external_ref": "nowhere-1"}
    accepted = httpx.post(
        f"{intake.url}/api/v1/tips", json=tip, headers=deployment.auth("operator"), timeout=30
    )
    delivery = wait_for(
        lambda: (
            (d := httpx.get(f"{intake.url}/healthz/delivery").json())["status"] == "degraded" and d
        ),
        30,
        "delivery to be reported degraded",
        interval=0.2,
    )
    time.sleep(3)  # several reconnect attempts: the log must not grow with each
    readiness = httpx.get(f"{intake.url}/readyz")
    log = intake.log()

    assert accepted.status_code == 201, accepted.text  # the tip waits in the outbox
    assert readiness.status_code == 200
    assert readiness.json()["checks"]["nats"] == "unavailable"
    assert readiness.json()["delivery"]["status"] == "degraded"
    assert delivery["url"] == nowhere
    assert delivery["degraded"] == ["nats"]
    assert log.count(nowhere) == 1  # named once
    assert "Traceback" not in log
