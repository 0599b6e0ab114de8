"""The audit trail as supervisors search it (SPEC §6 ``GET /api/v1/audit``, ADR 26): every
integration event of a case (``case_history``: who changed what, and the reporter reveals
intake records) together with every read of protected data (``read_audit``: who viewed a case
or its history, searched or exported the ledger, with what outcome).

A read is recorded at the API edge (the ledger's queries don't know of it), handed to the
:class:`ReadAudit` writer before its answer leaves and written in a batch moments later. What
was asked is kept as its filters; a free-text term may be a name or a phone number, so only
its keyed fingerprint is kept — a supervisor finds searches for a term by giving the term
again (``?term=``), and nobody with a copy of the table can read or guess it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger import history
from services.tracking.ledger.queries import Total, capped_count
from services.tracking.ledger.tables import case_history, read_audit
from shared.contracts.wording import EVENT_LABELS, READ_LABELS
from shared.platform.protection import Fingerprinter
from shared.web.auth import Principal
from shared.web.reads import NOT_FOUND as NOT_FOUND
from shared.web.reads import SHOWN as SHOWN
from shared.web.reads import ReadNotRecorded

if TYPE_CHECKING:
    from services.tracking.ledger.reader import Ledger

log = structlog.get_logger(__name__)

# What each read is called in the trail (domain words: the supervisors filter by them).
CASE_VIEWED = "CaseViewed"
CASE_HISTORY_VIEWED = "CaseHistoryViewed"
LEDGER_SEARCHED = "LedgerSearched"
LEDGER_EXPORTED = "LedgerExported"
REPORT_EXPORTED = "ReportExported"
PERSON_SEARCHED = "AccountablePersonSearched"

ACCOUNTABILITY_LISTED = "AccountabilityListSearched"  # 问责清单 and its checks: officials' names
# Reads that hand over a whole body of data (the ledger, a report, a document): their row is
# committed before the answer leaves, so a crash cannot lose it (ADR 26, third addendum).
COMMITTED_FIRST = frozenset({LEDGER_EXPORTED, REPORT_EXPORTED})

OUTCOME_LABELS = {SHOWN: "已显示", NOT_FOUND: "未找到或无权查看"}

READS_SOURCE = "reads"  # the trail's ``source`` of a read (events carry their service's)
TERM_PURPOSE = b"taizhang/audit-term/v1\0"  # a term's digest is never a request's digest
# Filters whose values are free text (a reporter's or an official's name, a phone number): kept
# only keyed, as ``<name>_keyed``. Every other filter is a code, a flag or a date.
FREE_TEXT = frozenset({"q", "person", "name"})


def asked_of(reader: Ledger, filters: dict[str, Any]) -> dict[str, Any]:
    """:func:`asked` under the deployment's fingerprint keys."""
    return asked(filters, Fingerprinter(reader.secrets.fingerprint_keys))


def keyed_term(fingerprints: Fingerprinter, term: str) -> str:
    return fingerprints.sign(_digest(term))


def term_signatures(fingerprints: Fingerprinter, term: str) -> list[str]:
    return fingerprints.signatures(_digest(term))


def _digest(term: str) -> str:
    return hashlib.sha256(TERM_PURPOSE + term.strip().encode()).hexdigest()


async def record(
    ledger: Ledger,
    principal: Principal,
    type: str,
    *,
    case_id: UUID | None = None,
    outcome: str = SHOWN,
    asked: dict[str, Any] | None = None,
) -> None:
    """Append one read to the trail (through the ledger's :class:`ReadAudit`): an export's
    row is committed before this returns (:data:`COMMITTED_FIRST`; a write that fails raises
    :class:`~shared.web.reads.ReadNotRecorded` and the export is refused), a look's in the
    writer's next batch."""
    actor = principal.actor()
    row = {
        "occurred_at": ledger.now(),
        "type": type,
        "actor_id": actor["id"],
        "actor_name": actor["name"],
        "actor_role": actor["role"],
        "actor_unit": actor["unit"],
        "case_id": case_id,
        "outcome": outcome,
        "data": asked or {},
    }
    if type in COMMITTED_FIRST:
        await ledger.read_audit.commit(row)
    else:
        await ledger.read_audit.add(row)


