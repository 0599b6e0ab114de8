"""Template cases of every shape, walked through the real services (issue 24, point 1).

The rebuild bench measured ``Tip.Registered`` alone; an office's store holds whole cases. These
walks drive the all-in-one app (intake, dispatch and tracking in one process, in-process
followers) over HTTP, as the office and the units would, so that the three stores hold real
events of each shape: a tip on the desk; a case closed out after feedback and a satisfied
evaluation; one through a dissatisfied evaluation and a second pass; one returned by a unit,
redispatched and overruled, with an extension; one merged into another (a fold spanning two
cases: ``Merged`` on one, ``RepeatReportLinked`` on the other); one not accepted.
``bench.clone`` then copies them into as many cases as the bench asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.support.api import Api
from tests.support.infra import wait_for

LEAD, OTHER = "BENCH-LEAD", "BENCH-OTHER"
RESULT = {
    "findings": "经查属实,窗口工作人员存在推诿行为",
    "rectification": "已对窗口流程整改,实行首问负责制",
    "proposal": {"kind": "rectification", "text": "加强窗口作风建设"},
    "signed_off_by": "局长 李某",
}
BOTH_FINDINGS = {
    "direct_person_findings": "直接责任人张某推诿,已批评教育",
    "leadership_findings": "分管领导督促不力,已责令书面检查",
}
TIP = {
    "channel": "mayor_hotline",  # online publication and a direct reply are required
    "content": "某窗口工作人员对前来办事的群众推诿扯皮,多次往返未办结",
    "summary": "窗口推诿扯皮",
}


class Walker:
    """One case at a time, through the app at ``api``."""

    def __init__(self, api: Api, tip: Callable[[int], dict[str, Any]]) -> None:
        self.api = api
        self.tip = tip
        self.n = 0

    def units(self) -> None:
        for code in (LEAD, OTHER):
            body = {"code": code, "name": f"基准单位{code}", "kind": "department"}
            r = self.api.post("/api/v1/units", json=body, headers=self.api.auth("admin"))
            assert r.status_code in (201, 409), r.text

    def register(self) -> tuple[str, str]:
        self.n += 1
        r = self.api.register(**(self.tip(self.n) | TIP))
        assert r.status_code == 201, r.text
        case_id, number = r.json()["case_id"], r.json()["number"]
        self.until_dispatch(case_id, "registered")
        return case_id, number

    def act(self, case_id: str, path: str, role: str = "office", **body: Any) -> httpx.Response:
        unit = LEAD if role == "unit_liaison" and "unit" not in body else body.pop("unit", None)
        headers = self.api.auth(role, unit=unit)
        r = self.api.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        return r

    def until_dispatch(self, case_id: str, status: str, pass_no: int = 1) -> None:
        def there() -> bool:
            r = self.api.get(f"/api/v1/cases/{case_id}/dispatch", headers=self.api.auth("office"))
            v = r.json() if r.status_code == 200 else {}
            return v.get("status") == status and v.get("pass_no", 1) == pass_no

        wait_for(there, 60, f"dispatch to show {status}", interval=0.05)

    def first_feedback(self, case_id: str) -> None:
        """Tracking's follow-up takes feedback a moment after dispatch accepted the result
        (another consumer): until then a 409."""
        body = {"channel": "online_publication", "content": "已在网上公示办理结果"}
        headers = self.api.auth("office")

        def taken() -> bool:
            r = self.api.post(f"/api/v1/cases/{case_id}/feedback", json=body, headers=headers)
            assert r.status_code in (201, 409), r.text
            return r.status_code == 201

        wait_for(taken, 60, "the follow-up to take feedback", interval=0.05)

    # --- shapes ------------------------------------------------------------------------------

    def handled(self, case_id: str, n: int = 1, **findings: Any) -> None:
        """Dispatched (when first), signed, result submitted and accepted."""
        if n == 1:
            self.act(case_id, "triage", track="general", category="buck_passing")
            self.act(case_id, "dispatch", lead_unit=LEAD, co_units=[OTHER])
            self.act(case_id, "sign", "unit_liaison")
            self.act(case_id, "progress", "unit_liaison", unit=OTHER, note="协办单位已走访核实")
        self.act(case_id, "results", "unit_liaison", **(RESULT | findings))
        self.act(case_id, f"results/{n}/review", accepted=True)

    def fed_back(self, case_id: str) -> None:
        self.first_feedback(case_id)
        self.act(case_id, "feedback", channel="direct_reply", content="已电话告知投诉人")

    def closed(self) -> str:
        case_id, number = self.register()
        self.handled(case_id)
        self.fed_back(case_id)
        self.act(case_id, "evaluations", "evaluator", rating="satisfied")
        self.act(case_id, "close-out")
        return number

    def second_pass(self) -> None:
        case_id, _ = self.register()
        self.handled(case_id)
        self.fed_back(case_id)
        self.act(case_id, "evaluations", "evaluator", rating="dissatisfied")
        self.act(case_id, "second-pass", start=True, reason="意见属实,二次办理")
        self.until_dispatch(case_id, "in_progress", pass_no=2)
        self.handled(case_id, 2, **BOTH_FINDINGS)
        self.fed_back(case_id)
        self.act(case_id, "evaluations", "evaluator", rating="satisfied")
        accountability = {
            "target_kind": "leadership",
            "name": "王某",
            "position": "分管副局长",
            "measures": ["written_self_criticism"],
            "circumstances": "none",
        }
        self.act(case_id, "accountability", **accountability)
        self.act(case_id, "close-out")

    def returned(self) -> None:
        case_id, _ = self.register()
        self.act(case_id, "triage", track="general", category="buck_passing")
        self.act(case_id, "dispatch", lead_unit=OTHER)
        self.act(case_id, "return", "unit_liaison", unit=OTHER, reason="不属于本单位职责")
        self.act(case_id, "dispatch", lead_unit=LEAD)
        self.act(case_id, "return", "unit_liaison", reason="应由属地街道办理")
        self.act(case_id, "overrule-return", reason="属本单位职责,应予办理")
        self.act(case_id, "sign", "unit_liaison")
        self.act(case_id, "extensions", "unit_liaison", working_days=3, reason="需调取监控")
        self.act(case_id, "extensions/1/decision", granted=True, reason="同意")

    def merged(self, into: str) -> None:
        case_id, _ = self.register()
        self.act(case_id, "merge", into=into, reason="重复反映")

    def not_accepted(self) -> None:
        case_id, _ = self.register()
        self.act(case_id, "not-accepted", reason="不属于受理范围")

    def on_the_desk(self) -> None:
        self.register()

    def every_shape(self) -> None:
        """One case of each shape; a repeat report merged into the closed one."""
        number = self.closed()
        self.merged(number)
        self.second_pass()
        self.returned()
        self.not_accepted()
        self.on_the_desk()
