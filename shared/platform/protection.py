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
import re
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


# RFC 4648 base32 → Crockford's: the same 5 bits a character, another alphabet.
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD)


def new_receipt_code() -> str:
    # 10 random bytes are 16 base32 characters, 5 bits each: one C call (every tip has one
    # since ADR 44; a Python loop over the characters cost ~10 µs of a named tip's ~80).
    chars = base64.b32encode(secrets.token_bytes(RECEIPT_BITS // 8)).decode()
    chars = chars.translate(_TO_CROCKFORD)
    return f"{chars[0:4]}-{chars[4:8]}-{chars[8:12]}-{chars[12:16]}"


_CANONICAL = re.compile(f"[{CROCKFORD}]{{{RECEIPT_BITS // 5}}}")


def normalize_receipt_code(code: str) -> str | None:
    """The canonical form of what a reporter typed or read out, or None if it cannot be one."""
    cleaned = code.upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)
    if not _CANONICAL.fullmatch(cleaned):
        return None
    return f"{cleaned[0:4]}-{cleaned[4:8]}-{cleaned[8:12]}-{cleaned[12:16]}"


def receipt_digest(secret: bytes, code: str) -> str | None:
    normalized = normalize_receipt_code(code)
    if normalized is None:
        return None
    return hmac.digest(secret, normalized.encode(), "sha256").hex()  # hmac.new's, one call


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
