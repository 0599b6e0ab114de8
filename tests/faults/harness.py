"""One deployment to break on purpose: a PostgreSQL and a nats-server ≥ 2.12.3 of the suite's
own (which it stops, kills and restarts — never the machine's), intake once, dispatch and
tracking twice each, all as separate ``taizhang serve`` processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import nats

from services.ops.verify import DUPLICATED, Report, read_ledger, verify
from shared.platform.clock import FileClock, set_clock
from shared.platform.messaging.nats import stream_config, stream_name
from shared.platform.messaging.streams import StreamRecords
from shared.platform.readmodel import create_engine
from tests.faults.load import SteadyLoad
from tests.support.deployment import TAIZHANG, Deployment, ServiceProcess
from tests.support.infra import NatsProcess, PostgresProcess, wait_for
from tests.support.pinned import NOW

RESULT = {
    "findings": "经查属实,窗口人员推诿",
    "rectification": "已整改,实行首问负责制",
    "proposal": {"kind": "rectification", "text": "加强窗口作风建设"},
    "signed_off_by": "局长 李某",
}
FEEDBACK = {"content": "已向投诉人反馈办理结果"}

SOAK = os.environ.get("TAIZHANG_SOAK", "") == "1"
TIPS = 2000 if SOAK else 120  # per scenario
RATE = 100.0 if SOAK else 40.0  # tips per second
NATS_OUTAGE_SECONDS = 30.0 if SOAK else 5.0
ACK_WAIT_SECONDS = 2.0
SETTLE_SECONDS = 240.0 if SOAK else 120.0
DELIVERY_GRACE_SECONDS = 1.0  # how soon /healthz/delivery says degraded
KEEP_LOGS = os.environ.get("TAIZHANG_FAULTS_KEEP_LOGS")
NATS_DISK_MB = 256  # nats-server takes 75 % of what is free at its start as its limit  # a directory for the services' logs


@dataclass
class Figures:
    """What one scenario did to the promise: of the tips offered, how many a caller saw
    accepted, how many are in the ledger once, twice, or not at all."""

    scenario: str
    offered: int
    accepted: int
    found: int
    duplicated: int
    lost: int
    retried: int
    settled_in: float  # seconds from the last answer to a clean verify (informative only)

    def line(self) -> str:
        return (
            f"{self.scenario:<46} offered {self.offered:>5}  accepted {self.accepted:>5}  "
            f"found {self.found:>5}  duplicated {self.duplicated}  lost {self.lost}  "
            f"(retried by callers {self.retried}, settled in {self.settled_in:.0f} s)"
        )


RECORDED: list[Figures] = []  # every scenario's figures, printed at the end of the run


class FaultyDeployment:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tz-faults-"))
        self.postgres = PostgresProcess()
        # Room for every process's pools (each service keeps several).
        with (self.postgres.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write("max_connections = 300\nsynchronous_commit = on\n")
        # The broker's store on a disk of its own that a scenario can fill (a tmpfs: root only).
        self.nats_disk = self.root / "nats"
        self.nats = NatsProcess(store_dir=self.nats_disk / "store")
        self.clock = self.root / "clock"
        self.own_clocks: dict[int, dict[str, str]] = {}  # a replica's port → its clock file
        self.deployment: Deployment | None = None

    @property
    def d(self) -> Deployment:
        assert self.deployment is not None
        return self.deployment

    def start(self) -> FaultyDeployment:
        self.postgres.start()
        self.nats_disk.mkdir(parents=True)
        if os.geteuid() == 0:
            mount = ["mount", "-t", "tmpfs", "-o", f"size={NATS_DISK_MB}m", "tmpfs"]
            subprocess.run([*mount, str(self.nats_disk)], check=True)
        self.nats.start()
        self.deployment = Deployment(self.postgres.url, "faults", self.nats.url, self.root / "data")
        set_clock(self.clock, NOW)  # moved on to make deadlines run out
        self.d.env |= {
            "TAIZHANG_NATS_ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
            "TAIZHANG_DB_POOL_SIZE": "3",
            "TAIZHANG_CLOCK_FILE": str(self.clock),
            "TAIZHANG_SCHEDULER_INTERVAL_SECONDS": "1",
            "TAIZHANG_DELIVERY_GRACE_SECONDS": str(DELIVERY_GRACE_SECONDS),
        }
        # Intake alone first: it creates the shared tables; then the others side by side,
        # each replica on a clock file of its own that follows the deployment's (a link to
        # it) until a scenario sets it apart (tests/faults/skew.py).
        self.d.start("intake")
        for n, service in enumerate(("dispatch", "dispatch", "tracking", "tracking")):
            own = self.root / f"clock-{service}-{n % 2}"
            own.symlink_to(self.clock)
            process = self.d.start(service, wait=False, TAIZHANG_CLOCK_FILE=str(own))
            self.own_clocks[process.port] = {"TAIZHANG_CLOCK_FILE": str(own)}
        for process in self.d.processes:
            process.wait_ready()
        return self

    def close(self) -> None:
        try:
            for process in self.d.processes if self.deployment else []:
                process.signal(signal.SIGCONT)  # a paused process dies too
            if self.deployment is not None:
                self.deployment.close()
        finally:
            self.nats.stop(signal.SIGKILL)
            if os.path.ismount(self.nats_disk):
                subprocess.run(["umount", "-l", str(self.nats_disk)], check=False)
            self.postgres.destroy()
            if KEEP_LOGS:
                shutil.copytree(self.root / "data" / "logs", KEEP_LOGS, dirs_exist_ok=True)
            shutil.rmtree(self.root, ignore_errors=True)

    # --- the services ----------------------------------------------------------------------

    @property
    def intake(self) -> ServiceProcess:
        return self.d.first("intake")

    def replicas(self, service: str) -> list[ServiceProcess]:
        return [
            p
            for p in self.d.processes
            if p.service == service and not p.relay and p.proc is not None
        ]

    def kill_and_restart(self, process: ServiceProcess) -> None:
        """kill -9, and start it again at once (callers retry until it answers)."""
        process.kill()
        process.start(wait=False)

    def restart_with(self, process: ServiceProcess, **env: str) -> None:
        """Stop a service and start it again with extra settings (a crash point, say)."""
        process.stop()
        process.env = self.env_of(process) | env
        process.start(wait=False)

    def env_of(self, process: ServiceProcess) -> dict[str, str]:
        """The settings a process starts with: the deployment's, and its own clock file."""
        return self.d.env | self.own_clocks.get(process.port, {})

    def wait_exit(self, process: ServiceProcess, timeout: float = 60) -> int:
        assert process.proc is not None
        code = wait_for(lambda: process.proc.poll(), timeout, f"{process.service} to crash")
        return int(code)

    @contextmanager
    def paused(self, *processes: ServiceProcess) -> Iterator[None]:
        for process in processes:
            process.signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in processes:
                process.signal(signal.SIGCONT)

    def ensure_running(self) -> None:
        """Whatever a scenario left dead or starting is up before the next one begins."""
        for process in self.d.processes:
            process.signal(signal.SIGCONT)
            if process.proc is None or process.proc.poll() is not None:
                process.env = self.env_of(process)
                process.start(wait=False)
        for process in self.d.processes:
            process.wait_ready()

    # --- the load and the verdict ------------------------------------------------------------

    def load(self, scenario: str) -> SteadyLoad:
        prefix = f"{scenario}-{uuid.uuid4().hex[:6]}"
        headers = self.d.auth("operator", name="话务员")
        return SteadyLoad(self.intake.url, headers, prefix, TIPS, RATE).start()

    def settle(self, scenario: str, load: SteadyLoad) -> Figures:
        """Wait until the ledger agrees with the stores (bounded), then count."""
        load.finish()
        answered = time.monotonic()
        try:
            report = wait_for(
                lambda: (r := asyncio.run(verify(self.d.settings))).ok and r,
                SETTLE_SECONDS,
                f"the ledger to settle after {scenario}",
                interval=0.5,
            )
        except AssertionError:
            report = asyncio.run(verify(self.d.settings))
            print(self.d.logs())
        figures = self._figures(scenario, load, report, time.monotonic() - answered)
        RECORDED.append(figures)
        print(figures.line())
        assert report.ok, report.as_json()["findings"][:20]
        wrong = load.ask_again(sorted(load.retried) + sorted(load.answers)[:10])
        assert not wrong, f"retries with the same key got another answer: {wrong[:5]}"
        assert "500" not in load.outcomes, dict(load.outcomes)
        return figures

    def _figures(
        self, scenario: str, load: SteadyLoad, report: Report, settled_in: float
    ) -> Figures:
        rows = asyncio.run(read_ledger(self.d.settings))
        found = sum(
            1
            for answer in load.answers.values()
            if (row := rows.get(uuid.UUID(answer["case_id"])))
            and row["number"] == answer["number"]
            and row["status"] == "registered"
        )
        return Figures(
            scenario=scenario,
            offered=load.tips,
            accepted=len(load.answers),
            found=found,
            duplicated=len(report.of_kind(DUPLICATED)),
            lost=len(load.answers) - found,
            retried=len(load.retried),
            settled_in=settled_in,
        )

    # --- deadlines ---------------------------------------------------------------------------

    def cases_past_their_deadlines(self, count: int) -> list[uuid.UUID]:
        """Cases dispatched to a unit that neither signs nor handles them, then the clock
        moved on 17 days: both dispatch replicas' schedulers issue 催办 (the handling
        deadline is near) and 督办 (the sign-for deadline is missed) — each once."""
        dispatch, office = self.replicas("dispatch")[0], self.d.auth("office")
        unit = {"code": "FAULTS-UNIT", "name": "故障测试单位", "kind": "department"}
        r = httpx.post(f"{dispatch.url}/api/v1/units", json=unit, headers=self.d.auth("admin"))
        assert r.status_code in (201, 409), r.text
        load = SteadyLoad(
            self.intake.url, self.d.auth("operator"), f"due-{uuid.uuid4().hex[:6]}", count, 50
        )
        load.start().finish()
        cases = [uuid.UUID(answer["case_id"]) for answer in load.answers.values()]
        for case_id in cases:
            url = f"{dispatch.url}/api/v1/cases/{case_id}"
            wait_for(  # once dispatch has opened the case
                lambda url=url: (
                    httpx.post(
                        f"{url}/triage", json={"track": "general"}, headers=office, timeout=10
                    ).status_code
                    == 200
                ),
                60,
                "the case to be triaged",
                interval=0.2,
            )
            r = httpx.post(f"{url}/dispatch", json={"lead_unit": unit["code"]}, headers=office)
            assert r.status_code == 200, r.text
        set_clock(self.clock, NOW + timedelta(days=17))
        return cases

    def cases_with_feedback_delivered(self, count: int) -> list[uuid.UUID]:
        """Cases taken through dispatch to the three-channel feedback log: signed, result
        accepted, then fed back on both channels a 市长专线 case requires (网上公示 and
        直接反馈), so a replay has feedback entries it must not record twice."""
        dispatch, tracking = self.replicas("dispatch")[0].url, self.replicas("tracking")[0].url
        office, unit = self.d.auth("office"), "FAULTS-FEEDBACK"
        liaison = self.d.auth("unit_liaison", unit=unit)
        created = httpx.post(
            f"{dispatch}/api/v1/units",
            json={"code": unit, "name": "反馈测试单位", "kind": "department"},
            headers=self.d.auth("admin"),
        )
        assert created.status_code in (201, 409), created.text
        cases = []
        for i in range(count):
            tip = {"channel": "mayor_hotline", "content": f"窗口办事推诿扯皮(反馈 {i})"}
            r = httpx.post(f"{self.intake.url}/api/v1/tips", json=tip, headers=office)
            assert r.status_code == 201, r.text
            case = r.json()["case_id"]
            steps: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
                (dispatch, "triage", office, {"track": "general"}),
                (dispatch, "dispatch", office, {"lead_unit": unit}),
                (dispatch, "sign", liaison, {}),
                (dispatch, "results", liaison, RESULT),
                (dispatch, "results/1/review", office, {"accepted": True}),
                (tracking, "feedback", office, FEEDBACK | {"channel": "online_publication"}),
                (tracking, "feedback", office, FEEDBACK | {"channel": "direct_reply"}),
            ]
            for base, action, who, body in steps:
                url = f"{base}/api/v1/cases/{case}/{action}"
                wait_for(  # each service acts once the previous step's event has reached it
                    lambda url=url, who=who, body=body: (
                        httpx.post(url, json=body, headers=who, timeout=10).status_code
                        in (200, 201)
                    ),
                    60,
                    f"{action} to be accepted",
                    interval=0.2,
                )
            cases.append(uuid.UUID(case))
        return cases

    def feedback_once(self, cases: list[uuid.UUID]) -> bool:
        """Whether the ledger shows each case's two deliveries, each exactly once."""
        rows = asyncio.run(read_ledger(self.d.settings))
        return all(
            (row := rows.get(case_id)) is not None
            and sorted(entry["channel"] for entry in row["feedback"] or [])
            == ["direct_reply", "online_publication"]
            for case_id in cases
        )

    def announced(self, cases: list[uuid.UUID]) -> bool:
        """Whether the ledger shows a reminder and a supervision notice on every case."""
        rows = asyncio.run(read_ledger(self.d.settings))
        return all(
            (row := rows.get(case_id)) and row["reminders"] and row["supervision_notices"]
            for case_id in cases
        )

    # --- notifications -----------------------------------------------------------------------

    def case_dispatched_to_a_liaison(
        self, notifier: ServiceProcess, unit: str, robot_url: str
    ) -> str:
        """A unit whose liaison officer has an e-mail address and a group robot in notify's
        directory, and a case dispatched to it; the case's id."""
        dispatch, office = self.replicas("dispatch")[0].url, self.d.auth("office")
        body = {"code": unit, "name": "通知测试单位", "kind": "department"}
        r = httpx.post(f"{dispatch}/api/v1/units", json=body, headers=self.d.auth("admin"))
        assert r.status_code in (201, 409), r.text
        person = {"id": f"unit_liaison:{unit}", "name": "通知联络员", "role": "liaison"}
        person |= {"unit": unit, "email": "liaison@faults.test", "robot_url": robot_url}
        r = httpx.post(f"{notifier.url}/api/v1/persons", json=person, headers=office)
        assert r.status_code == 201, r.text
        tip = {"channel": "mayor_hotline", "content": "窗口办事推诿扯皮(通知)"}
        r = httpx.post(f"{self.intake.url}/api/v1/tips", json=tip, headers=office)
        assert r.status_code == 201, r.text
        case = r.json()["case_id"]
        for action, step in (("triage", {"track": "general"}), ("dispatch", {"lead_unit": unit})):
            url = f"{dispatch}/api/v1/cases/{case}/{action}"
            wait_for(
                lambda url=url, step=step: (
                    httpx.post(url, json=step, headers=office, timeout=10).status_code == 200
                ),
                60,
                f"{action} to be accepted",
                interval=0.2,
            )
        return str(case)

    def move_clock_by(self, seconds: float) -> None:
        set_clock(self.clock, FileClock(self.clock).now() + timedelta(seconds=seconds))

    def delivery_log(self, notifier: ServiceProcess, case_id: str) -> Any:
        """A way to read the case's delivery log from the notifier (its newest entries)."""

        def read() -> list[dict[str, Any]]:
            r = httpx.get(
                f"{notifier.url}/api/v1/cases/{case_id}/notifications",
                headers=self.d.auth("office"),
                timeout=10,
            )
            return list(r.json()["items"]) if r.status_code == 200 else []

        return read

    # --- NATS --------------------------------------------------------------------------------

    def resent_by_intake(self) -> int:
        """Messages in intake's stream beyond one per registered tip (a settled system has
        published every tip): what the stream stored twice."""
        registered = asyncio.run(verify(self.d.settings)).counts["registered"]
        return self.stream_messages("intake") - registered

    def relay_recorded_through(self, source: str) -> int:
        """The last stream sequence ``source``'s relay has recorded as acknowledged."""

        async def load() -> int:
            engine = create_engine(self.d.settings)
            try:
                record = await StreamRecords(engine).load(source)
            finally:
                await engine.dispose()
            return record.last_seq if record is not None else 0

        return asyncio.run(load())

    def stream_messages(self, source: str) -> int:
        async def count() -> int:
            nc = await nats.connect(self.nats.url)
            try:
                info = await nc.jetstream().stream_info(stream_name(self.d.namespace, source))
                return int(info.state.messages)
            finally:
                await nc.close()

        return asyncio.run(count())

    def jetstream(self, work: Any, url: str | None = None) -> Any:
        """Run ``work(js)`` on a connection of the test's own (to the suite's NATS)."""

        async def run() -> Any:
            nc = await nats.connect(url or self.nats.url)
            try:
                return await work(nc.jetstream())
            finally:
                await nc.close()

        return asyncio.run(run())

    def recreate_stream(self, source: str) -> None:
        """The stream deleted (by hand, a lost volume) and made again, empty, with the same
        configuration: another stream under the same name."""
        name = stream_name(self.d.namespace, source)

        async def recreate(js: Any) -> None:
            await js.delete_stream(name)
            await js.add_stream(stream_config(self.d.namespace, source))

        self.jetstream(recreate)

    @contextmanager
    def nats_disk_full(self) -> Iterator[None]:
        """Fill the broker's disk to the last byte (another tenant's file, a log gone wild),
        and free it again on leaving."""
        if not os.path.ismount(self.nats_disk):
            raise AssertionError("the broker's disk is a tmpfs mounted as root (CI runs as root)")
        ballast = self.nats_disk / "ballast"
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for block in (b"\0" * (1 << 20), b"\0" * 4096):  # megabytes, then the last pages
                while True:
                    try:
                        os.write(fd, block)
                    except OSError:  # ENOSPC: full
                        break
        finally:
            os.close(fd)
        try:
            yield
        finally:
            ballast.unlink()

    def purge_stream(self, source: str) -> None:
        self.jetstream(lambda js: js.purge_stream(stream_name(self.d.namespace, source)))

    def taizhang(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A ``taizhang`` command run beside the deployment, as an operator would."""
        return subprocess.run(
            [TAIZHANG, *args], env=self.d.env, capture_output=True, text=True, timeout=60
        )

    def delivery(self, process: ServiceProcess) -> dict[str, Any]:
        return dict(probe(process, "/healthz/delivery").json())

    def delete_every_consumer(self) -> list[str]:
        """Every durable consumer of every stream: the services subscribe again from the
        start, so every message is delivered a second time."""

        async def delete() -> list[str]:
            nc = await nats.connect(self.nats.url)
            deleted: list[str] = []
            try:
                js = nc.jetstream()
                for source in ("intake", "dispatch", "tracking"):
                    stream = stream_name(self.d.namespace, source)
                    for consumer in await js.consumers_info(stream):
                        await js.delete_consumer(stream, consumer.name)
                        deleted.append(f"{stream}/{consumer.name}")
            finally:
                await nc.close()
            return deleted

        return asyncio.run(delete())


def pause_beyond(seconds: float) -> None:
    """Hold a fault for longer than a timeout (the ack wait, the duplicate window): the
    scenario is defined by this wait; no assertion depends on how long anything took."""
    time.sleep(seconds)


def probe(process: ServiceProcess, path: str, **kwargs: Any) -> Any:
    return httpx.get(f"{process.url}{path}", timeout=10, **kwargs)
