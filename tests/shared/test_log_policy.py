"""The logging policy (ADR 18): access logs carry the route template and status only; tokens,
API keys, receipt codes and personal numbers never reach a log; the nginx edge logs no query
string and no receipt code; the first admin token is shown only on a terminal."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest
import structlog
from rich.console import Console

from services.cli import FIRST_TOKEN_MARKER, _print_first_admin_token
from shared.platform import logpolicy
from shared.platform.protection import new_receipt_code
from shared.platform.settings import Settings, load_secrets
from shared.web.ratelimit import TokenBuckets
from tests.support.api import Api

REPO = Path(__file__).parents[2]
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def test_the_access_log_writes_route_templates_and_status_never_paths_queries_or_bodies(
    api: Api,
) -> None:
    code = new_receipt_code()
    secret_query = {"api_key": "tzk_abc_SECRETSECRET", "name": "日志测试人", "phone": "13811112222"}
    tip = {"reporter": {"anonymous": False, "name": "日志测试人", "phone": "13811112222"}}
    with structlog.testing.capture_logs() as events:
        api.get(f"/public/v1/receipts/{code}", params=secret_query)
        registered = api.register(**tip)
        api.get("/no/such/path/13811112222")
    assert registered.status_code == 201, registered.text
    requests = [e for e in events if e["event"] == "request"]
    routes = {(e["method"], e["route"], e["status"]) for e in requests}
    assert ("GET", "/public/v1/receipts/{code}", 404) in routes
    assert ("POST", "/api/v1/tips", 201) in routes
    assert ("GET", "(unmatched)", 404) in routes
    assert {e["client"] for e in requests} == {"127.0.0.0"}  # the network, not the address
    logged = repr(events)
    for value in (code, "tzk_abc", "日志测试人", "13811112222", "api_key", "某街道办事处"):
        assert value not in logged


def test_the_safety_net_scrubs_secrets_and_personal_numbers_from_every_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    code = new_receipt_code()
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = (
        f"GET /public/v1/receipts/{code}?api_key=tzk_k1_abcdef&x=1 Authorization: Bearer {token}"
        " 13912345678 420106199001011234"
    )
    cleaned = logpolicy.redact(text)
    for value in (code, "tzk_k1_abcdef", token, "13912345678", "420106199001011234"):
        assert value not in cleaned
    assert "/public/v1/receipts/" in cleaned  # what is not secret stays readable
    assert logpolicy.truncated_address("203.0.113.77") == "203.0.113.0"
    assert logpolicy.truncated_address("2001:db8:1234:5678::1") == "2001:db8:1234::"
    assert logpolicy.truncated_address("not-an-address") == "-"

    logpolicy.install()
    logpolicy.install()  # idempotent
    processors = structlog.get_config()["processors"]
    assert processors.count(logpolicy.redact_event) == 1
    assert processors.index(logpolicy.redact_event) == len(processors) - 2  # before rendering
    assert logpolicy.redact_event(None, "info", {"event": "x", "who": text})["who"] == cleaned
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.error").warning("%s", text)
        logging.getLogger("uvicorn.access").info("%s - %s", "127.0.0.1", text)
    assert caplog.records
    for record in caplog.records:
        assert code not in record.getMessage() and token not in record.getMessage()


def test_the_nginx_access_log_has_no_query_string_receipt_code_or_whole_address() -> None:
    conf = (REPO / "deploy" / "nginx" / "http.conf").read_text()
    log_format = conf[conf.index("log_format taizhang") :].split(";")[0]
    for forbidden in ("$request_uri", "$args", "$query_string", "$request ", "$remote_addr"):
        assert forbidden not in log_format
    assert '"uri":"$tz_log_uri"' in log_format and "$tz_log_addr" in log_format
    assert '"/public/v1/receipts/{code}"' in conf  # the template replaces the code
    for path in (REPO / "deploy").rglob("*.conf*"):
        text = re.sub(r"(?m)#.*$", "", path.read_text())
        assert "$request_uri" not in text.split("log_format")[-1].split(";")[0], path


def _terminal() -> tuple[Console, int]:
    """A real pseudo-terminal: what an operator's shell gives ``taizhang serve``."""
    master, replica = os.openpty()
    return Console(file=os.fdopen(replica, "w"), force_terminal=True, width=400), master


def _printed(master: int) -> str:
    os.set_blocking(master, False)
    try:
        return os.read(master, 65536).decode(errors="replace")
    except BlockingIOError:
        return ""


def test_the_first_admin_token_is_shown_once_only_on_a_terminal_never_in_a_log_or_production(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    secrets = load_secrets(settings)
    log_file = tmp_path / "intake.log"
    with log_file.open("w") as f:  # deploy/local sends serve's output to a file
        _print_first_admin_token(settings, secrets, Console(file=f))
    logged = log_file.read_text()
    assert not JWT.search(logged) and "taizhang token --role admin" in logged
    assert not (settings.data_dir / FIRST_TOKEN_MARKER).exists()  # still owed to a terminal

    production: Any = Settings(
        data_dir=tmp_path / "prod", environment="production", jwt_secret="j" * 40
    )
    console, master = _terminal()
    _print_first_admin_token(production, secrets, console)
    console.file.flush()
    assert not JWT.search(_printed(master))

    console, master = _terminal()
    _print_first_admin_token(settings, secrets, console)
    console.file.flush()
    assert JWT.search(_printed(master))
    console, master = _terminal()
    _print_first_admin_token(settings, secrets, console)  # once per data directory
    console.file.flush()
    assert not JWT.search(_printed(master))


def test_rate_limit_buckets_hold_no_address_and_forget_idle_clients() -> None:
    buckets = TokenBuckets(per_minute=60, burst=3)  # full again after 3 s idle
    assert buckets.retention == 3.0
    for _ in range(4):
        buckets.take("203.0.113.77", now=100.0)
    assert buckets.take("203.0.113.77", now=100.0) > 0  # still limited
    assert "203.0.113.77" not in repr(buckets._buckets) and buckets.held() == 1
    assert buckets.take("198.51.100.1", now=104.0) == 0.0  # a sweep: the idle client is gone
    assert buckets.held() == 1


def test_an_exception_is_logged_without_its_frames_values_and_through_the_net() -> None:
    """A traceback's locals would be a tip's content or a reporter: the log shows the lines
    only, and its message passes the safety net like any other value."""
    logpolicy.install()
    processors = structlog.get_config()["processors"]
    assert structlog.processors.format_exc_info in processors
    assert processors.index(structlog.processors.format_exc_info) < processors.index(
        logpolicy.redact_event
    )

    def register(reporter: str) -> None:
        phone = "13912345678"
        raise ValueError(f"cannot seal {phone}")

    name = "".join(["王", "小明"])  # a value at run time, as a reporter's name would be
    try:
        register(name)
    except ValueError:
        rendered = structlog.processors.format_exc_info(None, "error", {"exc_info": True})
    scrubbed = logpolicy.redact_event(None, "error", rendered)["exception"]
    assert "Traceback" in scrubbed and "raise ValueError" in scrubbed
    assert "王小明" not in scrubbed and "13912345678" not in scrubbed
    assert "[redacted-phone]" in scrubbed
