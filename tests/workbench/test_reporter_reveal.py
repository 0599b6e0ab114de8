"""The workbench's reveal control (issue 16): the office and supervisors see a named reporter's
contacts on the case page only by asking, with a reason, and the look is audited; other roles
never see the control, and the page never shows the contacts unasked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import Workbench, case_in_ledger

NAME = "揭晓测试人"
PHONE = "13611112222"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("reveal") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def signed_in(api: Api, role: str, name: str, unit: str | None = None) -> Workbench:
    bench = Workbench(str(api.base_url))
    credential = api.auth(role, name, unit)["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(credential).status_code == 200
    return bench


def test_the_office_reveals_a_named_reporter_with_a_reason_and_the_look_is_audited(
    api: Api,
) -> None:
    tip = api.register(reporter={"anonymous": False, "name": NAME, "phone": PHONE})
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    case_in_ledger(api, case_id, "registered")
    path = f"/ui/cases/{case_id}"

    for role, name in (("admin", "管理员"),):  # may read the case, not its reporter
        page = signed_in(api, role, name).page(path)
        assert page.status_code == 200 and 'id="case-number"' in page.text
        assert 'id="form-reveal"' not in page.text and NAME not in page.text
    assert 'id="form-reveal"' in signed_in(api, "supervisor", "纪委甲").page(path).text

    office = signed_in(api, "office", "周主任")
    shown = office.page(path)
    assert 'id="form-reveal"' in shown.text and NAME not in shown.text
    refused = office.submit(f"{path}/reporter", reason="")
    assert refused.status_code == 422 and 'id="error-reveal"' in refused.text
    assert NAME not in refused.text

    revealed = office.submit(f"{path}/reporter", reason="核实举报内容需回访")
    assert revealed.status_code == 200, revealed.text
    assert 'id="reporter-identity"' in revealed.text
    assert NAME in revealed.text and PHONE in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert NAME not in office.page(path).text  # shown once, not kept

    def audited() -> list[dict[str, Any]] | None:
        params = {"type": "ReporterIdentityViewed", "case_id": case_id}
        r = api.get("/api/v1/audit", params=params, headers=api.auth("supervisor", "纪委乙"))
        items: list[dict[str, Any]] = r.json()["items"]
        return items or None

    [look] = wait_for(audited, 30, "the reveal in the audit trail")
    assert look["actor"]["name"] == "周主任" and look["data"]["reason"] == "核实举报内容需回访"
    assert NAME not in str(look) and PHONE not in str(look)
