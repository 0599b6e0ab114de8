"""Files kept before their kind was cleaned (ADR 22's last amendment), cleaned on upgrade
(ADR 42; ``taizhang attachments clean-kept``).

Until that amendment the store cleaned images only: a PDF, MP4 or MP3 was kept as it came,
with its author, its device, the place it was recorded. Images were encoded again from their
pixels from the first release on, so they are clean and are not read. Every other file on a
case is read back and asked whether it is as its cleaner leaves it
(``shared.platform.cleaning.is_clean``); one that is not is cleaned by the very cleaner an
upload goes through now, kept under the keyed digest of its cleaned bytes, and recorded on
its case as ``Case.AttachmentCleaned`` (old digest → new, who, when) — the case names the new
blob from then on, and the contract lets the ledger (history, the portal's approved files)
follow. The old blob is no longer named by the case, so the sweep sets it aside later.

A file that cannot be cleaned (damaged, a password) and a blob that is missing or does not
open are counted and left as they are. The cleaned blob is kept before the event (as an
upload's is): a run cut short leaves at most a blob no event names, which the next run finds
there and names. A case's files are recorded in one save; a second run finds them clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from services.dispatch.application import DispatchApplication
from services.dispatch.domain import Case
from services.dispatch.errors import Busy
from shared.platform.attachments import (
    IMAGE_FORMATS,
    AttachmentMissing,
    AttachmentStore,
    AttachmentUnreadable,
    Prepared,
    Stored,
    strip_metadata,
)
from shared.platform.cleaning import is_clean
from shared.platform.faults import CLEAN_KEPT_EXIT_AFTER_KEEP, crash_if

BATCH = 1000
Actor = dict[str, Any]
Cleaned = tuple[int, str, str, int]  # (n, old digest, new digest, new size)


@dataclass
class CleanReport:
    """Counts only (no digest, no case): what a run found and did."""

    cases: int = 0  # cases with files
    files: int = 0  # files on them
    images: int = 0  # encoded again at upload since the first release: not read
    clean: int = 0  # as the cleaner leaves them (uploaded since, or cleaned by a run before)
    cleaned: int = 0  # cleaned now and recorded on their case (--dry-run: would be)
    not_cleanable: int = 0  # the cleaner refuses them (damaged, a password): left as they are
    missing: int = 0  # no blob, or one that does not open: left as they are
    busy: int = 0  # their case was being changed all along: run again

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def clean_kept_files(
    app: DispatchApplication,
    store: AttachmentStore,
    *,
    actor: Actor,
    dry_run: bool = False,
    faults: frozenset[str] = frozenset(),
) -> CleanReport:
    """Clean every case's files kept uncleaned; see the module's docstring."""
    report = CleanReport()
    done: dict[str, Stored | None] = {}  # the same blob on several cases: cleaned once
    for case_id in _cases_with_files(app):
        case = app.get_case(case_id)
        report.cases += 1
        cleaned = [c for a in case.attachments if (c := _look(a, store, done, report, dry_run))]
        if not cleaned or dry_run:
            report.cleaned += len(cleaned)
            continue
        crash_if(CLEAN_KEPT_EXIT_AFTER_KEEP, faults)  # the test of a run cut short here
        try:
            recorded = app.record_cleaned(case_id, cleaned, actor)
        except Busy:
            report.busy += len(cleaned)
            continue
        report.cleaned += recorded
        report.clean += len(cleaned) - recorded  # recorded meanwhile (another run)
    return report


def _look(
    attachment: dict[str, Any],
    store: AttachmentStore,
    done: dict[str, Stored | None],
    report: CleanReport,
    dry_run: bool,
) -> Cleaned | None:
    """The file's cleaning, when it needs one (its cleaned blob kept first)."""
    report.files += 1
    digest, media_type = attachment["digest"], attachment["media_type"]
    if media_type in IMAGE_FORMATS:
        report.images += 1
        return None
    if attachment.get("cleaned_from"):  # by a run before: never twice, whatever it reads
        report.clean += 1
        return None
    if digest not in done:
        try:
            done[digest] = _cleaned(store, digest, media_type, dry_run)
        except AttachmentMissing:
            report.missing += 1
            return None
        except AttachmentUnreadable:
            report.not_cleanable += 1
            return None
    stored = done[digest]
    if stored is None:
        report.clean += 1
        return None
    return attachment["n"], digest, stored.digest, stored.size


def _cleaned(store: AttachmentStore, digest: str, media_type: str, dry_run: bool) -> Stored | None:
    """The cleaned file as kept (None: it is clean already)."""
    data = store.get(digest)
    if is_clean(data, media_type):
        return None
    content = strip_metadata(data, media_type)  # AttachmentUnreadable: left as it is
    stored = Stored(store.digest(content), media_type, len(content))
    return stored if dry_run else store.keep(Prepared(stored, content))


def _cases_with_files(app: DispatchApplication) -> Iterator[UUID]:
    """Every case a file was ever attached to, once each, in the order of its first file."""
    topics = [f"{get_topic(Case)}.AttachmentAdded"]  # the class the decorator made
    seen: set[UUID] = set()
    start = 1
    while True:
        batch = app.recorder.select_notifications(start, BATCH, topics=topics)
        for notification in batch:
            case_id = UUID(str(notification.originator_id))
            if case_id not in seen:
                seen.add(case_id)
                yield case_id
        if len(batch) < BATCH:
            return
        start = batch[-1].id + 1
