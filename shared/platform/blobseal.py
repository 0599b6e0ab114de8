"""How an attachment blob is sealed (ADR 22, ADR 50): AES-256-GCM, bound to its keyed digest,
under one of several **key generations** so that the key can be rotated.

A blob sealed since generations is ``TZA\\x01`` · the generation's id (one length byte, then
the id) · a 12-byte nonce · the ciphertext and its tag; the header is authenticated with the
digest, so a blob cannot be made to claim another generation or another name. A blob sealed
before (``nonce · ciphertext``, no header) is of the generation ``a0``, whose key is derived
from the attachment secret as it always was.

New blobs are sealed under the newest generation; any listed one opens. The keyed digest —
a blob's name, in released events — is not a generation's: it keeps the attachment secret's
own key, so names never change (ADR 50 says why).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.platform.settings import MIN_SECRET_LENGTH, ConfigurationError

MAGIC = b"TZA\x01"
NONCE = 12
LEGACY_GENERATION = "a0"  # the key every blob was sealed under before generations
GENERATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
SETTING = "TAIZHANG_ATTACHMENT_KEYS"


def derived_keys(secret: bytes) -> tuple[bytes, bytes]:
    """The digest key and the at-rest key of generation ``a0``, from the attachment secret."""
    digest_key = hmac.new(secret, b"taizhang attachments: digest", hashlib.sha256).digest()
    return digest_key, blob_key(secret)


def blob_key(secret: bytes) -> bytes:
    return hmac.new(secret, b"taizhang attachments: blob", hashlib.sha256).digest()


def sealing_keys(configured: str | None, secret: bytes) -> dict[str, bytes]:
    """The generations' keys, newest first: ``TAIZHANG_ATTACHMENT_KEYS`` as ``kid:secret,…``
    (each secret at least 32 characters), where the bare ``a0`` stands for the key derived
    from the attachment secret; unset, ``a0`` alone (as before generations)."""
    if not configured or not configured.strip():
        return {LEGACY_GENERATION: blob_key(secret)}
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in configured.split(","))):
        kid, colon, value = part.partition(":")
        if kid == LEGACY_GENERATION and not colon:
            keys[kid] = blob_key(secret)
        elif (
            kid == LEGACY_GENERATION
            or not GENERATION_ID.match(kid)
            or len(value) < MIN_SECRET_LENGTH
            or kid in keys
        ):
            raise ConfigurationError(
                f"{SETTING} 格式为 'kid:secret,…'(最新的在前,每个 secret 至少 "
                f"{MIN_SECRET_LENGTH} 个字符,kid 不重复;单独的 a0 表示由附件密钥派生的旧密钥) "
                "(written as 'kid:secret,…', newest first; a bare a0 is the derived key)"
            )
        else:
            keys[kid] = blob_key(value.encode())
    return keys


def generation_ids(configured: str | None) -> list[str]:
    """The generations ``TAIZHANG_ATTACHMENT_KEYS`` lists, newest first (checked as above)."""
    return list(sealing_keys(configured, b""))


def named_generation(sealed: bytes) -> str:
    """The generation a blob's header names (``a0`` without one) — read, not opened: what a
    copy needs to be opened with (``taizhang backup``'s manifest)."""
    kid = _parse(sealed)[0]
    return kid if kid is not None and GENERATION_ID.match(kid) else LEGACY_GENERATION


class BlobSealer:
    """Seals under the newest generation, opens under any listed one."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ConfigurationError(f"{SETTING}: 至少需要一个密钥 (at least one key)")
        self._aeads = {kid: AESGCM(key) for kid, key in keys.items()}
        self.current = next(iter(keys))

    @property
    def generations(self) -> tuple[str, ...]:
        return tuple(self._aeads)

    def seal(self, digest: str, content: bytes) -> bytes:
        header = _header(self.current)
        nonce = secrets.token_bytes(NONCE)
        aad = header + digest.encode()
        return header + nonce + self._aeads[self.current].encrypt(nonce, content, aad)

    def open(self, digest: str, sealed: bytes) -> tuple[str, bytes] | None:
        """The generation that sealed ``sealed`` for ``digest`` and what it holds, or None
        when no listed generation opens it (damaged, another name, a key removed)."""
        kid, rest, header = _parse(sealed)
        if kid in self._aeads:
            opened = _decrypt(self._aeads[kid], rest, header + digest.encode())
            if opened is not None:
                return kid, opened
        # Before generations: no header (a random nonce may begin like one, hence after).
        legacy = self._aeads.get(LEGACY_GENERATION)
        if legacy is not None:
            opened = _decrypt(legacy, sealed, digest.encode())
            if opened is not None:
                return LEGACY_GENERATION, opened
        return None


def _header(kid: str) -> bytes:
    encoded = kid.encode()
    return MAGIC + bytes([len(encoded)]) + encoded


def _parse(sealed: bytes) -> tuple[str | None, bytes, bytes]:
    """The generation a blob's header names, the rest, and the header (None: no header)."""
    if not sealed.startswith(MAGIC) or len(sealed) <= len(MAGIC):
        return None, sealed, b""
    length = sealed[len(MAGIC)]
    end = len(MAGIC) + 1 + length
    try:
        kid = sealed[len(MAGIC) + 1 : end].decode("ascii")
    except UnicodeDecodeError:
        return None, sealed, b""
    return kid, sealed[end:], sealed[:end]


def _decrypt(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes | None:
    if len(sealed) < NONCE + 16:
        return None
    try:
        return aead.decrypt(sealed[:NONCE], sealed[NONCE:], aad)
    except InvalidTag:
        return None
