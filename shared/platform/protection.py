"""Reporter protection: sealed identities and receipt codes.

A named reporter's identity is sealed with AES-256-GCM before it enters any event, bound to
its case by the associated data, under a key id so that keys can be rotated (new seals use
the first key; old seals open with whichever key id they name).

An anonymous reporter follows the case with a receipt code: 80 random bits written as
16 Crockford base32 characters in four groups (no I, L, O or U, so it reads out on the
phone), stored only as an HMAC digest for look-up and, sealed, for an idempotent replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_BITS = 80
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


class SealError(Exception):
    """A seal that no configured key opens (unknown key id, or tampered)."""


class Sealer:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = next(iter(keys))

    @property
    def current_kid(self) -> str:
        return self._current

    def seal(self, value: Any, case_id: UUID) -> dict[str, str]:
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(value, ensure_ascii=False).encode()
        ciphertext = self._keys[self._current].encrypt(nonce, plaintext, case_id.bytes)
        return {"kid": self._current, "ct": base64.b64encode(nonce + ciphertext).decode()}

    def open(self, sealed: dict[str, str], case_id: UUID) -> Any:
        aead = self._keys.get(sealed.get("kid", ""))
        if aead is None:
            raise SealError(f"no key {sealed.get('kid')!r} to open this seal")
        raw = base64.b64decode(sealed["ct"])
        try:
            plaintext = aead.decrypt(raw[:12], raw[12:], case_id.bytes)
        except InvalidTag:
            raise SealError("seal does not open with its key (tampered or wrong case)") from None
        return json.loads(plaintext)

    def reseal(self, sealed: dict[str, str], case_id: UUID) -> dict[str, str]:
        """Re-encrypt under the current key (key rotation)."""
        return self.seal(self.open(sealed, case_id), case_id)


def new_receipt_code() -> str:
    n = secrets.randbits(RECEIPT_BITS)
    chars = "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(RECEIPT_BITS // 5)))
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def normalize_receipt_code(code: str) -> str | None:
    """The canonical form of what a reporter typed or read out, or None if it cannot be one."""
    cleaned = code.upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    if len(cleaned) != RECEIPT_BITS // 5 or any(c not in CROCKFORD for c in cleaned):
        return None
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def receipt_digest(secret: bytes, code: str) -> str | None:
    normalized = normalize_receipt_code(code)
    if normalized is None:
        return None
    return hmac.new(secret, normalized.encode(), hashlib.sha256).hexdigest()


FINGERPRINT_SCHEME = "fp1"


class Fingerprinter:
    """Keyed fingerprints of requests (ADR 18): ``fp1:<kid>:<HMAC-SHA256(key, digest)>``.

    A fingerprint tells a replay from a different request under the same idempotency key. The
    request holds the reporter's name and phone, so an unkeyed digest of it is a guessable
    record of who reported what: only this keyed form is ever stored. Keys rotate like the
    reporter keys (newest first); a fingerprint names its key, and one made under an older key
    still matches while that key is listed.
    """

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one fingerprint key")
        self._keys = dict(keys)
        self._current = next(iter(keys))

    @property
    def current_kid(self) -> str:
        return self._current

    def sign(self, digest: str, kid: str | None = None) -> str:
        """The keyed fingerprint of a request's digest (under ``kid``, else the current key)."""
        kid = kid or self._current
        mac = hmac.new(self._keys[kid], digest.encode(), hashlib.sha256).hexdigest()
        return f"{FINGERPRINT_SCHEME}:{kid}:{mac}"

    def signatures(self, digest: str) -> list[str]:
        """The digest's fingerprint under every listed key (to find values stored under any)."""
        return [self.sign(digest, kid) for kid in self._keys]

    def matches(self, stored: str, digest: str) -> bool:
        """Whether a stored fingerprint is this request's (under the key it names)."""
        scheme, _, rest = stored.partition(":")
        kid, _, _mac = rest.partition(":")
        if scheme != FINGERPRINT_SCHEME or kid not in self._keys:
            return False
        return hmac.compare_digest(stored, self.sign(digest, kid))

    @staticmethod
    def is_keyed(stored: str) -> bool:
        return stored.startswith(f"{FINGERPRINT_SCHEME}:")
