"""``taizhang attachments move-to-bucket``: a directory store's blobs copied into the
configured S3-compatible bucket (ADR 39, ADR 42), so that a deployment can leave the shared
volume for an object store.

Each blob in use, ``<directory>/<2 hex>/<digest>``, becomes the object ``<prefix><digest>``
with the same sealed bytes (the store encrypts before a backend sees a file: nothing is opened
or sealed again). A blob counts as moved only once the bucket gives back the very bytes the
directory holds; one the bucket holds already counts too when it is
equal, or when it opens under its own keyed digest (a service on the bucket kept the same
content meanwhile, under a nonce of its own: either copy is right, ADR 39). So a second run
copies nothing and a run cut short is resumed by running it again.

The directory is never changed, let alone deleted (OPERATIONS.md says when the operator may).
Blobs the sweep set aside stay there: no event names them. The report and the log line hold
counts only — no digest, no case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.blobs import DirectoryBlobs
from shared.platform.settings import ConfigurationError, Settings, load_secrets

log = structlog.get_logger(__name__)


@dataclass
class MoveReport:
    """Counts only (no digest, no case): what a run found and did."""

    in_directory: int = 0  # blobs in use in the directory
    copied: int = 0  # written to the bucket and read back equal (--dry-run: would be)
    already_there: int = 0  # in the bucket already (a run before, or the services since)
    failed: int = 0  # not read back equal: not moved, run again
    left_set_aside: int = 0  # set aside by the sweep (no event names them): not copied

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def move_to_bucket(
    settings: Settings, *, directory: Path | None = None, dry_run: bool = False
) -> MoveReport:
    """Copy every blob of ``directory`` (default ``<data_dir>/attachments``) into the bucket
    that ``TAIZHANG_ATTACHMENT_S3_*`` names, verifying each; see the module's docstring."""
    if settings.attachment_s3_endpoint is None:
        raise ConfigurationError(
            "TAIZHANG_ATTACHMENT_S3_ENDPOINT 未设置:请先配置目标存储桶 (set the bucket first)"
        )
    source = DirectoryBlobs(directory or settings.data_dir / "attachments")
    store = attachment_store(settings, load_secrets(settings).receipt_secret)  # on the bucket
    store.check_reachable()  # a bucket not there, keys refused: named, before anything
    report = MoveReport(left_set_aside=sum(1 for _ in source.set_aside_listing()))
    for name, _ in source.listing():
        report.in_directory += 1
        sealed = source.read(name)
        if sealed is None:  # set aside by a sweep since it was listed
            continue
        _move_one(name, sealed, store, report, dry_run=dry_run)
    log.info("attachments_moved_to_bucket", dry_run=dry_run, **report.as_json())
    return report


def _move_one(
    name: str,
    sealed: bytes,
    store: AttachmentStore,
    report: MoveReport,
    *,
    dry_run: bool,
) -> None:
    bucket = store.blobs
    held = bucket.read(name)
    if held is not None and (held == sealed or store.opens(name, held)):
        report.already_there += 1
    elif dry_run:
        report.copied += 1
    else:
        bucket.write(name, sealed)
        back = bucket.read(name)
        if back == sealed:  # read back whole: the bucket holds the directory's very bytes
            report.copied += 1
        else:
            report.failed += 1
