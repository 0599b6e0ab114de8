"""Once intake answered 201, the tip is in the ledger exactly once, whatever crashes.

Each scenario runs a steady load of tips against the suite's deployment, breaks something
mid-load, lets callers retry what failed with the same key, waits (bounded) for the ledger to
settle and then asks ``taizhang verify``: nothing lost, nothing twice, every state right;
callers who retried got their first answer back; nobody saw a 500. The notifier's scenario
holds notifications to the same promise: a message sent is never lost, and a repeat carries
the first one's id. The case walks hold the steps after registration to it too: feedback,
evaluations, a second pass and close-out while replicas are killed (issue 17 point 6)."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import uuid

import httpx
import pytest

from services.ops.verify import read_ledger
from shared.platform.faults import (
    CONSUMER_EXIT_AFTER_COMMIT,
    NOTIFY_EXIT_AFTER_SEND,
    RELAY_EXIT_AFTER_PUBLISH,
)
from tests.faults.harness import (
    ACK_WAIT_SECONDS,
    NATS_OUTAGE_SECONDS,
    TIPS,
    FaultyDeployment,
    pause_beyond,
    probe,
)
from tests.faults.walks import Walker
from tests.support.infra import wait_for
from tests.support.receivers import SmtpReceiver, WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.nats]

# The services crash here with this exit code (shared/platform/faults.py).
INJECTED_EXIT = 70


def test_each_service_killed_with_sigkill_in_turn_and_restarted(system: FaultyDeployment) -> None:
    """kill -9 intake, then one of two dispatch replicas, then one of two tracking replicas;
    the other replica of each carries on, the killed one comes back."""
    load = system.load("kill9")
    for target in (system.intake, system.replicas("dispatch")[0], system.replicas("tracking")[0]):
        load.wait_accepted(load.accepted() + TIPS // 4)
        system.kill_and_restart(target)
    figures = system.settle("kill -9 each service, one replica of two", load)
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_nats_killed_and_restarted_then_stopped_for_a_while(system: FaultyDeployment) -> None:
    load = system.load("nats")
    load.wait_accepted(TIPS // 4)
    system.nats.stop(signal.SIGKILL)  # a crash: fsync'd writes must all be there
    system.nats.start()
    load.wait_accepted(TIPS // 2)
    system.nats.stop()
    readiness = probe(system.intake, "/readyz")
    pause_beyond(NATS_OUTAGE_SECONDS)
    system.nats.start()
    assert readiness.status_code == 200  # intake keeps taking tips: they wait in the outbox
    assert readiness.json()["checks"]["nats"] == "unavailable"
    figures = system.settle(f"nats kill -9 + restart, stop {NATS_OUTAGE_SECONDS:.0f} s", load)
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_postgres_restarted_fast_under_load(system: FaultyDeployment) -> None:
    load = system.load("pg")
    load.wait_accepted(TIPS // 3)
    system.postgres.stop("fast")
    refused = httpx.post(
        f"{system.intake.url}/api/v1/tips",
        json={"channel": "mayor_hotline", "content": "数据库停机期间的来电"},
        headers=system.d.auth("operator") | {"Idempotency-Key": "while-pg-down"},
        timeout=30,
    )
    readiness = probe(system.intake, "/readyz")
    system.postgres.start()
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["intake"].startswith("unavailable")
    assert readiness.json()["checks"]["read_database"].startswith("unavailable")
    figures = system.settle("postgres fast restart", load)
    assert figures.lost == 0
    assert figures.duplicated == 0
    # Whether the load's own callers hit the short outage with a 503 or a client timeout is
    # timing; the request above proves the 503, settle() that every retry got its answer.


def test_relay_and_consumers_paused_longer_than_the_ack_wait(system: FaultyDeployment) -> None:
    """SIGSTOP intake (its relay), a dispatch and a tracking replica past the ack wait:
    their unacknowledged messages go to the other replicas, and when they wake up they
    finish the same messages again."""
    load = system.load("pause")
    load.wait_accepted(TIPS // 3)
    paused = (system.intake, system.replicas("dispatch")[0], system.replicas("tracking")[0])
    with system.paused(*paused):
        pause_beyond(ACK_WAIT_SECONDS * 2)
    figures = system.settle("SIGSTOP relay + consumers > ack wait", load)
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_every_consumer_replayed_from_the_start(system: FaultyDeployment) -> None:
    """The same JetStream messages delivered twice: every durable consumer deleted mid-load,
    so each service reads each stream again from its first message — reminders (催办) and
    supervision notices (督办) that two dispatch schedulers raced to issue, and feedback
    entries (反馈), included."""
    fed_back = system.cases_with_feedback_delivered(2)
    wait_for(lambda: system.feedback_once(fed_back), 60, "both feedback entries in the ledger")
    overdue = system.cases_past_their_deadlines(5)
    wait_for(lambda: system.announced(overdue), 60, "催办 and 督办 on every overdue case")
    load = system.load("replay")
    load.wait_accepted(TIPS // 2)
    deleted = system.delete_every_consumer()
    assert any(name.endswith("/ledger__intake") for name in deleted)
    figures = system.settle("every consumer replayed from the start", load)
    assert system.announced(overdue)  # counted once each: verify compares them with the store
    assert system.feedback_once(fed_back)
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_relay_crashing_after_publishing_before_recording_its_position(
    system: FaultyDeployment,
) -> None:
    """Restarted inside JetStream's duplicate window the re-sent batch is dropped by the
    stream; restarted after it, the batch is stored again and the consumers drop it."""
    resent_before = system.resent_by_intake()
    load = system.load("relay")
    intake = system.intake
    load.wait_accepted(TIPS // 4)
    system.restart_with(intake, TAIZHANG_FAULTS=RELAY_EXIT_AFTER_PUBLISH)
    assert system.wait_exit(intake) == INJECTED_EXIT
    intake.env = system.d.env
    intake.start()  # at once: inside the 10-minute window

    load.wait_accepted(TIPS // 2)
    short_window = {"TAIZHANG_NATS_DUPLICATE_WINDOW_SECONDS": "1"}
    system.restart_with(intake, TAIZHANG_FAULTS=RELAY_EXIT_AFTER_PUBLISH, **short_window)
    assert system.wait_exit(intake) == INJECTED_EXIT
    pause_beyond(2.0)  # past the 1-second window
    intake.env = system.d.env | short_window
    intake.start()
    figures = system.settle("relay crash after publish, in + after window", load)
    system.restart_with(intake)  # the usual window again for the scenarios after this one
    intake.wait_ready()

    assert system.resent_by_intake() > resent_before  # the stream took the batch again
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_intakes_relay_apart_killed_then_its_standby_crashing_after_publishing(
    system: FaultyDeployment,
) -> None:
    """ADR 48: intake serves without a relay; two `taizhang relay run intake`, one active by
    the advisory lock. kill -9 of the active one mid-load: the standby takes over, publishes
    a batch and dies before recording it; the first, started again, publishes it again
    inside the duplicate window and carries on."""
    intake, relays = system.intake, []
    system.restart_with(intake, TAIZHANG_RELAY="apart")
    intake.wait_ready()
    try:
        relays.append(system.d.start_relay("intake"))
        wait_for(lambda: "leadership_acquired" in relays[0].log(), 30, "the first relay to lead")
        relays.append(system.d.start_relay("intake", TAIZHANG_FAULTS=RELAY_EXIT_AFTER_PUBLISH))
        load = system.load("relay-apart")
        load.wait_accepted(TIPS // 4)
        relays[0].kill()
        assert system.wait_exit(relays[1]) == INJECTED_EXIT  # it led, published, died
        relays[0].start()
        figures = system.settle("relay apart: kill -9, standby crash after publish", load)
        assert "leadership_acquired" in relays[1].log()
    finally:
        for relay in relays:
            relay.stop()
            system.d.processes.remove(relay)
        system.restart_with(intake)  # inline again for the scenarios after this one
        intake.wait_ready()
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_consumers_crashing_after_commit_before_ack(system: FaultyDeployment) -> None:
    """A third replica of dispatch and of tracking, each dying right after its first effect
    committed and before the ack: the message comes back after the ack wait and the effect
    is found already done."""
    doomed = [
        system.d.start(service, TAIZHANG_FAULTS=CONSUMER_EXIT_AFTER_COMMIT)
        for service in ("dispatch", "tracking")
    ]
    load = system.load("ack")  # they take their share of it, and die on their first
    codes = [system.wait_exit(process) for process in doomed]
    figures = system.settle("consumer crash after commit, before ack", load)
    for process in doomed:
        system.d.processes.remove(process)
    assert codes == [INJECTED_EXIT, INJECTED_EXIT]
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_notifier_killed_after_sending_before_recording(system: FaultyDeployment) -> None:
    """A notify process dies right after its first message left and before it recorded it:
    restarted, it sends that message again after the claim's lease, under the same
    Message-ID / Idempotency-Key, so nothing is lost and the receivers can drop the repeat."""
    lease = 3.0
    notify = {
        "interval_seconds": 0.2,
        "lease_seconds": lease,
        "backoff_seconds": 0.5,
        "message_id_domain": "faults.test",
    }
    with SmtpReceiver() as smtp, WebhookReceiver() as robot:
        env = {
            "TAIZHANG_NOTIFY": json.dumps(
                notify | {"smtp_port": smtp.port, "smtp_host": "127.0.0.1"}
            )
        }
        notifier = system.d.start("notify", TAIZHANG_FAULTS=NOTIFY_EXIT_AFTER_SEND, **env)
        case_id = system.case_dispatched_to_a_liaison(notifier, "FAULTS-NOTIFY", robot.url)
        assert system.wait_exit(notifier) == INJECTED_EXIT
        assert len(smtp.mails) + len(robot.calls) == 1  # one message left, none recorded

        notifier.env = system.d.env | env
        notifier.start()
        system.move_clock_by(lease * 2)  # the dead process's claim lapses
        log = system.delivery_log(notifier, case_id)
        wait_for(
            lambda: (
                {d["channel"]: d["status"] for d in log()}
                == {"inbox": "sent", "email": "sent", "robot": "sent"}
            ),
            40,
            "e-mail and robot recorded as sent",
        )
        ids = {d["channel"]: d["id"] for d in log()}
        system.d.processes.remove(notifier)
        notifier.stop()
    assert smtp.message_ids() and set(smtp.message_ids()) == {f"<{ids['email']}@faults.test>"}
    assert robot.keys() and set(robot.keys()) == {ids["robot"]}
    # The one sent before the crash went twice under its one id; the other once: none lost.
    assert sorted([len(smtp.mails), len(robot.calls)]) == [1, 2]


CASES = 4  # half of them through a second pass
KILL_EVERY = 3  # rounds of steps


def test_cases_reach_close_out_through_a_second_pass_while_replicas_are_killed(
    system: FaultyDeployment,
) -> None:
    walker = Walker(system)
    walker.unit()
    load = system.load("walks")  # tips keep coming meanwhile
    walks = [walker.register(second_pass=i % 2 == 1) for i in range(CASES)]
    victims = itertools.cycle(
        [*system.replicas("tracking"), *system.replicas("dispatch")]  # one at a time
    )
    killed = 0
    for round_no in itertools.count(1):
        pending = [w for w in walks if w.steps]
        if not pending:
            break
        for walk in pending:
            walker.step(walk)
        if round_no % KILL_EVERY == 0:
            system.kill_and_restart(next(victims))
            killed += 1
    figures = system.settle("case walks while replicas are killed", load)

    rows = asyncio.run(read_ledger(system.d.settings))
    for i, walk in enumerate(walks):
        row = rows[uuid.UUID(walk.case_id)]
        passes = 2 if i % 2 else 1
        assert (row["status"], row["pass_no"]) == ("closed_out", passes), walk.case_id
        channels = sorted(entry["channel"] for entry in row["feedback"])
        assert channels == sorted(["direct_reply", "online_publication"] * passes)
    assert killed >= 3
    assert figures.lost == 0
    assert figures.duplicated == 0
