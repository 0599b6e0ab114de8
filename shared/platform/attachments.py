"""Attachments (附件): one content-addressed store every service reaches (ADR 22).

A file is accepted only by what it *is*: its type is read from its first bytes (magic numbers,
``filetype``), never from its name or the client's ``Content-Type``; it is refused over the
size limit, refused by the virus-scan hook when one is configured, and an image is decoded and
encoded again from its pixels only, so that EXIF (a reporter's GPS position, the camera's
serial number), XMP and comments do not survive.

The store is addressed by a **keyed** digest, HMAC-SHA-256 under the attachment secret:
an unkeyed hash of a reporter's photo would let whoever holds the photo confirm who sent it
(issue 16: nothing derived from identity without a key). Blobs are kept encrypted at rest
(AES-256-GCM, bound to their digest), so a copy of the directory does not hold the photos in
clear either; the at-rest key comes in generations, newest first, so that it can be rotated
(``shared.platform.blobseal``, ADR 50). Embedded, the store is ``<data_dir>/attachments``;
with services apart, every service mounts the same directory, or all reach one S3-compatible
bucket (ADR 39). Where the sealed bytes go is a backend's business
(``shared.platform.blobs``); what is kept, and how, is decided here.

Names are personal data: this module never sees one. Services seal them into their events.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.platform.blobs import Blobs, DirectoryBlobs, is_blob_name
from shared.platform.blobseal import (
    LEGACY_GENERATION,
    BlobSealer,
    derived_keys,
    sealing_keys,
)
from shared.platform.cleaning import CLEANERS, NotCleanable
from shared.platform.settings import ConfigurationError, Settings

# What may be attached, by the type its content shows → the extension it is served with.
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
    "audio/mpeg": "mp3",
}
# Images are re-encoded from their pixels (Pillow format names).
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
SCAN_CLEAN, SCAN_INFECTED = 0, 1  # ClamAV's exit codes (clamscan / clamdscan)


class AttachmentError(Exception):
    """A file the store refuses; ``details`` go into the refusal body."""

    details: dict[str, object] | None = None


class AttachmentEmpty(AttachmentError):
    """No content at all."""


class AttachmentTooLarge(AttachmentError):
    """Over the size limit."""


class AttachmentTypeRefused(AttachmentError):
    """Its content is not one of the allowed types (whatever its name says)."""


class AttachmentUnreadable(AttachmentError):
    """It claims a type by its first bytes but does not decode as one, or cannot be cleaned
    of its metadata safely."""


class AttachmentInfected(AttachmentError):
    """The virus scanner found something."""


class ScannerUnavailable(AttachmentError):
    """The configured scanner did not answer clean or infected (not installed, timed out)."""


class AttachmentMissing(AttachmentError):
    """No blob under this digest (or one that does not open with this deployment's key)."""


@dataclass(frozen=True)
class Stored:
    """What an event may say about a stored file: the keyed digest, the type, the size."""

    digest: str
    media_type: str
    size: int

    @property
    def extension(self) -> str:
        return ALLOWED_TYPES[self.media_type]


@dataclass(frozen=True)
class Prepared:
    """A file checked and cleaned, not kept yet: what it will be stored as, and its bytes."""

    stored: Stored
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class ScanHook:
    """A virus scanner run as a command on a file (ClamAV: ``clamdscan --no-summary``): the
    file's path is appended; exit 0 is clean, 1 is infected, anything else is unavailable."""

    command: Sequence[str]
    timeout_seconds: float = 60.0

    @classmethod
    def from_setting(cls, value: str | None, timeout_seconds: float) -> ScanHook | None:
        return cls(shlex.split(value), timeout_seconds) if value else None

    def check(self, path: Path) -> None:
        try:
            done = subprocess.run(  # noqa: S603  # an operator's configured command, no shell
                [*self.command, str(path)],
                capture_output=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            raise ScannerUnavailable(
                "病毒扫描不可用,请稍后再试 (the virus scanner did not answer)"
            ) from None
        if done.returncode == SCAN_INFECTED:
            raise AttachmentInfected("附件未通过病毒扫描 (the virus scanner refused the file)")
        if done.returncode != SCAN_CLEAN:
            raise ScannerUnavailable("病毒扫描不可用,请稍后再试 (the virus scanner failed)")


class AttachmentStore:
    """Encrypted blobs named by their keyed digest, in a directory or a bucket (``blobs``).

    ``secret`` is the attachment secret: it keys the digests (the names, for ever) and derives
    the at-rest key of generation ``a0``; ``sealing`` lists the at-rest keys by generation,
    newest first (default: ``a0`` alone)."""

    def __init__(
        self,
        blobs: Blobs,
        secret: bytes,
        *,
        max_bytes: int,
        scanner: ScanHook | None = None,
        scratch: Path | None = None,
        sealing: Mapping[str, bytes] | None = None,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the attachment secret is too short")
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.scanner = scanner
        self.scratch = scratch  # where the scanner's private copy goes (None: the system's)
        self._digest_key, legacy_key = derived_keys(secret)
        self.sealer = BlobSealer(
            sealing if sealing is not None else {LEGACY_GENERATION: legacy_key}
        )

    def check_reachable(self) -> None:
        """At start: the blobs' store can serve (a bucket that answers), else the
        ``ConfigurationError`` that names the setting."""
        self.blobs.check()

    def probe(self) -> None:
        """Now: :class:`BlobStoreUnavailable` when the store could not keep a file."""
        self.blobs.probe()

    # --- in ----------------------------------------------------------------------------

    def put(self, data: bytes) -> Stored:
        """Check, clean and keep ``data``; the same cleaned content is kept once."""
        return self.keep(self.prepare(data))

    def prepare(self, data: bytes) -> Prepared:
        """Check and clean ``data`` without keeping it: a request carrying several files
        checks them all before it keeps any (a refused one leaves nothing behind)."""
        media_type = self.check(data)
        if self.scanner is not None:
            self._scan(data)
        cleaned = strip_metadata(data, media_type)
        stored = Stored(digest=self.digest(cleaned), media_type=media_type, size=len(cleaned))
        return Prepared(stored, cleaned)

    def keep(self, prepared: Prepared) -> Stored:
        """Keep a prepared file under its keyed digest (once, whoever sends it again)."""
        digest = prepared.stored.digest
        name = self._name(digest)
        if not self.blobs.exists(name):
            self.blobs.write(name, self.sealer.seal(digest, prepared.content))
        return prepared.stored

    def check(self, data: bytes) -> str:
        """The allowed type ``data``'s content shows, or the refusal."""
        if not data:
            raise AttachmentEmpty("附件为空 (the file is empty)")
        if len(data) > self.max_bytes:
            error = AttachmentTooLarge(
                f"附件超过 {self.max_bytes} 字节上限 (the file is over {self.max_bytes} bytes)"
            )
            error.details = {"max_bytes": self.max_bytes}
            raise error
        kind = filetype.guess(data[:8192])
        media_type = kind.mime if kind is not None else None
        if media_type not in ALLOWED_TYPES:
            refused = AttachmentTypeRefused(
                "附件类型不允许:只接受 JPEG、PNG、WebP 图片,PDF,MP4 视频和 MP3 音频,按文件内容识别 "
                "(only images, PDF, MP4 and MP3, judged by content)"
            )
            refused.details = {"allowed": sorted(ALLOWED_TYPES)}
            raise refused
        return media_type

    def digest(self, data: bytes) -> str:
        return hmac.new(self._digest_key, data, hashlib.sha256).hexdigest()

    # --- out ---------------------------------------------------------------------------

    def get(self, digest: str) -> bytes:
        name = self._name(digest)
        # Only a digest an event names is read: one the sweep set aside comes back (ADR 39).
        raw = self.blobs.read(name) or self.blobs.recover(name)
        if raw is None:
            raise AttachmentMissing("没有该附件 (no such attachment)")
        opened = self.sealer.open(digest, raw)
        if opened is None:
            raise AttachmentMissing("附件无法读取 (the attachment does not open)")
        return opened[1]

    def opens(self, digest: str, sealed: bytes) -> bool:
        """Whether ``sealed`` is this store's blob of ``digest``: it opens under the digest and
        what it holds has that keyed digest (a copy checked whole, e.g. in another store)."""
        return self.generation(digest, sealed) is not None

    def generation(self, digest: str, sealed: bytes) -> str | None:
        """The key generation ``sealed`` is this store's blob of ``digest`` under (it opens
        and holds content of that keyed digest), or None."""
        opened = self._checked(digest, sealed)
        return opened[0] if opened is not None else None

    def resealed(self, digest: str, sealed: bytes) -> bytes | None:
        """``sealed`` sealed again under the newest generation (None: it is not this store's
        blob of ``digest``) — the rekey's (ADR 50)."""
        opened = self._checked(digest, sealed)
        return self.sealer.seal(digest, opened[1]) if opened is not None else None

    def _checked(self, digest: str, sealed: bytes) -> tuple[str, bytes] | None:
        """The generation and content of ``sealed``, when it opens for ``digest`` and what it
        holds has that keyed digest."""
        opened = self.sealer.open(digest, sealed)
        if opened is None or not hmac.compare_digest(self.digest(opened[1]), digest):
            return None
        return opened

    def has(self, digest: str) -> bool:
        return self.blobs.exists(self._name(digest))

    # --- inside ------------------------------------------------------------------------

    def _name(self, digest: str) -> str:
        """A blob's name is its digest, and nothing else (no path a caller could steer)."""
        if not is_blob_name(digest):
            raise AttachmentMissing("没有该附件 (no such attachment)")
        return digest

    def _scan(self, data: bytes) -> None:
        """The scanner reads the file as uploaded, from a private temporary file."""
        assert self.scanner is not None
        if self.scratch is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.scratch, prefix=".scan-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self.scanner.check(Path(tmp))
        finally:
            Path(tmp).unlink(missing_ok=True)


def strip_metadata(data: bytes, media_type: str) -> bytes:
    """An image encoded again from its pixels (upright as its EXIF said), nothing else kept;
    a PDF, MP4 or MP3 without its metadata (``shared.platform.cleaning``)."""
    image_format = IMAGE_FORMATS.get(media_type)
    if image_format is None:
        return strip_other_metadata(data, media_type)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise AttachmentUnreadable("图片无法解码 (the image does not decode)") from None
    mode = upright.mode if upright.mode in ("RGB", "RGBA", "L") else "RGBA"
    if image_format == "JPEG" and mode == "RGBA":
        mode = "RGB"
    pixels = upright.convert(mode)
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())  # no info, no exif, no xmp
    out = io.BytesIO()
    options = {"quality": 92} if image_format in ("JPEG", "WEBP") else {}
    fresh.save(out, format=image_format, **options)
    return out.getvalue()


def strip_other_metadata(data: bytes, media_type: str) -> bytes:
    """What is not an image, by its type's cleaner; refused if it cannot be cleaned safely."""
    try:
        return CLEANERS[media_type](data)
    except NotCleanable:
        raise AttachmentUnreadable(
            "附件无法安全去除元数据(文件损坏、加密或结构无法识别),未保存 "
            "(the file could not be cleaned of its metadata)"
        ) from None


def attachment_store(settings: Settings, receipt_secret: bytes) -> AttachmentStore:
    """The deployment's store: ``<data_dir>/attachments``, or the S3-compatible bucket when
    ``TAIZHANG_ATTACHMENT_S3_ENDPOINT`` is set (ADR 39); named by the attachment secret (or,
    when none is set, a key derived from the receipt secret), sealed under the generations of
    ``TAIZHANG_ATTACHMENT_KEYS`` (ADR 50). Nothing is reached here:
    :meth:`AttachmentStore.check_reachable` does that, at start."""
    configured = settings.attachment_secret
    secret = (
        configured.get_secret_value().encode()
        if configured is not None
        else hmac.new(receipt_secret, b"taizhang attachment secret", hashlib.sha256).digest()
    )
    scanner = ScanHook.from_setting(
        settings.attachment_scan_command, settings.attachment_scan_timeout_seconds
    )
    directory = settings.attachment_s3_endpoint is None
    scratch = settings.data_dir / ("attachments" if directory else "attachments-scan")
    configured_keys = settings.attachment_keys
    sealing = sealing_keys(
        configured_keys.get_secret_value() if configured_keys is not None else None, secret
    )
    return AttachmentStore(
        blob_store(settings),
        secret,
        max_bytes=settings.attachment_max_bytes,
        scanner=scanner,
        scratch=scratch,
        sealing=sealing,
    )


def blob_store(settings: Settings) -> Blobs:
    """Where the sealed blobs are: ``<data_dir>/attachments`` or the bucket (ADR 39) — for
    what needs the store but neither seals nor opens a file (the sweep, the readiness probe)."""
    if settings.attachment_s3_endpoint is None:
        return DirectoryBlobs(settings.data_dir / "attachments")
    return s3_blobs(settings)


def s3_blobs(settings: Settings) -> Blobs:
    """The bucket; boto3 is the ``[s3]`` extra, imported only by a deployment that uses it."""
    try:
        from shared.platform.s3blobs import S3Blobs
    except ImportError:
        raise ConfigurationError(
            "TAIZHANG_ATTACHMENT_S3_ENDPOINT 需要 boto3 (needs boto3): pip install 'taizhang[s3]'"
        ) from None
    return S3Blobs(settings)
