"""退订 — which replies to a text withdraw the reporter's consent, and who the change is by.

Chinese gateways ask every notification text to say how to stop them (「回复TD退订」), and
people answer as they type: ``td``, ``ＴＤ``, ``T``, ``N``, 「退订」, 「取消。」, with spaces or a
full stop around. Anything else — a question, a thank-you, a complaint — is not a withdrawal:
it is counted and dropped, never kept. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# The words that withdraw, compared case-folded after NFKC (full-width letters become ASCII).
OPT_OUT = frozenset({"td", "t", "n", "退订", "取消"})
# What a texted reporter is told to reply; every text ends with it (ADR 49).
HOW_TO_STOP = "回复TD退订"
# Around the word: spaces, punctuation and symbols (。!~【】 …), in any script.
_SURROUNDING = re.compile(r"^[\s\W_]+|[\s\W_]+$")

# Who withdrew: the reporter, by replying to a text — never the phone or a name.
REPLY_ACTOR: dict[str, Any] = {
    "id": "reporter:sms-reply",
    "name": "举报人(短信回复)",
    "role": "public",
    "unit": None,
}
REPLY_REASON = "举报人回复短信退订"


def is_opt_out(text: str) -> bool:
    """Whether a reply asks to be texted no more (TD, T, N, 退订, 取消 — alone)."""
    word = _SURROUNDING.sub("", unicodedata.normalize("NFKC", text))
    return word.casefold() in OPT_OUT


def canonical_phone(phone: str) -> str | None:
    """One form of a mobile number however a form or a gateway wrote it: digits only, the
    country code +86 / 0086 / 86 dropped before an 11-digit number that starts with 1.
    None when no digit is left."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit())
    for prefix in ("0086", "86"):
        rest = digits.removeprefix(prefix)
        if rest != digits and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits or None
