"""A three-node JetStream cluster (R3 streams) with the leader of intake's stream partitioned
away under load, then healed (issue 17 point 6): every tip intake acknowledged reaches the
ledger exactly once. The nodes live in network namespaces the test makes (root only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.platform.messaging.nats import stream_name
from tests.faults.cluster import NatsCluster
from tests.faults.harness import TIPS, FaultyDeployment, pause_beyond
from tests.support.deployment import Deployment
from tests.support.infra import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.nats]

PARTITION_SECONDS = 8.0  # longer than a client's two missed pings (2 × 3 s)


class ClusteredDeployment(FaultyDeployment):
    """The fault suite's deployment on the cluster: intake, dispatch and tracking once each."""

    def start(self) -> ClusteredDeployment:
        self.postgres.start()
        self.nats = NatsCluster(self.root / "cluster").start()  # type: ignore[assignment]
        self.deployment = Deployment(
            self.postgres.url, "cluster", self.nats.url, self.root / "data"
        )
        self.d.env |= {
            "TAIZHANG_NATS_REPLICAS": "3",
            "TAIZHANG_NATS_ACK_WAIT_SECONDS": "2",
            "TAIZHANG_DB_POOL_SIZE": "3",
            "TAIZHANG_DELIVERY_GRACE_SECONDS": "1",
        }
        self.d.start("intake")
        for service in ("dispatch", "tracking"):
            self.d.start(service, wait=False)
        for process in self.d.processes:
            process.wait_ready()
        return self


@pytest.fixture(scope="module")
def clustered() -> Iterator[ClusteredDeployment]:
    deployment = ClusteredDeployment()
    try:
        yield deployment.start()
    finally:
        deployment.close()


def test_the_stream_leader_partitioned_away_under_load_and_healed(
    clustered: ClusteredDeployment,
) -> None:
    cluster: NatsCluster = clustered.nats  # type: ignore[assignment]
    stream = stream_name(clustered.d.namespace, "intake")
    load = clustered.load("partition")
    load.wait_accepted(TIPS // 4)
    leader = wait_for(lambda: cluster.leader_of(stream), 30, "intake's stream to have a leader")
    others = [n["name"] for n in cluster.nodes if n["name"] != leader]
    cluster.partition(leader)
    try:
        load.wait_accepted(TIPS // 2)  # accepted while the leader is cut off
        wait_for(
            lambda: cluster.leader_of(stream, via=others) in others,
            30,
            "the other two nodes to elect a new leader",
            interval=0.5,
        )
        pause_beyond(PARTITION_SECONDS)
    finally:
        cluster.heal(leader)
    figures = clustered.settle("R3 stream leader partitioned away, healed", load)
    assert figures.lost == 0
    assert figures.duplicated == 0
