"""A three-node NATS JetStream cluster in network namespaces the test makes (``ip netns``,
a veth per node on a bridge of its own), so that one node can be cut off from the others and
from every client — a partition — and joined again. Root only (CI runs as root)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import nats

from tests.support.infra import nats_server_binary, port_open, wait_for


def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


class NatsCluster:
    def __init__(self, root: Path, size: int = 3) -> None:
        tag = f"{os.getpid() % 10000:04d}"  # one cluster per test process
        octet = 20 + os.getpid() % 200
        self.root = root
        self.bridge = f"tzb{tag}"
        self.gateway = f"10.{octet}.0.1"
        self.nodes = [
            {
                "name": f"n{i}",
                "ns": f"tz{tag}n{i}",
                "veth": f"tz{tag}v{i}",
                "ip": f"10.{octet}.0.{10 + i}",
            }
            for i in range(1, size + 1)
        ]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return ",".join(f"nats://{n['ip']}:4222" for n in self.nodes)

    def start(self) -> NatsCluster:
        if os.geteuid() != 0:
            raise AssertionError("the cluster scenario makes network namespaces: run as root")
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for node in self.nodes:
            ip("netns", "add", node["ns"])
            ip(
                "link",
                "add",
                node["veth"],
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                node["ns"],
            )
            ip("link", "set", node["veth"], "master", self.bridge, "up")
            ip("-n", node["ns"], "addr", "add", f"{node['ip']}/24", "dev", "eth0")
            ip("-n", node["ns"], "link", "set", "eth0", "up")
            ip("-n", node["ns"], "link", "set", "lo", "up")
        for node in self.nodes:
            self._start(node)
        for node in self.nodes:
            wait_for(lambda n=node: port_open(n["ip"], 4222), 20, f"nats {node['name']} to listen")
        wait_for(self._meta_leader, 30, "the cluster to elect its meta leader", interval=0.5)
        return self

    def _start(self, node: dict[str, str]) -> None:
        store = self.root / node["name"]
        store.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(
            f"nats-route://{n['ip']}:6222" for n in self.nodes if n["name"] != node["name"]
        )
        config = store / "nats.conf"
        config.write_text(
            f"""server_name: {node["name"]}
listen: {node["ip"]}:4222
jetstream {{ store_dir: "{store}", sync_interval: always }}
cluster {{ name: taizhang, listen: {node["ip"]}:6222, routes: [{routes}] }}
"""
        )
        self.procs[node["name"]] = subprocess.Popen(
            ["ip", "netns", "exec", node["ns"], nats_server_binary(), "-c", str(config)],
            stdout=(store / "nats.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def _meta_leader(self) -> bool:
        async def ask() -> bool:
            nc = await nats.connect(self.url.split(","), connect_timeout=2)
            try:
                info = await nc.jetstream().account_info()
                return info is not None
            finally:
                await nc.close()

        try:
            return asyncio.run(ask())
        except Exception:
            return False

    def leader_of(self, stream: str, via: list[str] | None = None) -> str:
        """The name of the node leading ``stream`` (asked through ``via``'s nodes); empty
        while the cluster cannot say (an election under way)."""

        async def ask() -> str:
            urls = [f"nats://{n['ip']}:4222" for n in self.nodes if not via or n["name"] in via]
            nc = await nats.connect(urls, connect_timeout=2, max_reconnect_attempts=1)
            try:
                info = await nc.jetstream().stream_info(stream)
                assert info.cluster is not None
                return str(info.cluster.leader)
            finally:
                await nc.close()

        try:
            return asyncio.run(ask())
        except Exception:
            return ""

    def node(self, name: str) -> dict[str, str]:
        return next(n for n in self.nodes if n["name"] == name)

    def partition(self, name: str) -> None:
        """Cut the node off from the other nodes and from every client."""
        ip("link", "set", self.node(name)["veth"], "down")

    def heal(self, name: str) -> None:
        ip("link", "set", self.node(name)["veth"], "up")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(sig)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for node in self.nodes:
            ip("netns", "del", node["ns"], check=False)
            ip("link", "del", node["veth"], check=False)
        ip("link", "del", self.bridge, check=False)
