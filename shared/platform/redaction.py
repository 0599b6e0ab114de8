"""The redaction step public text passes (网上公示, 媒体回应, issue 20): tracking refuses
public feedback that still carries particulars, answering the masked text for the office to
approve, and the public portal masks once more what it shows.

The office writes and approves the public wording; this step is the safety net under it:
mobile and landline numbers, ID numbers, e-mail addresses and names that follow the words
people use to introduce them (举报人/投诉人/来电人/联系人/姓名 …) are masked, and each kind found
is flagged so the office sees what its wording still carried. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_ID_NUMBER = re.compile(r"(?<![0-9])([1-9]\d{5})(?:\d{8})(\d{3}[0-9Xx])(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9]\d)\d{4}(\d{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})[- ]?\d{7,8}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NAMED = re.compile(
    r"((?:举报人|投诉人|来电人|反映人|联系人|当事人|姓名)[::\s]*)"
    r"([\u4e00-\u9fa5])([\u4e00-\u9fa5]{1,2})(?=[\s,,。;;、((]|先生|女士|$)"
)

LABELS = {
    "id_number": "身份证号",
    "phone": "电话号码",
    "email": "电子邮箱",
    "name": "姓名",
}


@dataclass(frozen=True)
class Redacted:
    text: str
    flags: tuple[str, ...]  # the kinds masked, in LABELS' order

    @property
    def flag_labels(self) -> list[str]:
        return [LABELS[f] for f in self.flags]


def redact(text: str | None) -> Redacted:
    """``text`` with personal particulars masked, and which kinds were found."""
    if not text:
        return Redacted(text or "", ())
    found: set[str] = set()

    def sub(
        kind: str,
        pattern: re.Pattern[str],
        replace: str | Callable[[re.Match[str]], str],
        value: str,
    ) -> str:
        masked, count = pattern.subn(replace, value)
        if count:
            found.add(kind)
        return masked

    # ID numbers before phones: an ID number holds digit runs that read like a phone.
    text = sub("id_number", _ID_NUMBER, r"\1********\2", text)
    text = sub("phone", _MOBILE, r"\1****\2", text)
    text = sub("phone", _LANDLINE, r"\1-********", text)
    text = sub("email", _EMAIL, "***@***", text)

    def name(m: re.Match[str]) -> str:
        if set(m.group(3)) <= {"某", "*"}:  # masked already (by us, or by the office)
            return m.group(0)
        found.add("name")
        return m.group(1) + m.group(2) + "某" * len(m.group(3))

    text = _NAMED.sub(name, text)
    return Redacted(text, tuple(k for k in LABELS if k in found))
