"""The workbench waits for a command's effect without reading the case's history (issue 16,
ADR 26/32): it polls the ledger's positions, which are not audited, so the audit trail holds
one history read per page a person actually saw — and the page after a command still shows
the command's effect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from services.ui.client import source_of
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread
from tests.support.workbench import Workbench, case_in_ledger


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def reads(api: Api, case_id: str, type: str) -> list[dict[str, Any]]:
    r = api.get(
        "/api/v1/audit",
        params={"type": type, "case_id": case_id, "actor": "office:周主任"},
        headers=api.auth("supervisor", "纪委甲"),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_commands_from_the_case_page_leave_one_history_read_per_page_seen(api: Api) -> None:
    tip = api.register(content="某局工作人员上班时间玩手机游戏", summary="窗口人员玩手机")
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    case_in_ledger(api, case_id, "registered")
    bench = Workbench(str(api.base_url))
    credential = api.auth("office", "周主任")["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(credential).status_code == 200

    path = f"/ui/cases/{case_id}"
    assert bench.page(path).status_code == 200  # page 1
    triaged = bench.submit(f"{path}/actions/triage", track="general", category="inaction")
    assert triaged.status_code == 200, triaged.text  # page 2, after the redirect
    assert "已办理:分类处置" in triaged.text and "未分类" not in triaged.text
    refused = bench.submit(f"{path}/actions/not_accepted", reason="不属于受理范围")
    assert refused.status_code == 200, refused.text  # page 3
    assert 'data-status="not_accepted"' in refused.text and "不属于受理范围" in refused.text

    assert len(reads(api, case_id, "CaseHistoryViewed")) == 3
    assert len(reads(api, case_id, "CaseViewed")) == 3


def test_a_case_command_is_waited_for_on_the_log_of_the_service_that_answers_it() -> None:
    case = "/api/v1/cases/00000000-0000-0000-0000-000000000001"
    for suffix in ("feedback", "evaluations", "close-out", "accountability/report-back"):
        assert source_of(f"{case}/{suffix}") == "tracking"
    for suffix in ("triage", "dispatch", "merge", "results/1/review", "extensions/2/decision"):
        assert source_of(f"{case}/{suffix}") == "dispatch"


def test_a_registration_at_the_workbench_reads_no_case_until_it_is_opened(api: Api) -> None:
    bench = Workbench(str(api.base_url))
    credential = api.auth("operator", "话务员丁")["Authorization"].removeprefix("Bearer ")
    bench.page("/ui/login")
    assert bench.submit("/ui/login", credential=credential, next="/ui/intake").status_code == 200
    created = bench.submit(
        "/ui/intake",
        channel="hotline_12388",
        content="某所窗口人员索要好处费",
        summary="索要好处费",
    )
    assert created.status_code == 201, created.text
    case_id = re.findall(r"id=\"open-case\" href=\"/ui/cases/([0-9a-f-]{36})", created.text)[0]

    # intake answered with where its log holds the registration: the workbench waited on
    # the unaudited positions until the ledger had read that far, and read no case
    def views() -> list[dict[str, Any]]:
        r = api.get(
            "/api/v1/audit",
            params={"type": "CaseViewed", "case_id": case_id, "actor": "operator:话务员丁"},
            headers=api.auth("supervisor", "纪委甲"),
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    assert views() == []
    opened = bench.page(f"/ui/cases/{case_id}")  # the registration is there at once
    assert opened.status_code == 200 and "某所窗口人员索要好处费" in opened.text, opened.text[
        opened.text.find("<main") :
    ][:1500]
    [view] = views()
    assert view["outcome"] == "shown"
