"""The operators' metrics: on a port of their own (never the public one), in Prometheus's text
format, labelled by route template (a receipt code in a path never becomes a label), and
the sampled figures — outbox heads, consumer positions and lag, deadlines — move with the work."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.app import create_app
from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, free_port, wait_for
from tests.support.pinned import NOW
from tests.support.workbench import dispatched_case

DEPLOY = Path(__file__).parents[2] / "deploy" / "prometheus"
DASHBOARDS = DEPLOY.parent / "grafana"


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[tuple[Api, str]]:
    clock = tmp_path / "clock"
    set_clock(clock, NOW)
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        clock_file=clock,
        metrics_port=port,
        metrics_interval_seconds=0.2,
    )
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        yield api, f"http://127.0.0.1:{port}/metrics"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_served_apart_and_move_with_the_work(observed: tuple[Api, str]) -> None:
    api, url = observed
    assert api.get("/metrics").status_code == 404  # not on the public path
    case_id = dispatched_case(api)
    office = api.auth("office")
    for _ in range(3):
        assert api.get(f"/api/v1/cases/{case_id}", headers=office).status_code == 200
    assert api.get("/public/v1/receipts/ABCD-EFGH-IJKL-MNOP").status_code == 404

    ledger = {"consumer": "ledger", "source": "intake"}

    def sampled() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        # figures are sampled every 0.2 s: one taken between the tip and the ledger's applying
        # it shows the head moved and the position not yet — wait for a sample after both
        s = scrape(url)
        moved = value(s, "taizhang_outbox_head", service="intake") >= 1
        return s if moved and value(s, "taizhang_consumer_position", **ledger) >= 1 else None

    samples = wait_for(sampled, 30, "a sample after the ledger applied the tip")
    route = {"method": "GET", "route": "/api/v1/cases/{case_id}", "status": "200"}
    assert value(samples, "taizhang_http_requests_total", **route) >= 3
    assert (
        value(
            samples,
            "taizhang_http_request_duration_seconds_count",
            method="GET",
            route="/api/v1/cases/{case_id}",
        )
        >= 3
    )
    labels = " ".join(str(k) for k in samples)
    assert case_id not in labels and "ABCD-EFGH" not in labels  # templates, never paths
    assert (
        value(
            samples,
            "taizhang_http_requests_total",
            method="GET",
            route="/public/v1/receipts/{code}",
            status="404",
        )
        == 1
    )
    assert value(samples, "taizhang_consumer_position", **ledger) >= 1
    assert value(samples, "taizhang_deadlines_due_today") == 0
    assert value(samples, "taizhang_cases_overdue") == 0

    # Time runs past the sign-for deadline: the overdue gauge moves; the lag comes back to 0.
    api.settings.clock_file.write_text((NOW + timedelta(days=30)).isoformat())  # type: ignore[union-attr]
    later = wait_for(
        lambda: (s := scrape(url)) and value(s, "taizhang_cases_overdue") == 1 and s,
        30,
        "the overdue case in the metrics",
    )
    assert value(later, "taizhang_consumer_lag_events", **ledger) == 0
    assert value(later, "taizhang_http_requests_total", **route) >= value(
        samples, "taizhang_http_requests_total", **route
    )


def test_every_series_the_alert_rules_use_is_exported(observed: tuple[Api, str]) -> None:
    api, url = observed
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"][0]["rules"]
    used = {name for rule in rules for name in re.findall(r"taizhang_[a-z_]+", rule["expr"])}
    assert used >= {"taizhang_outbox_head", "taizhang_deadline_sweeps"}
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]

    def exported() -> set[str] | None:
        names = {name for name, _ in scrape(url)}
        names |= {n.removesuffix("_total") for n in names}
        return names if "taizhang_deadline_sweeps" in names else None

    assert api.get("/healthz").status_code == 200
    missing = used - wait_for(exported, 30, "a sample of every series")
    assert not missing, missing


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: apt-get install -y prometheus (.ci/run does)"
    return found


def test_the_scrape_config_and_alert_rules_load_in_promtool() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(DEPLOY / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rules found" in result.stdout + result.stderr


def test_every_dashboard_panel_is_valid_promql_over_exported_series(
    observed: tuple[Api, str], tmp_path: Path
) -> None:
    """The Grafana dashboard's queries, checked by promtool as recording rules (its parser is
    Prometheus's own), and every series they name exported by the services."""
    api, url = observed
    dashboard = json.loads((DASHBOARDS / "taizhang-overview.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 9
    assert all(re.search(r"[\u4e00-\u9fff]", p["title"]) for p in dashboard["panels"])
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    result = subprocess.run(
        [promtool(), "check", "rules", str(tmp_path / "panels.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    provisioned = yaml.safe_load(
        (DASHBOARDS / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    assert provisioned["datasources"][0]["url"] == "http://prometheus:9090"

    used = {n for e in exprs for n in re.findall(r"taizhang_[a-z_]+", e)}
    used = {re.sub(r"_(bucket|count|sum)$", "", n) for n in used}

    def exported() -> set[str] | None:
        names = {name for name, _ in scrape(url)}
        names |= {n.removesuffix("_total") for n in names}
        names |= {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}
        return names if "taizhang_deadline_sweeps" in names else None

    assert api.get("/healthz").status_code == 200
    missing = used - wait_for(exported, 30, "a sample of every series")
    assert not missing, missing
