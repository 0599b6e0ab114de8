"""``taizhang demo``: a realistic 区 in the data directory, so that a newcomer sees what the
product does (issue 22 point 6).

A whole-system tool: it starts every service through the composition root (so through the
registry) and carries out :mod:`services.ops.demo_plan` through the public API, as the
operators, the office and the units' liaisons would — the same validation, events and
projections as real work. The deployment's clock is a file clock for the run, moved to each
step's moment, so a case's history, deadlines, reminders and overdue marks are those of the
past year. A data directory that already holds cases is refused (so is production mode):
nothing is written to it then.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.ops.demo_plan import (
    DEMO_SURNAMES,
    DISTRICT_RULES,
    DISTRICT_UNITS,
    HEAD_TITLES,
    Step,
    Tip,
    plan,
)
from shared.contracts.vocabulary import required_feedback
from shared.platform.clock import set_clock
from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token

# A step that waits for another service's consumer tries again this long.
RETRY_SECONDS = 30.0
SETTLED_POLLS = 5  # the ledger unchanged this many polls running (0.3 s apart): caught up
RESULT = {
    "findings": "经查,反映的问题基本属实,相关人员存在履职不到位的情况",
    "rectification": "已约谈相关人员,完善首问负责和限时办结制度,并向反映人说明情况",
    "proposal": {"kind": "rectification", "text": "加强作风建设,建立问题台账逐项销号"},
    "signed_off_by": "单位负责人",
}
BOTH_FINDINGS = {
    "direct_person_findings": "直接责任人履职不力,已批评教育",
    "leadership_findings": "分管领导督促不力,已责令作出书面检查",
}


class DemoRefused(Exception):
    """The demo will not write here (production mode, or cases already in the ledger)."""


class DemoFailed(Exception):
    """A step was refused for good: the API's own answer says why."""


@dataclass
class Report:
    cases: int = 0
    steps: int = 0
    by_fate: Counter[str] = field(default_factory=Counter)


async def run_demo(
    settings: Settings,
    as_of: datetime,
    cases: int = 300,
    on_step: Callable[[int, int], None] | None = None,
) -> Report:
    """Seed the data directory; ``on_step(done, total)`` follows the progress."""
    from services.app import create_app

    if settings.is_production:
        raise DemoRefused("演示数据不能写入生产环境 (refused in production mode)")
    with tempfile.TemporaryDirectory(prefix="taizhang-demo-") as scratch:
        clock = Path(scratch) / "now"
        set_clock(clock, as_of - timedelta(days=366))
        app = create_app(settings.model_copy(update={"clock_file": clock}))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://demo", timeout=60) as http,
        ):
            driver = Driver(http, settings, clock)
            await driver.refuse_if_cases()
            units = await driver.district(as_of)
            tips, steps = plan(as_of, cases, units)
            for done, step in enumerate(steps, 1):
                set_clock(clock, step.at)
                await driver.carry_out(tips[step.case], step)
                if on_step:
                    on_step(done, len(steps))
            set_clock(clock, as_of)
            await driver.until_ledger_settles(len(tips))
    return Report(len(tips), len(steps), Counter(t.fate for t in tips))