class ReadAudit:
    """The read audit's writer: rows are handed over in memory and written by one task in
    batches, within a quarter of a second, so that a read does not wait for a commit of its own
    (which cost a case view 2–3× its time on PostgreSQL; docs/BENCHMARKS.md). The trade-off
    (ADR 26): a hard crash of the process loses the rows not yet written — a quarter second's
    of looks; a stop writes them all. An export does not take that chance: :meth:`commit`
    writes its row (with whatever waits beside it) before the answer leaves. With
    ``max_pending`` rows waiting (the database is slow or away) the next read waits for them
    to be written, so nothing is shown unrecorded for long."""

    def __init__(
        self,
        writes: async_sessionmaker[AsyncSession],
        max_pending: int = 5000,
        linger_seconds: float = 0.25,
    ) -> None:
        self.writes = writes
        self.max_pending = max_pending
        # Rows gather this long before a write: a write per read, even off the read's path,
        # took the loop from the next read (p50 +0.9 ms on PostgreSQL; docs/BENCHMARKS.md).
        self.linger = linger_seconds
        self._rows: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="read-audit")

    async def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if self._task is None or len(self._rows) >= self.max_pending:
            await self.flush()
        else:
            self._wake.set()

    async def commit(self, row: dict[str, Any]) -> None:
        """Write ``row`` now, in one transaction with every row waiting (a group commit: the
        exports that arrive during a write share the next one). If it cannot be written the
        row is withdrawn — it records data shown, and none will be — and
        :class:`ReadNotRecorded` is raised: the caller serves nothing."""
        self._rows.append(row)
        try:
            await self.flush()
        except Exception as e:
            # Put back by the failed write (or still waiting if another write failed first):
            # withdrawn by identity, an equal row may be another reader's.
            self._rows = [kept for kept in self._rows if kept is not row]
            log.warning("read_audit_commit_failed", type=row["type"], error=type(e).__name__)
            raise ReadNotRecorded() from e

    async def flush(self) -> None:
        """Write every row handed over so far (before a search of the trail, at a stop)."""
        async with self._lock:
            rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                async with self.writes() as session, session.begin():
                    await session.execute(sa.insert(read_audit), rows)
            except BaseException:
                self._rows[:0] = rows  # kept for the next attempt, in order
                raise

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            with contextlib.suppress(TimeoutError):  # a stop ends the wait at once
                await asyncio.wait_for(self._stop.wait(), self.linger)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # the database is away: keep the rows, try again shortly
                log.warning("read_audit_write_failed", pending=len(self._rows))
                await asyncio.sleep(1.0)
                self._wake.set()

    async def close(self) -> None:
        """Stop the task between two writes (never cancelled mid-write: a write cut after its
        commit would be retried and recorded twice), then write what is left."""
        if self._task is not None:
            self._closing = True
            self._stop.set()
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()


def asked(filters: dict[str, Any], fingerprints: Fingerprinter) -> dict[str, Any]:
    """The filters given (JSON-ready), free text only as its keyed fingerprint."""
    kept: dict[str, Any] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name in FREE_TEXT:
            kept[f"{name}_keyed"] = keyed_term(fingerprints, str(value))
        else:
            kept[name] = value if isinstance(value, (bool, int)) else str(value)
    return {"filters": kept}


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    type: str | None = None
    occurred_from: Any = None
    occurred_before: Any = None
    case_id: UUID | None = None
    term_keyed: Sequence[str] = ()

    def conditions(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        c = table.c
        found: list[sa.ColumnElement[bool]] = []
        if self.actor is not None:
            found.append((c.actor_id == self.actor) | (c.actor_name == self.actor))
        if self.type is not None:
            found.append(c.type == self.type)
        if self.occurred_from is not None:
            found.append(c.occurred_at >= self.occurred_from)
        if self.occurred_before is not None:
            found.append(c.occurred_at < self.occurred_before)
        if self.case_id is not None:
            found.append(c.case_id == self.case_id)
        return found


def _events(f: AuditFilter) -> sa.Select[Any]:
    h = case_history.c
    columns = (h.id, h.occurred_at, h.type, h.actor_id, h.actor_name, h.actor_role)
    return sa.select(
        *columns,
        h.actor_unit,
        h.case_id,
        h.source,
        h.position,
        sa.null().label("outcome"),
        h.data,
    ).where(*f.conditions(case_history))


def _reads(f: AuditFilter) -> sa.Select[Any]:
    r = read_audit.c
    where = f.conditions(read_audit)
    if f.term_keyed:
        where.append(sa.or_(*(sa.cast(r.data, sa.Text).contains(t) for t in f.term_keyed)))
    return sa.select(
        r.id,
        r.occurred_at,
        r.type,
        r.actor_id,
        r.actor_name,
        r.actor_role,
        r.actor_unit,
        r.case_id,
        sa.literal(READS_SOURCE).label("source"),
        r.id.label("position"),
        r.outcome,
        r.data,
    ).where(*where)


async def audit_page(
    session: AsyncSession, f: AuditFilter, *, page: int, page_size: int, count_limit: int
) -> tuple[Sequence[sa.Row[Any]], Total]:
    """A page of the trail, newest first; counted up to the cap as the ledger is (ADR 13)."""
    parts = [_reads(f)] if f.term_keyed else [_events(f), _reads(f)]
    trail = sa.union_all(*parts).subquery("trail") if len(parts) > 1 else parts[0].subquery()
    counted = int(
        (await session.execute(capped_count(sa.select(trail.c.id), count_limit))).scalar_one()
    )
    rows = await session.execute(
        sa.select(trail)
        .order_by(trail.c.occurred_at.desc(), trail.c.id.desc(), trail.c.source)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return rows.all(), Total(min(counted, count_limit), exact=counted <= count_limit)


def entry(row: sa.Row[Any]) -> dict[str, Any]:
    """One entry of the trail: an event as the history shows it, and (a read) its outcome."""
    found = history.entry(row)
    found["type_label"] = READ_LABELS.get(row.type) or EVENT_LABELS.get(row.type, row.type)
    if row.outcome is not None:
        found["outcome"] = row.outcome
        found["outcome_label"] = OUTCOME_LABELS.get(row.outcome, row.outcome)
    return found
