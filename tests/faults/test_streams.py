"""The broker loses or swaps intake's stream while PostgreSQL survives (issue 17, ADR 17):
every tip intake acknowledged still reaches the ledger exactly once.

- the same stream loses messages (a purge): the relay sees it on its next batch and
  publishes again, with no human step, and says so once;
- intake pointed at another NATS: its relay refuses the stranger (nothing is recorded as
  published there, nothing is sent there) and reports delivery degraded; pointed back, it
  carries on where it was, with no human step;
- the stream deleted and made again: the relay refuses the new stream until an operator
  runs ``taizhang relay adopt``, then publishes everything into it again."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from nats.js.errors import NotFoundError

from shared.platform.messaging.nats import stream_name
from tests.faults.harness import TIPS, FaultyDeployment
from tests.support.deployment import ServiceProcess
from tests.support.infra import NatsProcess, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.nats]


def refused(system: FaultyDeployment) -> bool:
    delivery = system.delivery(system.intake)
    relay = delivery["parts"].get("relay:intake", {})
    return delivery["status"] == "degraded" and relay.get("problem") == "stream_refused"


def test_messages_lost_from_the_same_stream_are_published_again_without_a_human_step(
    system: FaultyDeployment,
) -> None:
    behind_before = system.intake.log().count("relay_stream_behind")
    load = system.load("purge")
    load.wait_accepted(TIPS // 4)
    with system.paused(*consumers(system)):  # what they have not read yet is then gone
        load.wait_accepted(TIPS // 2)
        system.purge_stream("intake")
    figures = system.settle("intake's stream purged under load", load)
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert system.intake.log().count("relay_stream_behind") == behind_before + 1  # said once


def test_intake_pointed_at_another_nats_and_back_loses_nothing(
    system: FaultyDeployment,
) -> None:
    wrong = NatsProcess().start()  # a working NATS that is not the deployment's
    intake = system.intake
    try:
        load = system.load("wrong-nats")
        load.wait_accepted(TIPS // 4)
        system.restart_with(intake, TAIZHANG_NATS_URL=wrong.url)
        intake.wait_ready()
        load.wait_accepted(TIPS // 2)  # accepted while intake talks to the stranger
        wait_for(lambda: refused(system), 30, "intake to report delivery degraded")
        readiness = system.delivery(intake)
        fed = stranger_messages(system, wrong.url)
        system.restart_with(intake)  # the right URL again; nobody touches the relay
        intake.wait_ready()
        figures = system.settle("intake on another NATS and back", load)
    finally:
        wrong.stop()
        shutil.rmtree(wrong.store_dir, ignore_errors=True)
    assert readiness["url"] == wrong.url  # the degraded report names the URL in use
    assert fed == 0  # the relay sent nothing to the stranger
    assert figures.lost == 0
    assert figures.duplicated == 0


def test_a_stream_deleted_and_made_again_is_refilled_after_relay_adopt(
    system: FaultyDeployment,
) -> None:
    load = system.load("recreated")
    load.wait_accepted(TIPS // 4)
    with system.paused(*consumers(system)):  # what they have not read yet is then gone
        load.wait_accepted(TIPS // 3)
        system.recreate_stream("intake")
    wait_for(lambda: refused(system), 30, "intake's relay to refuse the new stream")
    load.wait_accepted(TIPS // 2)
    adopted = system.taizhang("relay", "adopt", "--service", "intake")
    assert adopted.returncode == 0, adopted.stderr
    figures = system.settle("intake's stream recreated, relay adopt", load)
    status = system.taizhang("relay", "status")
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert status.returncode == 0, status.stderr
    assert "intake\tok\t" in status.stdout
    assert system.delivery(system.intake)["status"] == "ok"


def test_a_broker_restored_from_an_older_copy_is_refilled_from_where_each_stream_ends(
    system: FaultyDeployment,
) -> None:
    """The broker's store put back from a copy taken a while ago (a backup, a volume
    snapshot): intake's stream is the same stream with a shorter tail. Its relay publishes
    again from the last message the stream still holds — not its whole outbox — and every
    tip arrives once."""
    resent_before = system.resent_by_intake()
    behind_before = system.intake.log().count("relay_stream_behind")
    copy = system.root / "nats-copy"
    load = system.load("older-copy")
    load.wait_accepted(TIPS // 4)
    with system.paused(*consumers(system)):  # they read nothing of the tail that is lost
        system.nats.stop()
        shutil.copytree(system.nats.store_dir, copy)
        system.nats.start()
        held = system.stream_messages("intake")
        load.wait_accepted(TIPS // 2)
        wait_for(lambda: system.stream_messages("intake") >= held + 5, 30, "a tail past the copy")
        # ...and the relay has recorded that tail as acknowledged: had the broker stopped
        # before, the relay would send the batch again after the restore (its acks lost), and
        # the stream would never look short to it — right, but not this scenario (seen under
        # load).
        wait_for(
            lambda: system.relay_recorded_through("intake") >= held + 5,
            30,
            "the relay to record the tail",
            interval=0.2,
        )
        system.nats.stop()
        shutil.rmtree(system.nats.store_dir)
        shutil.copytree(copy, system.nats.store_dir)
        system.nats.start()
    shutil.rmtree(copy)
    figures = system.settle("the broker restored from an older copy", load)
    assert figures.lost == 0
    assert figures.duplicated == 0

    def said_since() -> list[str]:
        log = re.sub(r"\x1b\[[0-9;]*m", "", system.intake.log())  # the console's colours
        return log.split("relay_stream_behind")[behind_before + 1 :]

    # Bounded: the relay may have found the stream short by its idle look (every 2 s) rather
    # than by a publish, and the ledger can settle from the refill before that line is read.
    try:
        said = wait_for(said_since, 30, "the relay to say its stream is behind", interval=0.5)
    except AssertionError:
        said = said_since()
    relay_lines = [line for line in system.intake.log().splitlines() if "relay_" in line]
    assert len(said) == 1, relay_lines[-10:]  # said once
    refilled_from = re.search(r"refill_from=(\d+)", said[0])
    assert refilled_from is not None and int(refilled_from.group(1)) > 0  # not from the start
    assert system.resent_by_intake() == resent_before  # so nothing is in the stream twice


def consumers(system: FaultyDeployment) -> list[ServiceProcess]:
    return system.replicas("dispatch") + system.replicas("tracking")


def stranger_messages(system: FaultyDeployment, url: str) -> int:
    """Messages in intake's stream on another server (none when it has no such stream)."""

    async def count(js: Any) -> int:
        try:
            info = await js.stream_info(stream_name(system.d.namespace, "intake"))
        except NotFoundError:
            return 0
        return int(info.state.messages)

    return int(system.jetstream(count, url))


