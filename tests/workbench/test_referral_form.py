"""The office decides on a referred dissatisfaction from the case page (issue 20, ADR 20): a
人大代表's 不满意 shows as pending with a form for the office only; a decision without a
reason comes back with the API's message beside it; a decision is recorded and shown."""

from __future__ import annotations

from tests.support.tracking import Served, served_fixture  # noqa: F401
from tests.support.workbench import Workbench
from tests.tracking.test_evaluators import DEPUTY, awaiting_evaluation, rated


def signed_in(served: Served, role: str, name: str, unit: str | None = None) -> Workbench:
    bench = Workbench(str(served.api.base_url))
    credential = served.api.auth(role, name, unit)["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(credential).status_code == 200
    return bench


def test_the_office_decides_a_referred_dissatisfaction_on_the_case_page(served: Served) -> None:
    case = awaiting_evaluation(served, "反映某校乱收费")
    rated(case, {"rating": "dissatisfied", "comment": "整改不到位"}, **DEPUTY)
    path = f"/ui/cases/{case.id}"

    office = signed_in(served, "office", "周主任")
    page = office.page(path)
    assert 'id="referral-slot"' in page.text and "待办公室研究" in page.text
    form = office.page(f"{path}/referral")
    assert 'id="form-referral"' in form.text and "启动二次办理" in form.text
    supervisor = signed_in(served, "supervisor", "纪委甲")
    assert 'id="form-referral"' not in supervisor.page(f"{path}/referral").text

    unsure = office.submit(f"{path}/referral", decision="maybe", reason="再议")
    assert unsure.status_code == 422 and "请选择是否启动二次办理" in unsure.text
    bare = office.submit(f"{path}/referral", decision="decline", reason="")
    assert bare.status_code == 422, bare.text
    assert 'id="error-referral"' in bare.text

    decided = office.submit(f"{path}/referral", decision="decline", reason="已回访,整改到位")
    assert decided.status_code == 200, decided.text
    assert "已办理" in decided.text and "办公室决定不启动二次办理" in decided.text
    assert 'id="referral-slot"' not in decided.text
    assert case.view()["latest_evaluation"]["referral"] == "declined"
