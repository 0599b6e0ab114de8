"""Pool sizes derived from a connection budget (issue 17, point 4): the processes of a
deployment together stay under PostgreSQL's max_connections, with headroom."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.registry import AVAILABLE, budgeted, connection_demand
from shared.platform.settings import ConfigurationError, Settings

PG = "postgresql://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parents[2]


def up_sh_shares() -> dict[str, int]:
    text = (REPO / "deploy" / "local" / "up.sh").read_text()
    found = re.search(r"declare -A shares=\(([^)]*)\)", text)
    assert found
    return {k: int(v) for k, v in re.findall(r"\[(\w+)\]=(\d+)", found.group(1))}


def test_the_local_deployment_fits_under_three_quarters_of_a_default_server() -> None:
    """deploy/local/up.sh: every process with a store at its share of max_connections = 100."""
    shares = {name: share for name, share in up_sh_shares().items() if share}
    assert set(shares) == set(AVAILABLE)  # every service that holds connections has a share
    processes = [[name] for name in shares]
    sized = [
        budgeted(Settings(database_url=PG, db_connection_budget=shares[p[0]]), p) for p in processes
    ]
    held = sum(connection_demand(p, s.db_pool_size) for p, s in zip(processes, sized, strict=True))
    assert held <= 75
    pools = {p[0]: s.db_pool_size for p, s in zip(processes, sized, strict=True)}
    assert pools["intake"] >= 3 and pools["dispatch"] >= 2 and pools["tracking"] >= 2


def test_the_largest_pool_that_fits_is_chosen() -> None:
    settings = budgeted(Settings(database_url=PG, db_connection_budget=20), ["dispatch"])
    assert connection_demand(["dispatch"], settings.db_pool_size) <= 20
    assert connection_demand(["dispatch"], settings.db_pool_size + 1) > 20


def test_a_budget_too_small_for_pools_of_one_is_refused_naming_what_is_needed() -> None:
    with pytest.raises(ConfigurationError, match="below the 9 connections dispatch need"):
        budgeted(Settings(database_url=PG, db_connection_budget=5), ["dispatch"])


def test_without_a_budget_or_without_postgresql_the_pool_size_is_the_setting() -> None:
    assert budgeted(Settings(database_url=PG, db_pool_size=7), ["tracking"]).db_pool_size == 7
    embedded = Settings(db_connection_budget=5, db_pool_size=7)
    assert budgeted(embedded, ["tracking"]).db_pool_size == 7
