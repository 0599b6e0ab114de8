"""Cases walked past registration — dispatch's steps, tracking's feedback, evaluations, a
second pass and close-out — against whichever replica of a service answers, so that replicas
can be killed between steps (issue 17 point 6: not only tips under kills)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.harness import FEEDBACK, RESULT, FaultyDeployment

UNIT = "FAULTS-WALK"
BOTH_FINDINGS = {
    "direct_person_findings": "直接责任人张某推诿,已批评教育",
    "leadership_findings": "分管领导督促不力,已责令书面检查",
}
DECISION = {
    "target_kind": "leadership",
    "name": "故障测试单位领导班子",
    "unit": UNIT,
    "liability": "collective",
    "measures": ["written_self_criticism"],
    "decided_by": "superior_department",
    "decided_on": "2026-03-02",
}
# Not there yet (a replica's consumer has not seen the step before): ask again.
NOT_YET = (404, 409, 502, 503)
STEP_SECONDS = 60.0


@dataclass
class Walk:
    """One case and the steps still ahead of it."""

    case_id: str
    steps: list[tuple[str, str, str, dict[str, Any], int]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)


def first_pass(satisfied: bool) -> list[tuple[str, str, str, dict[str, Any], int]]:
    """(service, action, role, body, expected status) for a 市长专线 case to its rating."""
    rating = {"rating": "satisfied" if satisfied else "dissatisfied"}
    return [
        ("dispatch", "triage", "office", {"track": "general"}, 200),
        ("dispatch", "dispatch", "office", {"lead_unit": UNIT}, 200),
        ("dispatch", "sign", "unit_liaison", {}, 200),
        ("dispatch", "results", "unit_liaison", RESULT, 201),
        ("dispatch", "results/1/review", "office", {"accepted": True}, 200),
        ("tracking", "feedback", "office", FEEDBACK | {"channel": "online_publication"}, 201),
        ("tracking", "feedback", "office", FEEDBACK | {"channel": "direct_reply"}, 201),
        ("tracking", "evaluations", "office", rating | COMPLAINANT, 201),
    ]


COMPLAINANT = {"evaluator_kind": "complainant"}
SECOND_PASS = [  # the complainant's dissatisfaction started it; dispatch reopens the case
    ("dispatch", "results", "unit_liaison", RESULT | BOTH_FINDINGS, 201),
    ("dispatch", "results/2/review", "office", {"accepted": True}, 200),
    ("tracking", "feedback", "office", FEEDBACK | {"channel": "online_publication"}, 201),
    ("tracking", "feedback", "office", FEEDBACK | {"channel": "direct_reply"}, 201),
    ("tracking", "evaluations", "office", {"rating": "satisfied"} | COMPLAINANT, 201),
    ("tracking", "accountability", "office", DECISION, 201),  # the second pass opened it
]
CLOSE_OUT = [("tracking", "close-out", "office", {}, 200)]


class Walker:
    def __init__(self, system: FaultyDeployment) -> None:
        self.system = system
        self.http = httpx.Client(timeout=10)

    def unit(self) -> None:
        dispatch = self.system.replicas("dispatch")[0].url
        body = {"code": UNIT, "name": "流程故障测试单位", "kind": "department"}
        r = self.http.post(f"{dispatch}/api/v1/units", json=body, headers=self.auth("admin"))
        assert r.status_code in (201, 409), r.text

    def auth(self, role: str) -> dict[str, str]:
        return self.system.d.auth(role, unit=UNIT if role == "unit_liaison" else None)

    def register(self, second_pass: bool) -> Walk:
        tip = {"channel": "mayor_hotline", "content": f"窗口办事推诿扯皮(流程 {uuid.uuid4()})"}
        r = self.http.post(
            f"{self.system.intake.url}/api/v1/tips", json=tip, headers=self.auth("operator")
        )
        assert r.status_code == 201, r.text
        steps = first_pass(satisfied=not second_pass)
        steps += (SECOND_PASS if second_pass else []) + CLOSE_OUT
        return Walk(r.json()["case_id"], steps)

    def step(self, walk: Walk) -> None:
        """The walk's next step, on any live replica, until its service has what it needs."""
        service, action, role, body, status = walk.steps.pop(0)
        deadline = time.monotonic() + STEP_SECONDS
        answers: list[str] = []
        while time.monotonic() < deadline:
            for replica in self.system.replicas(service):
                url = f"{replica.url}/api/v1/cases/{walk.case_id}/{action}"
                try:
                    r = self.http.post(url, json=body, headers=self.auth(role))
                except httpx.TransportError:
                    continue  # killed, or still starting: the other replica
                if r.status_code == status:
                    walk.done.append(action)
                    return
                assert r.status_code in NOT_YET, f"{action}: {r.status_code} {r.text}"
                answers.append(f"{r.status_code} {r.text[:120]}")
            time.sleep(0.2)
        raise AssertionError(f"{action} never accepted: {answers[-3:]}")
