"""``taizhang attachments sweep``: blobs no event names, set aside and later purged (ADR 39).

A request keeps its files before it records the event that names them (ADR 22), so a
failure in between — the database down after the files were kept — leaves blobs that no
event names: encrypted, named by a keyed digest, harmless, but kept for ever. The sweep
finds them and never loses one an event names, whatever runs meanwhile:

1. it notes where intake's and dispatch's event logs end, and reads every digest they name
   up to there (``TipEvidenceAttached``, ``CaseAttachmentAdded``) — less, per case, the ones
   a case cleaned away since (``CaseAttachmentCleaned``, ADR 42);
2. a blob no event names and written before the grace period is **set aside** — moved, not
   deleted: a request that names it meanwhile (it found the blob there and skipped writing
   it) reads it back from where it was set aside (``AttachmentStore.get``);
3. it reads the events recorded since step 1 and brings back any blob set aside that they
   name; a blob set aside that any event names is brought back too (a sweep before);
4. a blob set aside longer than ``purge_after`` (by an earlier run: a request that found the
   blob in use may still name it a moment later) that no event names is **purged**; a request
   that keeps the same content later writes it anew, it never needs the copy set aside.

The grace period keeps a request in flight out of it (a blob is kept moments before its
event). Times are the store's own — the file's, the object's — compared with the real time
(never a deployment's test clock). ``dry_run`` counts and changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.registry import build_service
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.platform.attachments import blob_store
from shared.platform.eventstore import ServiceApplication, application_env
from shared.platform.messaging.outbox import Outbox
from shared.platform.settings import Settings, load_secrets

SOURCES = ("intake", "dispatch")  # the services whose events name files
BATCH = 1000


@dataclass
class SweepReport:
    referenced: int = 0  # blobs an event names
    young: int = 0  # unnamed, but within the grace period: left
    set_aside: int = 0
    brought_back: int = 0
    purged: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class References:
    """The digests the event logs name, read on from where the last read stopped. A case
    names the files on it — as intake's tip and as dispatch's attachments — less those it
    has cleaned since (``CaseAttachmentCleaned``, ADR 42: the old blob is left to the sweep),
    so the same old digest still named by another case, or another file, stays named."""

    def __init__(self, settings: Settings) -> None:
        secrets = load_secrets(settings)
        one_connection = settings.model_copy(update={"db_pool_size": 1})
        self.outboxes: list[Outbox] = []
        for source in SOURCES:
            translate = build_service(source, settings, secrets).translate  # not started
            reader = type(f"{source}Reader", (ServiceApplication,), {"name": source.capitalize()})
            app = reader(application_env(one_connection, source))
            self.outboxes.append(Outbox(source, app, translate))
        self.positions = [0 for _ in SOURCES]
        self.cases: dict[UUID, Named] = {}

    @property
    def digests(self) -> set[str]:
        return {digest for named in self.cases.values() for digest in named.digests()}

    def read_on(self) -> None:
        """Every digest named or unnamed since the last read (the first: since the start)."""
        for n, outbox in enumerate(self.outboxes):
            head = outbox.head()
            while self.positions[n] < head:
                envelopes, self.positions[n] = outbox.read(self.positions[n], BATCH)
                for envelope in envelopes:
                    self._note(envelope.event)

    def _note(self, event: Any) -> None:
        if isinstance(event, i.TipEvidenceAttached):
            named = self.cases.setdefault(event.case_id, Named())
            named.tip.update(str(f["digest"]) for f in event.files)
        elif isinstance(event, d.CaseAttachmentAdded):
            self.cases.setdefault(event.case_id, Named()).files[event.n] = event.digest
        elif isinstance(event, d.CaseAttachmentCleaned):
            named = self.cases.setdefault(event.case_id, Named())
            named.files[event.n] = event.digest
            named.cleaned.add(event.old_digest)

    def close(self) -> None:
        for outbox in self.outboxes:
            outbox.app.close()


@dataclass
class Named:
    """What one case names: its tip's files (until dispatch lists them and cleans them),
    each of its files by number, and the digests it cleaned away."""

    tip: set[str] = field(default_factory=set)
    files: dict[int, str] = field(default_factory=dict)
    cleaned: set[str] = field(default_factory=set)

    def digests(self) -> set[str]:
        return (self.tip - self.cleaned) | set(self.files.values())


def sweep(
    settings: Settings,
    *,
    grace: timedelta,
    purge_after: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SweepReport:
    """Set aside the blobs no event names (older than ``grace``), purge those set aside for
    longer than ``purge_after``; see the module's docstring for why nothing named is lost."""
    now = now or datetime.now(UTC)
    blobs = blob_store(settings)
    references = References(settings)
    report = SweepReport()
    set_aside_now: set[str] = set()  # never purged by the run that set them aside
    try:
        references.read_on()
        for name, written in list(blobs.listing()):
            if name in references.digests:
                report.referenced += 1
            elif written > now - grace:
                report.young += 1
            else:
                report.set_aside += 1
                set_aside_now.add(name)
                if not dry_run:
                    blobs.set_aside(name)
        references.read_on()  # named while we were setting aside: brought back below
        for name, since in list(blobs.set_aside_listing()):
            if name in references.digests:
                report.brought_back += 1
                if not dry_run:
                    blobs.recover(name)
            elif name not in set_aside_now and since <= now - purge_after:
                report.purged += 1
                if not dry_run:
                    blobs.purge(name)
    finally:
        references.close()
    return report
