"""Make the embedded store of the previous release (0.1, commit 59583eb) that the upgrade test
migrates with the current code. Run it with THAT release's code, never with this one's:

    git worktree add --detach /tmp/taizhang-0.1 59583eb && cd /tmp/taizhang-0.1
    PYTHONPATH=. <a venv with the project's deps>/bin/python \\
        <this repo>/tests/data/release-0.1/make_store.py /tmp/release-0.1
    cp -r /tmp/release-0.1/data <this repo>/tests/data/release-0.1/store
    cp /tmp/release-0.1/expected.json <this repo>/tests/data/release-0.1/

It walks four cases through the release's HTTP API — one through a second pass, feedback,
evaluations, accountability and close-out; one named reporter's, signed for; one anonymous,
only registered; one returned by its unit — and writes ``expected.json``: what the release's
own ledger showed for each, which the current code must show again after upgrading.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from shared.auth import Role, issue_token
from shared.settings import Settings, load_secrets

from services.app import create_app

UNIT, OTHER = "UPG-LEAD", "UPG-OTHER"
RESULT = {
    "findings": "经查属实,窗口工作人员存在推诿行为",
    "rectification": "已对窗口流程整改,实行首问负责制",
    "proposal": {"kind": "rectification", "text": "加强窗口作风建设"},
    "signed_off_by": "局长 李某",
}
BOTH = {"direct_person_findings": "直接责任人张某推诿", "leadership_findings": "分管领导督促不力"}
NAMED = {
    "anonymous": False,
    "name": "升级测试人",
    "phone": "13900001111",
    "id_number": "420106199001011234",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Walk:
    def __init__(self, base: str, settings: Settings) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.secrets = load_secrets(settings)

    def auth(self, role: str, unit: str | None = None) -> dict[str, str]:
        token = issue_token(self.secrets, role=Role(role), name=f"{role}甲", unit=unit)
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, role: str, unit: str | None = None, ok: int = 200, **body: Any):  # type: ignore[no-untyped-def]
        r = self.http.post(path, json=body, headers=self.auth(role, unit))
        assert r.status_code == ok, (path, r.status_code, r.text)
        return r.json()

    def case(self, case_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/cases/{case_id}", headers=self.auth("office"))
        return r.json() if r.status_code == 200 else {}

    def until(self, case_id: str, status: str, pass_no: int = 1) -> dict[str, Any]:
        for _ in range(600):
            row = self.case(case_id)
            if row.get("status") == status and row.get("pass_no") == pass_no:
                return row
            time.sleep(0.05)
        raise AssertionError(f"{case_id} never reached {status}")

    def tracking(self, case_id: str, action: str, role: str = "office", **body: Any) -> None:
        for _ in range(600):  # the follow-up may have the accepted result a moment later
            r = self.http.post(
                f"/api/v1/cases/{case_id}/{action}", json=body, headers=self.auth(role)
            )
            if r.status_code in (200, 201):
                return
            assert r.status_code == 409, r.text
            time.sleep(0.05)
        raise AssertionError(f"{action} never accepted")


def walk(w: Walk) -> dict[str, str]:
    for code, name in ((UNIT, "区政务服务中心"), (OTHER, "区城管局")):
        w.post("/api/v1/units", "admin", ok=201, code=code, name=name, kind="department")
    tip = {"channel": "mayor_hotline", "content": "某窗口工作人员推诿扯皮,多次往返未办结"}
    full = w.post("/api/v1/tips", "operator", ok=201, **tip, summary="窗口推诿扯皮")["case_id"]
    w.until(full, "registered")
    w.post(f"/api/v1/cases/{full}/triage", "office", track="general", category="buck_passing")
    w.post(f"/api/v1/cases/{full}/dispatch", "office", lead_unit=UNIT, co_units=[])
    w.until(full, "dispatched")
    w.post(f"/api/v1/cases/{full}/sign", "unit_liaison", UNIT)
    w.post(f"/api/v1/cases/{full}/results", "unit_liaison", UNIT, ok=201, **RESULT)
    w.post(f"/api/v1/cases/{full}/results/1/review", "office", accepted=True)
    w.until(full, "awaiting_feedback")
    w.tracking(full, "feedback", channel="online_publication", content="已在网上公示")
    w.tracking(full, "feedback", channel="direct_reply", content="已电话告知投诉人")
    w.until(full, "awaiting_evaluation")
    w.tracking(full, "evaluations", "evaluator", rating="dissatisfied", evaluator_kind="npc_deputy")
    w.until(full, "in_progress", pass_no=2)
    w.post(f"/api/v1/cases/{full}/results", "unit_liaison", UNIT, ok=201, **RESULT, **BOTH)
    w.post(f"/api/v1/cases/{full}/results/2/review", "office", accepted=True)
    w.until(full, "awaiting_feedback", pass_no=2)
    w.tracking(full, "feedback", channel="online_publication", content="二次办理结果已公示")
    w.tracking(full, "feedback", channel="direct_reply", content="已再次回复投诉人")
    w.until(full, "awaiting_evaluation", pass_no=2)
    w.tracking(full, "evaluations", "evaluator", rating="satisfied", evaluator_kind="npc_deputy")
    accountability = {"target_kind": "leadership", "name": "王某", "position": "分管副局长"}
    w.tracking(
        full,
        "accountability",
        **accountability,
        measures=["written_self_criticism"],
        circumstances="none",
    )
    w.tracking(full, "close-out")
    w.until(full, "closed_out", pass_no=2)

    named_tip = {
        "channel": "conduct_hotline",
        "content": "某所收取资料费不开票据",
        "reporter": NAMED,
    }
    r = w.http.post(
        "/api/v1/tips",
        json=named_tip,
        headers=w.auth("operator") | {"Idempotency-Key": "upgrade-named-1"},
    )
    assert r.status_code == 201, r.text
    named = r.json()["case_id"]
    w.until(named, "registered")
    w.post(f"/api/v1/cases/{named}/triage", "office", track="supervised")
    w.post(f"/api/v1/cases/{named}/dispatch", "office", lead_unit=UNIT, co_units=[OTHER])
    w.until(named, "dispatched")
    w.post(f"/api/v1/cases/{named}/sign", "unit_liaison", UNIT)
    w.until(named, "in_progress")

    hotline = {"channel": "hotline_12388"}
    anonymous = w.post("/api/v1/tips", "operator", ok=201, **hotline, content="某局上班时间玩游戏")
    w.until(anonymous["case_id"], "registered")

    returned = w.post("/api/v1/tips", "operator", ok=201, **hotline, content="道路积水无人处理")
    returned = returned["case_id"]
    w.until(returned, "registered")
    w.post(f"/api/v1/cases/{returned}/triage", "office", track="general")
    w.post(f"/api/v1/cases/{returned}/dispatch", "office", lead_unit=OTHER, co_units=[])
    w.until(returned, "dispatched")
    w.post(f"/api/v1/cases/{returned}/return", "unit_liaison", OTHER, reason="非本单位职责")
    w.until(returned, "returned")
    return {
        "full": full,
        "named": named,
        "anonymous": anonymous["case_id"],
        "receipt_code": anonymous["receipt_code"],
        "returned": returned,
    }


def expected(w: Walk, ids: dict[str, str]) -> dict[str, Any]:
    keep = ("number", "status", "pass_no", "track", "named", "returns", "repeats")
    cases = {}
    for role, case_id in ids.items():
        if role == "receipt_code":
            continue
        row = w.case(case_id)
        history = w.http.get(f"/api/v1/cases/{case_id}/history", headers=w.auth("office"))
        cases[role] = {k: row.get(k) for k in keep} | {
            "case_id": case_id,
            "lead_unit": (row.get("lead_unit") or {}).get("code"),
            "accountability": len(row.get("accountability") or []),
            "history": [e["type"] for e in history.json()["items"]],
        }
    return {"release": "0.1 (59583eb)", "receipt_code": ids["receipt_code"], "cases": cases}


def main(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    settings = Settings(data_dir=out / "data")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=free_port(), lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    w = Walk(f"http://127.0.0.1:{server.config.port}", settings)
    try:
        ids = walk(w)
        time.sleep(1)  # let every follower settle before reading the answers
        (out / "expected.json").write_text(
            json.dumps(expected(w, ids), ensure_ascii=False, indent=2) + "\n"
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
