"""Where the attachment store keeps its sealed blobs (ADR 22, ADR 39): the bytes only, already
encrypted and named by their keyed digest — a backend never sees a photo in clear, a name or
a key. The directory is the default; an S3-compatible bucket (``shared.platform.s3blobs``) is
the option for services apart that share no volume.

A backend that cannot serve now (a disk that refuses a write, a bucket that does not answer)
raises :class:`BlobStoreUnavailable`: the API answers it 503 with a stable code, and since
files are kept before the event that names them is recorded, nothing is registered.

A blob no event names (kept for a request that failed before its event) may be **set aside**
by the sweep (``services/ops/attachment_sweep.py``): moved, not deleted, so that reading it
brings it back — a sweep racing a request that names it loses nothing — and purged only
later. Times are the store's own (the file's, the object's), never a deployment's clock.

Two more areas of a store are blobs of their own (:meth:`Blobs.aside`, :meth:`Blobs.staging`):
the blobs set aside, and copies on their way in — ``taizhang attachments rekey`` (ADR 50)
writes a blob sealed anew there, reads it back, and only then replaces the one in use, so
that a good copy is on the store at every moment.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

HEX = frozenset("0123456789abcdef")
NAME_LENGTH = 64  # a blob's name: the keyed digest in hex


def is_blob_name(name: str) -> bool:
    return len(name) == NAME_LENGTH and set(name) <= HEX


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

    def delete(self, name: str) -> None:
        """Remove the blob (none of that name: nothing to do)."""
        ...

    def aside(self) -> Blobs:
        """The blobs set aside, as blobs of their own (the rekey seals them anew too)."""
        ...

    def staging(self) -> Blobs:
        """An area of the same store for copies on their way in, listed apart."""
        ...

    def check(self) -> None:
        """At start: refuse (``ConfigurationError``, naming the setting) a store that cannot
        serve, rather than answer every upload 503."""
        ...

    def probe(self) -> None:
        """Now: raise :class:`BlobStoreUnavailable` when the store could not keep a file
        (``/readyz`` reports it beside readiness: tips without files go on meanwhile)."""
        ...

    # --- the sweep's (and a read's, for a blob set aside) ----------------------------------

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every blob in use, with when it was written."""
        ...

    def set_aside(self, name: str) -> None:
        """Move the blob out of use; it is set aside from now."""
        ...

    def set_aside_listing(self) -> Iterator[tuple[str, datetime]]:
        """Every blob set aside, with when it was."""
        ...

    def recover(self, name: str) -> bytes | None:
        """A blob set aside, back in use (and given back); None when there is none."""
        ...

    def purge(self, name: str) -> None:
        """Delete a blob that was set aside."""
        ...


class DirectoryBlobs:
    """``<root>/<2 hex>/<name>``: one directory every service mounts (ADR 22); ``flat``:
    ``<root>/<name>`` (the blobs set aside, copies being staged)."""

    def __init__(self, root: Path, *, flat: bool = False) -> None:
        self.root = root
        self.flat = flat

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

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def aside(self) -> DirectoryBlobs:
        return DirectoryBlobs(self.root / ".set-aside", flat=True)

    def staging(self) -> DirectoryBlobs:
        return DirectoryBlobs(self.root / ".rekey", flat=True)

    def check(self) -> None:
        """Nothing to reach: the directory is made on the first write."""

    def probe(self) -> None:
        """The directory, or the nearest folder it would be made in, is one this process may
        write in (a mount gone read-only or replaced by a file cannot keep a blob)."""
        where = self.root
        while not where.exists() and where != where.parent:
            where = where.parent
        if not (where.is_dir() and os.access(where, os.W_OK | os.X_OK)):
            raise BlobStoreUnavailable("附件存储暂不可用 (the directory cannot be written)")

    def listing(self) -> Iterator[tuple[str, datetime]]:
        for path in self.root.glob("*" if self.flat else "[0-9a-f][0-9a-f]/*"):
            if is_blob_name(path.name) and path.is_file():
                yield path.name, _modified(path)

    def set_aside(self, name: str) -> None:
        aside = self._aside(name)
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(name), aside)
        os.utime(aside)  # from now: the purge counts from when it was set aside

    def set_aside_listing(self) -> Iterator[tuple[str, datetime]]:
        for path in self.root.glob(".set-aside/*"):
            if is_blob_name(path.name):
                yield path.name, _modified(path)

    def recover(self, name: str) -> bytes | None:
        aside, path = self._aside(name), self._path(name)
        try:
            if path.exists():  # kept again meanwhile: the copy aside is one too many
                aside.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(aside, path)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise BlobStoreUnavailable(f"附件存储暂不可用 ({type(e).__name__})") from None
        return self.read(name)

    def purge(self, name: str) -> None:
        self._aside(name).unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / name if self.flat else self.root / name[:2] / name

    def _aside(self, name: str) -> Path:
        return self.root / ".set-aside" / name


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
