"""The one logging policy (ADR 18): logs carry route templates, ids, counts and outcomes only.

By design nothing personal or secret is handed to a logger: the access log writes the route
template and status (never the path a client sent, its query string or its body — see
``shared.web.accesslog``), and the first admin token is shown only on a terminal. The redaction
here is the safety net, not the design: it scrubs, from every structlog event and every stdlib
record (uvicorn's included), what looks like a bearer token or JWT, an API key, a receipt code,
a mobile phone number or a resident ID number.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import structlog

from shared.platform.protection import CROCKFORD, RECEIPT_BITS

_RECEIPT_CHARS = f"[{CROCKFORD}{CROCKFORD.lower()}]"
_RECEIPT_GROUPS = RECEIPT_BITS // 5 // 4
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), "[redacted-jwt]"),
    (re.compile(r"\btzk_[\w-]+"), "[redacted-api-key]"),
    (re.compile(r"(?i)(api_key|token|code|receipt)=[^&\s\"']+"), r"\1=[redacted]"),
    (
        re.compile(
            rf"(?<![\w-]){_RECEIPT_CHARS}{{4}}(?:-{_RECEIPT_CHARS}{{4}}){{{_RECEIPT_GROUPS - 1}}}"
            r"(?![\w-])"
        ),
        "[redacted-receipt]",
    ),
    (re.compile(r"(?<!\d)\d{17}[\dXx](?![\dXx])"), "[redacted-id-number]"),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)"), "[redacted-phone]"),
)


def _scoped(pattern: str) -> str:
    """A pattern as one branch of an alternation: a leading ``(?i)`` kept to its branch."""
    return f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"


# Any of PATTERNS, in one pass: most values (route templates, ids, levels) match none, and
# one search costs a seventh of the seven substitutions that would change nothing.
_ANY = re.compile("|".join(_scoped(pattern.pattern) for pattern, _ in PATTERNS))


def redact(text: str) -> str:
    """``text`` with whatever looks like a secret or a personal number replaced."""
    if _ANY.search(text) is None:  # no pattern matches: no substitution would change it
        return text
    return substituted(text)


def substituted(text: str) -> str:
    """``text`` through each of :data:`PATTERNS` in turn: the net's long way."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# A dotted IPv4 address as ``ipaddress`` accepts it: four decimal octets up to 255, no
# leading zeros; group 1 is its first three octets with their dots.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"((?:{_OCTET}\.){{3}}){_OCTET}")


def truncated_address(host: str | None) -> str:
    """A client address as logs may keep it: its /24 (IPv4) or /48 (IPv6) network, enough to
    see abuse from a network, not to name a citizen (the same as the nginx edge logs)."""
    dotted = _IPV4.fullmatch(host or "")
    if dotted is not None:  # the common case, without building address objects
        return dotted[1] + "0"
    return network_of(host)


def network_of(host: str | None) -> str:
    """:func:`truncated_address` the long way, through ``ipaddress`` (any address form)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return "-"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_redacted(v) for v in value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def redact_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the safety net over every event's values."""
    return {key: _redacted(value) for key, value in event.items()}


class RedactingFilter(logging.Filter):
    """stdlib filter: the same safety net over a record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class SecondStamper:
    """structlog's local ``TimeStamper`` for a format to the second (its default, as ours is):
    the same text, formatted once a second rather than once a line (it was 8 % of a line)."""

    def __init__(self, fmt: str, key: str) -> None:
        self.fmt, self.key = fmt, key
        self._last: tuple[int, str] = (-1, "")  # one tuple: threads read a matching pair

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        second = int(time.time())
        last = self._last
        if last[0] != second:
            stamp = datetime.fromtimestamp(second).astimezone().strftime(self.fmt)
            last = self._last = (second, stamp)
        event[self.key] = last[1]
        return event


def _to_the_second(processor: Any) -> Any:
    """A local ``TimeStamper`` to the second as a :class:`SecondStamper`; any other as it is."""
    stamper = structlog.processors.TimeStamper
    if isinstance(processor, stamper) and not processor.utc and processor.fmt in SECOND_FORMATS:
        return SecondStamper(processor.fmt, processor.key)
    return processor


SECOND_FORMATS = ("%Y-%m-%d %H:%M:%S",)  # structlog's default: no sub-second field
_FILTER = RedactingFilter()
STDLIB_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi")


def install() -> None:
    """Put the safety net in place (idempotent): structlog's chain and the stdlib loggers.

    An exception is rendered to plain text before the net (a traceback's lines, never its
    frames' local values: those would be a tip's content, a reporter or a token), so the net
    scrubs its message too; the console renderer then prints that text as it is."""
    processors = list(structlog.get_config()["processors"])
    if redact_event not in processors:
        processors = [_to_the_second(p) for p in processors]
        renderer = processors.pop() if processors else structlog.dev.ConsoleRenderer()
        if isinstance(renderer, structlog.dev.ConsoleRenderer):
            renderer = structlog.dev.ConsoleRenderer(
                exception_formatter=structlog.dev.plain_traceback
            )
        processors += [structlog.processors.format_exc_info, redact_event, renderer]
        structlog.configure(processors=processors)
    for name in STDLIB_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
