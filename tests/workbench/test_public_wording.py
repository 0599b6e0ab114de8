"""The workbench's feedback form and issue 20's redaction step: 网上公示 wording that still
names the caller comes back beside the form with the masked text filled in, which the office
reads and submits as its approved wording."""

from __future__ import annotations

from tests.support.tracking import Case, Served, served_fixture  # noqa: F401
from tests.support.workbench import Workbench

WORDING = "经查属实,已退还多收费用。来电人:李四,电话13912345678,已回访。"
MASKED = "经查属实,已退还多收费用。来电人:李某,电话139****5678,已回访。"


def test_the_office_approves_the_masked_public_wording_on_the_case_page(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="mayor_hotline", summary="公示用语").handled("WC-JYQ")
    case.wait_status("awaiting_feedback")
    office = Workbench(str(served.api.base_url))
    token = served.api.auth("office", "办公室甲")["Authorization"].removeprefix("Bearer ")
    assert office.sign_in(token).status_code == 200
    path = f"/ui/cases/{case.id}/actions/feedback"

    refused = office.submit(path, channel="online_publication", content=WORDING)
    assert refused.status_code == 422
    assert (
        "公示内容含有电话号码、姓名" in refused.text and 'id="feedback-suggested"' in refused.text
    )
    assert f">{MASKED}</textarea>" in refused.text
    assert "13912345678" not in refused.text.split('id="error-feedback"')[1]

    approved = office.submit(path, channel="online_publication", content=MASKED)
    assert approved.status_code == 200 and approved.url.params["done"] == "feedback"
    assert {f["channel"]: f["content"] for f in case.view()["feedback"]} == {
        "online_publication": MASKED
    }