class Driver:
    """The people of the demo, each with a credential of their role, speaking to the API."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings, clock: Path) -> None:
        self.http, self.secrets, self.clock = http, load_secrets(settings), clock
        self.ids: dict[int, dict[str, str]] = {}  # plan's case → case_id and number
        self.unit_names: dict[str, str] = {}

    def as_(self, role: str, unit: str | None = None) -> dict[str, str]:
        names = {"operator": "话务员小陈", "office": "纠风办老刘", "admin": "管理员"}
        name = names.get(role, "联络员")
        token = issue_token(self.secrets, role=Role(role), name=name, unit=unit)
        return {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}

    async def refuse_if_cases(self) -> None:
        found = await self.http.get("/api/v1/ledger?page_size=1", headers=self.as_("office"))
        if found.status_code != 200 or found.json()["total"]:
            raise DemoRefused(
                "数据目录中已有案件,演示数据只写入全新的数据目录 (already holds cases)"
            )

    async def heads(self, units: list[dict[str, Any]]) -> None:
        """A 单位负责人 for each unit without one (the Excel ledger prints it beside the lead
        unit): invented, as every name in the demo is."""
        for n, unit in enumerate(u for u in units if not u.get("responsible_person")):
            body = {
                "name": unit["name"],
                "kind": unit["kind"],
                "parent": unit.get("parent"),
                "liaisons": [{"name": c["name"]} for c in unit.get("liaisons") or []],
                "responsible_person": {
                    "name": DEMO_SURNAMES[n % len(DEMO_SURNAMES)] + "某",
                    "position": HEAD_TITLES.get(unit["kind"], "负责人"),
                },
            }
            await self.put(f"/api/v1/units/{unit['code']}", body)

    async def district(self, as_of: datetime) -> list[str]:
        """The district's units (the seed's, on a fresh embedded data directory; else the
        demo's own, with their routing rules) and a calendar for the year's deadlines."""
        answer = await self.http.get("/api/v1/units", headers=self.as_("office"))
        if not answer.json()["items"]:
            for code, name, kind in DISTRICT_UNITS:
                body = {"code": code, "name": name, "kind": kind}
                await self.send("POST", "/api/v1/units", "admin", body, status=201)
            empty: dict[str, list[str]] = {
                name: [] for name in ("categories", "districts", "streets", "channels", "keywords")
            }
            rules = {"rules": [r | {"match": empty | r["match"]} for r in DISTRICT_RULES]}
            await self.put("/api/v1/routing-rules", rules)
            answer = await self.http.get("/api/v1/units", headers=self.as_("office"))
        for year in sorted({as_of.year - 1, as_of.year}):
            found = await self.http.get(f"/api/v1/calendar/{year}", headers=self.as_("office"))
            if found.status_code == 404:  # weekends only: better than no deadlines at all
                await self.put(f"/api/v1/calendar/{year}", {"holidays": [], "workdays": []})
        active = [u for u in answer.json()["items"] if u.get("active", True)]
        await self.heads(active)
        self.unit_names = {u["code"]: u["name"] for u in active}
        codes = list(self.unit_names)
        if not codes:
            raise DemoRefused("没有责任单位:请先载入单位名录 (no units to dispatch to)")
        return codes

    async def put(self, path: str, body: Any) -> None:
        answer = await self.http.put(path, json=body, headers=self.as_("admin"))
        if answer.status_code != 200:
            raise DemoFailed(f"PUT {path}: {answer.status_code} {answer.text}")

    async def carry_out(self, tip: Tip, step: Step) -> None:
        if step.kind == "register":
            answer = await self.send("POST", "/api/v1/tips", "operator", tip.body, status=201)
            self.ids[tip.case] = {"id": answer["case_id"], "number": answer["number"]}
            return
        path, role, body = _command(tip, step, self.ids)
        if step.kind == "close":
            await self.close_out(tip, path)
            return
        unit = tip.lead_unit if role == "unit_liaison" else None
        for one in body if isinstance(body, list) else [body]:
            await self.send("POST", path.format(**self.ids[tip.case]), role, one, unit=unit)

    async def close_out(self, tip: Tip, path: str) -> None:
        """销号, after whatever the follow-up says is still owed (an accountability decision,
        a report back to the higher level)."""
        case = self.ids[tip.case]["id"]
        for _ in range(3):
            answer = await self._post_retrying(path.format(**self.ids[tip.case]), "office", None)
            if answer.status_code < 300:
                return
            owed = [m["code"] for m in answer.json().get("missing", [])]
            if not owed:
                break
            if "accountability_undecided" in owed:
                await self.send(
                    "POST", f"/api/v1/cases/{case}/accountability", "office", _finding(self, tip)
                )
            if "report_back_missing" in owed:
                body = {"reported_to": "市纪委监委", "content": "问责决定及整改情况已回告"}
                await self.send(
                    "POST", f"/api/v1/cases/{case}/accountability/report-back", "office", body
                )
        raise DemoFailed(f"销号未成功 {tip.case}: {answer.text}")

    async def send(
        self,
        method: str,
        path: str,
        role: str,
        body: Any,
        *,
        unit: str | None = None,
        status: int | None = None,
    ) -> Any:
        answer = await self._post_retrying(path, role, body, unit)
        if answer.status_code >= 300 or (status and answer.status_code != status):
            raise DemoFailed(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else {}

    async def _post_retrying(
        self, path: str, role: str, body: Any, unit: str | None = None
    ) -> httpx.Response:
        """404 (a consumer has not seen the case yet) and 409 (nor its last change) are tried
        again for a while; any other answer is final."""
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            answer = await self.http.post(path, json=body, headers=self.as_(role, unit))
            waiting = answer.status_code in (404, 409) and not answer.json().get("missing")
            if not waiting or time.monotonic() > deadline:
                return answer
            await asyncio.sleep(0.05)

    async def until_ledger_settles(self, count: int) -> None:
        """Until the ledger shows every case registered and nothing changes for a while: the
        consumers have applied what the demo did (a restart would resume them anyway)."""
        deadline, last, still = time.monotonic() + RETRY_SECONDS * 4, None, 0
        while time.monotonic() < deadline:
            seen = await self.ledger_snapshot()
            done = len(seen) >= count and all(at for _, at, _ in seen)
            still = still + 1 if done and seen == last else 0
            if still >= SETTLED_POLLS:
                return
            last = seen
            await asyncio.sleep(0.3)
        raise DemoFailed("台账未能在时限内显示全部演示案件 (the ledger did not catch up)")

    async def ledger_snapshot(self) -> list[tuple[str, str | None, str]]:
        rows, page = [], 1
        while True:
            params = {"page": page, "page_size": 200}
            found = await self.http.get("/api/v1/ledger", params=params, headers=self.as_("office"))
            items = found.json()["items"]
            rows += [(r["case_id"], r.get("registered_at"), r["status"]) for r in items]
            if len(items) < 200:
                return sorted(rows)
            page += 1


def _finding(driver: Driver, tip: Tip) -> dict[str, Any]:
    today = datetime.fromisoformat(driver.clock.read_text().split()[0]).date().isoformat()
    return {
        "target_kind": "person",
        "name": tip.body["subject"]["person"],
        "unit": driver.unit_names.get(tip.lead_unit, tip.lead_unit),
        "position": tip.body["subject"]["position"],
        "liability": "direct",
        "measures": ["criticism_education"],
        "grounds": "经查属实,情节较轻",
        "decided_by": "appointing_authority",
        "decided_on": today,
    }


def _command(tip: Tip, step: Step, ids: dict[int, dict[str, str]]) -> tuple[str, str, Any]:
    """The path (with ``{id}``), the role and the body of one step."""
    case, kind = "/api/v1/cases/{id}", step.kind
    named = "reporter" in tip.body
    if kind == "merge":
        assert tip.merge_into is not None
        return (
            f"{case}/merge",
            "office",
            {"into": ids[tip.merge_into]["number"], "reason": "同一问题重复反映"},
        )
    feedback = [
        {"channel": channel.value, "content": "已按要求反馈办理结果"}
        for channel in sorted(required_feedback(tip.body["channel"], named))
    ]
    pass_two = tip.fate == "closed_second_pass" and step.at - tip.registered_at > timedelta(days=15)
    commands: dict[str, tuple[str, str, Any]] = {
        "triage": ("triage", "office", {"track": "general"}),
        "dispatch": ("dispatch", "office", {"lead_unit": tip.lead_unit, "co_units": []}),
        "not_accept": (
            "not-accepted",
            "office",
            {"reason": "反映内容不属于本办受理范围,已告知反映人"},
        ),
        "sign": ("sign", "unit_liaison", None),
        "return": (
            "return",
            "unit_liaison",
            {"reason": "该事项不属于本单位职责,建议交由属地街道办理"},
        ),
        "progress": ("progress", "unit_liaison", {"note": "已成立核查小组,正在调查核实"}),
        "extend": (
            "extensions",
            "unit_liaison",
            {"working_days": 10, "reason": "涉及多个部门,需延期核查"},
        ),
        "grant": ("extensions/1/decision", "office", {"granted": True}),
        "result": ("results", "unit_liaison", RESULT | (BOTH_FINDINGS if pass_two else {})),
        "review": (f"results/{2 if pass_two else 1}/review", "office", {"accepted": True}),
        "feedback": ("feedback", "office", feedback),
        "evaluate": (
            "evaluations",
            "office",
            {"rating": "satisfied", "evaluator_kind": "complainant"},
        ),
        "dissatisfied": (
            "evaluations",
            "office",
            {"rating": "dissatisfied", "evaluator_kind": "complainant"},
        ),
        "close": ("close-out", "office", None),
    }
    path, role, body = commands[kind]
    return f"{case}/{path}", role, body
