"""``taizhang attachments rekey``: every blob sealed under an older key generation sealed
again under the newest (ADR 50), on the directory or the bucket alike, so that the older
generations can be removed from ``TAIZHANG_ATTACHMENT_KEYS``.

A blob is opened with the generation that sealed it, its content checked against its keyed
digest (its name, which does not change), sealed under the newest generation, written to the
store's staging area and **read back** — only then does it replace the blob in use, which is
read back in turn before the staged copy goes. A good copy is on the store at every moment:
a run cut short leaves at most a staged copy, which the next run puts in place when the blob
in use does not open (else drops). The blobs the sweep set aside are sealed anew too: a read
that names one brings it back (ADR 39), and it must open then.

Idempotent: a blob of the newest generation is counted and left, so a second run rekeys 0.
The report and the log line hold counts only — no digest, no case, no key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import structlog

from shared.platform.attachments import AttachmentStore, attachment_store
from shared.platform.blobs import Blobs
from shared.platform.settings import Settings, load_secrets

log = structlog.get_logger(__name__)


@dataclass
class RekeyReport:
    """Counts only (no digest, no case): what a run found and did."""

    in_use: int = 0  # blobs in use
    set_aside: int = 0  # blobs the sweep set aside
    current: int = 0  # already under the newest generation: left
    rekeyed: int = 0  # sealed anew, read back, put in place (--dry-run: would be)
    failed: int = 0  # not read back equal: left as it was, run again
    unreadable: int = 0  # opens under no listed generation (damaged, its key removed): left
    restored: int = 0  # a run cut short left the blob damaged: its staged copy put back

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def rekey(settings: Settings, *, dry_run: bool = False) -> tuple[str, RekeyReport]:
    """Seal every blob of an older generation under the newest; answers the newest
    generation's id and the counts. See the module's docstring."""
    store = attachment_store(settings, load_secrets(settings).receipt_secret)
    store.check_reachable()  # a bucket not there, keys refused: named, before anything
    report = RekeyReport()
    for area, counted in ((store.blobs, "in_use"), (store.blobs.aside(), "set_aside")):
        _finish_cut_short(store, area, report, dry_run=dry_run)
        for name, _ in list(area.listing()):  # listed first: the run writes as it goes
            setattr(report, counted, getattr(report, counted) + 1)
            sealed = area.read(name)
            if sealed is not None:  # else moved since it was listed (set aside, brought back)
                _rekey_one(store, area, name, sealed, report, dry_run=dry_run)
    newest = store.sealer.current
    log.info("attachments_rekeyed", dry_run=dry_run, newest=newest, **report.as_json())
    return newest, report


def _rekey_one(
    store: AttachmentStore,
    area: Blobs,
    name: str,
    sealed: bytes,
    report: RekeyReport,
    *,
    dry_run: bool,
) -> None:
    generation = store.generation(name, sealed)
    if generation is None:
        report.unreadable += 1
    elif generation == store.sealer.current:
        report.current += 1
    elif dry_run or _rekeyed(store, area, name, sealed):
        report.rekeyed += 1
    else:
        report.failed += 1


def _rekeyed(store: AttachmentStore, area: Blobs, name: str, sealed: bytes) -> bool:
    fresh = store.resealed(name, sealed)
    return fresh is not None and _replace(area, name, fresh)


def _replace(area: Blobs, name: str, fresh: bytes) -> bool:
    """Stage ``fresh``, read it back, then put it in place of the blob and read that back."""
    staging = area.staging()
    staging.write(name, fresh)
    if staging.read(name) != fresh:
        staging.delete(name)  # the blob in use is untouched
        return False
    area.write(name, fresh)  # the old copy is replaced only now
    if area.read(name) != fresh:
        return False  # the staged copy stays: the next run puts it back if need be
    staging.delete(name)
    return True


def _finish_cut_short(
    store: AttachmentStore, area: Blobs, report: RekeyReport, *, dry_run: bool
) -> None:
    """Copies a run cut short left staged: put back where the blob does not open, else
    dropped (the blob is whole, under one generation or the other)."""
    staging = area.staging()
    for name, _ in list(staging.listing()):
        copy, held = staging.read(name), area.read(name)
        damaged = held is not None and store.generation(name, held) is None
        if damaged and copy is not None and store.generation(name, copy) is not None:
            if dry_run:
                report.restored += 1
                continue
            area.write(name, copy)
            if area.read(name) != copy:
                report.failed += 1
                continue
            report.restored += 1
        if not dry_run:
            staging.delete(name)
