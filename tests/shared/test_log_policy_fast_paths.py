"""The logging policy's shortcuts (ADR 18, issue 24): the redaction net skips its seven
substitutions only when none of its patterns matches, an IPv4 client's network is read
without building address objects, the timestamp is formatted once a second — each answers
exactly as the long way does."""

from __future__ import annotations

import pytest
import structlog

from shared.platform import logpolicy
from shared.platform.logpolicy import SecondStamper

RECEIPT = "7K3M-9QXZ-2B4C-HT8W"  # as new_receipt_code() makes them; fixed: the ids stay put


@pytest.mark.parametrize(
    "text",
    [
        "/api/v1/tips",
        "2026-12-07 12:46:20",
        "request",
        "BEARER abc.def",
        "bearer\tx",
        "eyJa.b.",
        "see tzk_abc_DEF",
        "Code=x&y=1",
        "receipt=1",
        "+86 13811112222",
        "86-13811112222",
        "1381111222",
        "42010619900101123x",
        "1234567890123456789",
        RECEIPT,
        RECEIPT.lower(),
        f"-{RECEIPT}",
        f"code {RECEIPT}.",
        "中文 日志 ABCD-EFGH",
        "",
    ],
)
def test_the_net_answers_as_its_seven_substitutions_do(text: str) -> None:
    assert logpolicy.redact(text) == logpolicy.substituted(text)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "203.0.113.77",
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.4 ",
        "1.2.3.4\n",
        "١.2.3.4",
        "::1",
        "::ffff:1.2.3.4",
        "2001:db8:1234:5678::1",
        "testclient",
        "",
        None,
    ],
)
def test_a_clients_network_is_the_one_ipaddress_gives(host: str | None) -> None:
    assert logpolicy.truncated_address(host) == logpolicy.network_of(host)


def test_the_timestamp_made_once_a_second_reads_as_structlogs_own() -> None:
    logpolicy.install()
    ours = [p for p in structlog.get_config()["processors"] if isinstance(p, SecondStamper)]
    theirs = structlog.processors.TimeStamper(fmt=ours[0].fmt, utc=False)
    before = theirs(None, "info", {})["timestamp"]
    stamped = ours[0](None, "info", {})["timestamp"]
    after = theirs(None, "info", {})["timestamp"]
    assert stamped in (before, after)  # a second may turn between the two
    processors = structlog.get_config()["processors"]
    assert not any(isinstance(p, structlog.processors.TimeStamper) for p in processors)
