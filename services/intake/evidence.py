"""线索证据 in the tip's own request (ADR 22, amended): the files a hotline system or an
operator sends with the tip are checked and cleaned by the shared attachment store's rules
— all of them before any is kept, and all kept before the tip is registered — so that a
refused file registers no tip and a registered tip never names a missing file. The tip's
event carries only each file's keyed digest, type and size."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

from shared.platform.attachments import AttachmentError, AttachmentStore, Prepared

MAX_TIP_FILES = 10  # more come afterwards, through the case's own attachments


class TooManyFiles(Exception):
    """More files in one registration than it takes."""

    details: ClassVar[dict[str, object]] = {"max_files": MAX_TIP_FILES, "field": "files"}


def check_count(count: int) -> None:
    if count > MAX_TIP_FILES:
        raise TooManyFiles(
            f"一次登记最多附 {MAX_TIP_FILES} 个文件,其余请登记后作为案件附件补充 "
            f"(at most {MAX_TIP_FILES} files with a tip)"
        )


def prepare(store: AttachmentStore, parts: Sequence[bytes]) -> list[Prepared]:
    """Every file checked and cleaned, none kept yet; a refusal names the file (1-based)."""
    check_count(len(parts))
    prepared = []
    for n, data in enumerate(parts, start=1):
        try:
            prepared.append(store.prepare(data))
        except AttachmentError as e:
            e.details = {**(e.details or {}), "file": n}
            raise
    return prepared


def keep(store: AttachmentStore, prepared: Sequence[Prepared]) -> tuple[dict[str, Any], ...]:
    """Keep the checked files; what the tip's event says of each."""
    kept = [store.keep(p) for p in prepared]
    return tuple({"digest": s.digest, "media_type": s.media_type, "size": s.size} for s in kept)


def fingerprint(tip_fingerprint: str, evidence: Sequence[dict[str, Any]]) -> str:
    """The request's fingerprint with its files: the same key with other files is another
    request (a conflict), not a replay."""
    digests = ",".join(f["digest"] for f in evidence)
    return hashlib.sha256(f"{tip_fingerprint}|files:{digests}".encode()).hexdigest()