def test_the_brokers_disk_full_then_freed_loses_nothing(system: FaultyDeployment) -> None:
    """The NATS store's disk fills to the last byte under load: intake keeps accepting (the
    outbox holds its tips), delivery reports itself degraded; the space comes back. nats-server
    (2.15) keeps a stream that met a write error refusing writes until it is restarted — the
    operator's step, documented in RELIABILITY.md — and then everything goes out, once."""
    with system.nats_disk_full():
        load = system.load("disk-full")  # the whole load offered while the broker is full
        load.wait_accepted(TIPS // 2)
        assert shutil.disk_usage(system.nats_disk).free < 64 * 1024
        try:
            wait_for(lambda: degraded(system), 30, "intake to report delivery degraded")
        except AssertionError:
            print(system.delivery(system.intake), shutil.disk_usage(system.nats_disk))
            print(system.d.logs())
            raise
        load.wait_accepted(TIPS)  # intake kept accepting: its outbox holds them
    system.nats.stop()
    system.nats.start()
    figures = system.settle("the broker's disk full, then freed", load)
    assert figures.lost == 0
    assert figures.duplicated == 0


def degraded(system: FaultyDeployment) -> bool:
    delivery = system.delivery(system.intake)
    return bool(delivery["status"] == "degraded" and "relay:intake" in delivery["degraded"])
