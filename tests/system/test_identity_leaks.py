"""The worst bug this product can have is a leaked reporter identity. Register a named tip,
let it flow through every service, then look everywhere it could have leaked: database
files and tables, NATS streams, service logs, every answer — for each value in clear, as JSON
escapes, base64 and hex, and for the unkeyed SHA-256/MD5 of each value and of the request
(ADR 18: anything derived from identity without a key is a leak). The named reporter's
receipt code (ADR 44) is looked for the same way: it is stored only sealed and keyed. The
reporter agreed to texts and, apart, stops them by replying 「TD」 through the SMS gateway's
webhook (ADR 49): the phone is then looked up by a keyed digest only."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.api import Api, feedback_taken
from tests.support.deployment import Deployment
from tests.support.infra import wait_for
from tests.support.pinned import TODAY

NAME, PHONE, ID_NUMBER, EMAIL = (
    "欧阳举报人",
    "13987654321",
    "42010619900307123X",
    "whistle@example.cn",
)
SECRETS = [NAME, PHONE, ID_NUMBER, EMAIL]
RESULT = {
    "findings": "经查属实,科长收受购物卡",
    "rectification": "已退还购物卡并作检讨",
    "proposal": {"kind": "rectification", "text": "加强廉洁教育"},
    "signed_off_by": "局长 李某",
}
TIP = {
    "channel": "hotline_12388",
    "content": "某局科长违规收受购物卡",
    "summary": "收受购物卡",
    "reporter": {
        "anonymous": False,
        "name": NAME,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "email": EMAIL,
        "sms_consent": True,
    },
}
GATEWAY_SECRET = "gw-" + "Leak" * 10  # intake apart takes replies (ADR 49)


def _request_digest() -> str:
    """What release 0.1 stored as the request's fingerprint: its unkeyed SHA-256."""
    from services.intake.schemas import TipIn

    return TipIn.model_validate(TIP).fingerprint()


