"""Where the attachment store keeps its sealed blobs (ADR 22, ADR 39): the bytes only, already
encrypted and named by their keyed digest — a backend never sees a photo in clear, a name or
a key. The directory is the default; an S3-compatible bucket (``shared.platform.s3blobs``) is
the option for services apart that share no volume.

A backend that cannot serve now (a disk that refuses a write, a bucket that does not answer)
raises :class:`BlobStoreUnavailable`: the API answers it 503 with a stable code, and since
files are kept before the event that names them is recorded, nothing is registered.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class BlobStoreUnavailable(Exception):
    """The store did not keep or give back a blob now; later it may (503, try again)."""


class Blobs(Protocol):
    """Sealed blobs by name (a 64-hex keyed digest, checked by the caller)."""

    def read(self, name: str) -> bytes | None:
        """The blob, or None when there is none of this name."""
        ...

    def write(self, name: str, sealed: bytes) -> None:
        """Keep the blob: a reader sees all of it or none."""
        ...

    def exists(self, name: str) -> bool: ...

    def check(self) -> None:
        """At start: refuse (``ConfigurationError``, naming the setting) a store that cannot
        serve, rather than answer every upload 503."""
        ...


class DirectoryBlobs:
    """``<root>/<2 hex>/<name>``: one directory every service mounts (ADR 22)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:  # an unreadable mount, a stale network file handle
            raise BlobStoreUnavailable(f"附件存储暂不可用 ({type(e).__name__})") from None

    def write(self, name: str, sealed: bytes) -> None:
        path = self._path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        except OSError as e:  # a full or read-only volume
            raise BlobStoreUnavailable(f"附件存储暂不可用 ({type(e).__name__})") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # a reader sees the whole blob or none
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise BlobStoreUnavailable(f"附件存储暂不可用 ({type(e).__name__})") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def check(self) -> None:
        """Nothing to reach: the directory is made on the first write."""

    def _path(self, name: str) -> Path:
        return self.root / name[:2] / name