def forms(secret: str) -> set[str]:
    """Every way a value may be written that gives it away without a key."""
    raw = secret.encode()
    written = {secret, json.dumps(secret)[1:-1], base64.b64encode(raw).decode().rstrip("=")}
    written |= {raw.hex(), raw.hex().upper(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    for digest in (hashlib.sha256(raw), hashlib.md5(raw)):
        written |= {digest.hexdigest(), base64.b64encode(digest.digest()).decode().rstrip("=")}
    return written


def leaks(text: str, *more: str) -> list[str]:
    """Each secret (and each of ``more``: the receipt code) found in clear or in any of its
    unkeyed forms; the request's digest too."""
    found = [s for s in (*SECRETS, *more) if any(form in text for form in forms(s))]
    if _request_digest() in text or _request_digest().upper() in text:
        found.append("the request's unkeyed SHA-256")
    return found


def test_nothing_stored_or_logged_embedded_shows_the_identity(api: Api, tmp_path: Path) -> None:
    r = api.post("/api/v1/tips", json=TIP, headers=api.auth("operator"))
    assert r.status_code == 201
    case_id, code = r.json()["case_id"], r.json()["receipt_code"]
    wait_for(
        lambda: api.get("/api/v1/ledger", headers=api.auth("office")).json()["items"],
        30,
        "the ledger",
    )
    for role in ("operator", "office", "supervisor", "admin"):
        for path in (f"/api/v1/tips/{case_id}", "/api/v1/ledger", f"/api/v1/cases/{case_id}"):
            answer = api.get(path, headers=api.auth(role, "话务员甲", unit="WC-JYQ"))
            assert leaks(answer.text, code) == [], (role, path)
    number = r.json()["number"]
    for path in ("requests.json", "requests.xml", f"requests/{number}.xml"):  # public: Open311
        assert leaks(api.get(f"/open311/v2/{path}").text) == [], path
    if api.settings.database_url is None:
        for db in api.settings.data_dir.glob("*.sqlite*"):
            assert leaks(db.read_bytes().decode("utf-8", "replace"), code) == [], db.name
    else:
        dumped = dump_schema(api.settings.database_url, api.settings.database_schema)
        assert leaks(dumped, code) == []


@pytest.mark.postgres
@pytest.mark.nats
def test_nothing_in_postgres_nats_logs_exports_or_public_answers_shows_the_identity(
    deployment: Deployment, pg_url: str, pg_schema: str
) -> None:
    """The named tip walked to close-out across processes (revealed once, searched for by
    name and phone, exported, answered in public, audited), then everything scanned."""
    replies = {"TAIZHANG_SMS_REPLY_SECRET": GATEWAY_SECRET}
    urls = {
        name: deployment.start(name, **(replies if name == "intake" else {})).url
        for name in ("intake", "dispatch", "tracking")
    }
    walk = Walk(urls, deployment)
    number = walk.to_close_out()
    answers = walk.exports_and_public_answers(number)
    assert len(answers) >= 8
    for where in ("/api/v1/ledger.xlsx", "/open311/v2/requests.json", "/public/v1/results"):
        assert number in answers[where], where  # the case is in each: absence means something
    code = walk.receipt_code  # looked up and rated by on the way (ADR 44)
    for where, text in answers.items():
        assert leaks(text, code) == [], where
    assert leaks(dump_schema(pg_url, pg_schema), code) == []
    assert leaks(asyncio.run(dump_streams(deployment)), code) == []
    assert leaks(deployment.logs(), code) == []


UNIT = "LEAK-LEAD"


class Walk:
    """One named tip through the services apart, as the office, the unit and the public act."""

    def __init__(self, urls: dict[str, str], deployment: Deployment) -> None:
        import httpx

        self.urls, self.d = urls, deployment
        self.http = httpx.Client(timeout=60)
        self.case_id = ""
        self.receipt_code = ""

    def call(
        self,
        method: str,
        service: str,
        path: str,
        role: str | None = None,
        unit: str | None = None,
        **kw: Any,
    ) -> Any:
        headers = self.d.auth(role, f"{role}甲", unit) if role else {}
        return self.http.request(method, self.urls[service] + path, headers=headers, **kw)

    def act(
        self,
        service: str,
        action: str,
        role: str,
        unit: str | None = None,
        status: int = 200,
        **body: Any,
    ) -> None:
        path = f"/api/v1/cases/{self.case_id}/{action}"
        r = self.call("POST", service, path, role, unit, json=body)
        assert r.status_code == status, r.text

    def until(self, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            r = self.call("GET", "tracking", f"/api/v1/cases/{self.case_id}", "office")
            return r.json() if r.status_code == 200 and r.json()["status"] == status else None

        found: dict[str, Any] = wait_for(reached, 60, f"the ledger to show {status}", 0.2)
        return found

    def to_close_out(self) -> str:
        unit = {"code": UNIT, "name": "区政务服务中心", "kind": "department"}
        assert self.call("POST", "dispatch", "/api/v1/units", "admin", json=unit).status_code in (
            201,
            409,
        )
        tip = self.call("POST", "intake", "/api/v1/tips", "operator", json=TIP)
        assert tip.status_code == 201, tip.text
        self.case_id, number = tip.json()["case_id"], tip.json()["number"]
        self.receipt_code = tip.json()["receipt_code"]
        view = self.call(
            "POST",
            "intake",
            f"/api/v1/tips/{self.case_id}/reporter-views",
            "office",
            json={"reason": "核实举报内容"},
        )
        assert view.json()["name"] == NAME  # the one audited way to see it
        self.until("registered")
        self.stop_texts_by_reply()
        for term in (NAME, PHONE):  # query strings the access logs must not keep
            found = self.call("GET", "tracking", "/api/v1/ledger", "office", params={"q": term})
            assert found.status_code == 200, found.text
        self.act("dispatch", "triage", "office", track="general", category="buck_passing")
        self.act("dispatch", "dispatch", "office", lead_unit=UNIT, co_units=[])
        self.until("dispatched")
        self.act("dispatch", "sign", "unit_liaison", UNIT)
        self.until("in_progress")
        self.act("dispatch", "results", "unit_liaison", UNIT, status=201, **RESULT)
        self.until("result_submitted")
        self.act("dispatch", "results/1/review", "office", accepted=True)
        self.until("awaiting_feedback")

        body = {"channel": "online_publication", "content": "已在网上公示办理结果"}
        path = f"/api/v1/cases/{self.case_id}/feedback"
        # Published, so the case is in the public answers (Open311, /public/v1/results).
        feedback_taken(lambda: self.call("POST", "tracking", path, "office", json=body))
        self.act(
            "tracking",
            "feedback",
            "office",
            status=201,
            channel="direct_reply",
            content="已电话告知处理结果",
        )
        self.until("awaiting_evaluation")
        self.act(
            "tracking",
            "evaluations",
            "evaluator",
            status=201,
            rating="satisfied",
            evaluator_kind="npc_deputy",
        )
        path = f"/public/v1/receipts/{self.receipt_code}/evaluation"  # the complainant
        rated = self.call("POST", "tracking", path, json={"rating": "satisfied"})
        assert rated.status_code == 201, rated.text
        self.act("tracking", "close-out", "office")
        self.until("closed_out")
        return number

    def stop_texts_by_reply(self) -> None:
        """「TD」 from the reporter's phone, as the gateway writes it (ADR 49)."""
        reply = {
            "phone": f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}",
            "text": " ＴＤ ",
            "received_at": "2026-12-08T09:30:00+08:00",
            "message_id": "leak-walk-1",
        }
        headers = {"X-SMS-Gateway-Secret": GATEWAY_SECRET}
        path = "/api/v1/sms/replies"
        r = self.http.post(self.urls["intake"] + path, json=reply, headers=headers)
        assert r.status_code == 200, r.text
        notices = f"/api/v1/tips/{self.case_id}/reporter-notices"
        log = self.call("GET", "intake", notices, "office").json()
        assert log["consent"] is False  # found by the keyed digest, and withdrawn

    def exports_and_public_answers(self, number: str) -> dict[str, str]:
        """What leaves the system: exports (xlsx unzipped), reports, the audit trail, the
        case and its history as each role sees them, and every public answer."""
        month = f"{TODAY:%Y-%m}"
        answers: dict[str, str] = {}
        for path in (
            "/api/v1/ledger.xlsx",
            f"/api/v1/reports/monthly/{month}?format=xlsx",
            f"/api/v1/reports/monthly/{month}?format=md",
            "/api/v1/accountability.xlsx",
        ):
            r = self.call("GET", "tracking", path, "office")
            assert r.status_code == 200, (path, r.text)
            answers[path] = _unzipped(r.content)
        audit = self.call(
            "GET", "tracking", "/api/v1/audit", "supervisor", params={"page_size": 200}
        )
        assert {"ReporterIdentityViewed", "LedgerSearched", "LedgerExported", "CaseViewed"} <= {
            i["type"] for i in audit.json()["items"]
        }
        answers["audit"] = audit.text
        for role in ("office", "supervisor", "admin"):
            for path in (
                f"/api/v1/cases/{self.case_id}",
                f"/api/v1/cases/{self.case_id}/history",
                "/api/v1/ledger",
            ):
                answers[f"{role} {path}"] = self.call("GET", "tracking", path, role).text
        for path in (
            "/open311/v2/requests.json",
            "/open311/v2/requests.xml",
            f"/open311/v2/requests/{number}.json",
            "/public/v1/results",
            f"/public/v1/receipts/{self.receipt_code}",
        ):
            r = self.call("GET", "tracking", path)
            assert r.status_code == 200, (path, r.text)
            answers[path] = r.text
        return answers


def _unzipped(content: bytes) -> str:
    """An xlsx's every part as text (the sheet's strings are inside the zip); other bodies as
    they are."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        return content.decode("utf-8", "replace")
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return "\n".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())


def dump_schema(url: str, schema: str) -> str:
    """Every value of every row of every table in the schema, as text (bytes decoded)."""
    out = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        assert len(tables) >= 5
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                out += [_text(value) for value in row]
    return "\n".join(out)


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):  # as text, and its bytes as hex (raw digests)
        return bytes(value).decode("utf-8", "replace") + "\n" + bytes(value).hex()
    return str(value)


def test_the_scanner_would_see_a_leak(pg_url: str, pg_schema: str) -> None:
    """Positive control: planted in a bytea column and in JSON escapes, the secrets are found."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        for i in range(5):
            conn.execute(f'CREATE TABLE "{pg_schema}".t{i} (b bytea, j text)')
        conn.execute(
            f'INSERT INTO "{pg_schema}".t0 VALUES (%s, %s)',
            (json.dumps({"n": NAME}, ensure_ascii=False).encode(), json.dumps({"p": ID_NUMBER})),
        )
    assert sorted(leaks(dump_schema(pg_url, pg_schema))) == sorted([NAME, ID_NUMBER])


def test_the_scanner_sees_encoded_and_unkeyed_digest_forms() -> None:
    """Positive control for the forms: base64, hex, SHA-256/MD5 (hex and raw bytes) and the
    request's digest are each found; a keyed digest is not."""
    import hmac

    assert leaks(base64.b64encode(NAME.encode()).decode()) == [NAME]
    assert leaks(PHONE.encode().hex()) == [PHONE]
    assert leaks(hashlib.sha256(PHONE.encode()).hexdigest()) == [PHONE]
    assert leaks(hashlib.md5(ID_NUMBER.encode()).hexdigest()) == [ID_NUMBER]
    assert leaks(_text(hashlib.sha256(EMAIL.encode()).digest())) == [EMAIL]
    assert leaks(f"fingerprint: {_request_digest()}") == ["the request's unkeyed SHA-256"]
    keyed = hmac.new(b"k" * 32, PHONE.encode(), hashlib.sha256).hexdigest()
    assert leaks(keyed) == []


async def dump_streams(deployment: Deployment) -> str:
    import nats

    nc = await nats.connect(deployment.nats_url)
    out = []
    try:
        js = nc.jetstream()
        for source in ("intake", "dispatch", "tracking"):
            stream = f"{deployment.namespace}_{source}".upper()
            try:
                info = await js.stream_info(stream)
            except Exception:
                continue
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(stream, seq)
                out.append((message.data or b"").decode())
        assert out, "no messages found in any stream"
    finally:
        await nc.close()
    return "\n".join(out)
