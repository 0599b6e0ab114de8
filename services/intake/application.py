"""Intake: tips in, ``Tip.Registered`` events saved, one case number each.

Registrations arrive in batches (see ``services.intake.groupcommit``): one transaction saves every
new tip of a batch with the numbers issued for them, which is what lets intake keep up with a
hotline's peak on a store whose writers are serialized.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from services.intake.domain import (
    CaseNumberSequence,
    IdempotencyKey,
    Tip,
    case_id_for_external_ref,
)
from services.intake.keyvault import CaseKeyDestroyed, KeyVault
from shared.platform.eventstore import ServiceApplication
from shared.platform.protection import Sealer, new_receipt_code, receipt_digest

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class TipSubmission:
    """A validated registration request, in primitives."""

    channel: str
    content: str
    actor: dict[str, Any]
    fingerprint: str
    summary: str | None = None
    category: str | None = None
    external_ref: str | None = None
    occurred_at: datetime | None = None
    location: dict[str, Any] | None = None
    subject: dict[str, Any] | None = None
    reporter: dict[str, Any] | None = None  # None: anonymous
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Registration:
    """The answer to a registration: the first one, or the same again on a replay."""

    case_id: UUID
    number: str
    receipt_code: str | None
    replayed: bool
    status: str = "registered"


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came back with a different request."""


class TipNotFound(Exception):
    """No tip with this id — or none this caller may see (an operator sees only its own)."""


OPERATOR = "operator"  # the role whose actors see only the tips they registered


class IntakeApplication(ServiceApplication):
    name = "Intake"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "1000"}
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        CaseNumberSequence: 100
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        keys: KeyVault,
        receipt_secret: bytes,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(env)
        self.keys = keys
        self.receipt_secret = receipt_secret
        self.timezone = ZoneInfo(timezone)
        self.clock = clock

    # --- commands ------------------------------------------------------------------------

    def register(self, submissions: Sequence[TipSubmission]) -> list[Registration | Exception]:
        """Register a batch; each submission gets its own answer or its own error."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._register_once(submissions)
            except IntegrityError:
                continue  # another writer issued the same numbers or created the same tip
        raise RuntimeError("could not register after repeated conflicts")

    def reveal_reporter(self, case_id: UUID, actor: dict[str, Any], reason: str) -> Any:
        """The reporter's identity, after recording who looked and why."""
        tip = self.visible_tip(case_id, actor)
        tip.check_identity_viewable()
        sealer = self.keys.sealer(case_id)  # CaseKeyDestroyed after the retention period
        tip.view_identity(actor, reason)
        self.save(tip)
        assert tip.reporter_sealed is not None
        return sealer.open(tip.reporter_sealed, tip.id)

    def shred_registered_before(self, cutoff: datetime) -> int:
        """Crypto-shred the sealed parts of every tip registered before ``cutoff``."""
        return self.keys.destroy_registered_before(cutoff)

    # --- queries -------------------------------------------------------------------------

    def visible_tip(self, case_id: UUID, viewer: dict[str, Any]) -> Tip:
        """The tip, if this viewer may see it; else :class:`TipNotFound`."""
        try:
            tip = self.get_tip(case_id)
        except AggregateNotFoundError:
            raise TipNotFound(case_id) from None
        if viewer.get("role") == OPERATOR and tip.registered_by["id"] != viewer.get("id"):
            raise TipNotFound(case_id)
        return tip

    def get_tip(self, case_id: UUID) -> Tip:
        tip: object = self.repository.get(case_id)
        if not isinstance(tip, Tip):
            raise AggregateNotFoundError(case_id)
        return tip

    # --- the batch -----------------------------------------------------------------------

    def _register_once(
        self, submissions: Sequence[TipSubmission]
    ) -> list[Registration | Exception]:
        answers: list[Registration | Exception | None] = [None] * len(submissions)
        fresh: list[int] = []
        deferred: list[int] = []
        claimed: set[UUID] = set()
        every = [_identities(s) for s in submissions]
        # One query for the whole batch; only what already exists is loaded, one by one.
        known = self.existing(set().union(*every))
        for i, (submission, identities) in enumerate(zip(submissions, every, strict=True)):
            try:
                answers[i] = self._prior_answer(submission) if identities & known else None
            except IdempotencyConflict as e:
                answers[i] = e
                continue
            if answers[i] is not None:
                continue
            if identities & claimed:
                deferred.append(i)  # same key twice in one batch: answer it after the first
                continue
            claimed |= identities
            fresh.append(i)
        if fresh:
            saved = self._save_new([submissions[i] for i in fresh])
            answers = _placed(answers, fresh, saved)
        if deferred:
            replayed = self._register_once([submissions[i] for i in deferred])
            answers = _placed(answers, deferred, replayed)
        assert all(a is not None for a in answers)
        return [a for a in answers if a is not None]

    def _save_new(self, submissions: Sequence[TipSubmission]) -> list[Registration]:
        now = self.clock()
        sequence = self._sequence(now.astimezone(self.timezone).year)
        numbers = sequence.issue(len(submissions))
        case_ids = [_case_id(s) for s in submissions]
        sealers = self.keys.provide(case_ids, now)
        tips: list[Tip] = []
        claims: list[IdempotencyKey] = []
        answers: list[Registration] = []
        for submission, number, case_id in zip(submissions, numbers, case_ids, strict=True):
            tip, receipt_code = self._new_tip(submission, number, case_id, sealers[case_id])
            tips.append(tip)
            if submission.idempotency_key:
                claims.append(
                    IdempotencyKey(
                        owner=submission.actor["id"],
                        key=submission.idempotency_key,
                        case_id=tip.id,
                        fingerprint=submission.fingerprint,
                    )
                )
            answers.append(Registration(tip.id, number, receipt_code, replayed=False))
        self.save(sequence, *tips, *claims)
        return answers

    def _new_tip(
        self, submission: TipSubmission, number: str, case_id: UUID, sealer: Sealer
    ) -> tuple[Tip, str | None]:
        receipt_code = new_receipt_code() if submission.reporter is None else None
        tip = Tip(  # type: ignore[call-arg]  # the library takes id= for any aggregate
            id=case_id,
            number=number,
            channel=submission.channel,
            content=submission.content,
            summary=submission.summary,
            category=submission.category,
            external_ref=submission.external_ref,
            occurred_at=submission.occurred_at,
            location=submission.location,
            subject=submission.subject,
            anonymous=submission.reporter is None,
            reporter_sealed=(
                sealer.seal(submission.reporter, case_id) if submission.reporter else None
            ),
            receipt_sealed=sealer.seal(receipt_code, case_id) if receipt_code else None,
            receipt_digest=(
                receipt_digest(self.receipt_secret, receipt_code) if receipt_code else None
            ),
            fingerprint=submission.fingerprint,
            actor=submission.actor,
        )
        return tip, receipt_code

    def _prior_answer(self, submission: TipSubmission) -> Registration | None:
        if submission.idempotency_key:
            claim = self._find(
                IdempotencyKey.create_id(submission.actor["id"], submission.idempotency_key)
            )
            if isinstance(claim, IdempotencyKey):
                if not secrets.compare_digest(claim.fingerprint, submission.fingerprint):
                    raise IdempotencyConflict(
                        "该 Idempotency-Key 已用于另一份不同的登记 "
                        "(Idempotency-Key reused with a different request body)"
                    )
                return self._replay(self.get_tip(claim.case_id), submission)
        if submission.external_ref:
            tip = self._find(case_id_for_external_ref(submission.channel, submission.external_ref))
            if isinstance(tip, Tip):
                return self._replay(tip, submission)
        return None

    def _replay(self, tip: Tip, submission: TipSubmission) -> Registration:
        # The receipt code is the anonymous reporter's key to the case: only the registrant
        # that was first given it gets it again.
        receipt_code = None
        if tip.receipt_sealed and tip.registered_by["id"] == submission.actor["id"]:
            with contextlib.suppress(CaseKeyDestroyed):
                receipt_code = self.keys.sealer(tip.id).open(tip.receipt_sealed, tip.id)
        return Registration(tip.id, tip.number, receipt_code, replayed=True)

    def _sequence(self, year: int) -> CaseNumberSequence:
        sequence = self._find(CaseNumberSequence.create_id(year))
        if isinstance(sequence, CaseNumberSequence):
            return sequence
        return CaseNumberSequence(year=year)

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def _placed(
    answers: list[Registration | Exception | None],
    positions: list[int],
    results: Sequence[Registration | Exception],
) -> list[Registration | Exception | None]:
    for position, result in zip(positions, results, strict=True):
        answers[position] = result
    return answers


def _case_id(submission: TipSubmission) -> UUID:
    if submission.external_ref:
        return case_id_for_external_ref(submission.channel, submission.external_ref)
    return uuid4()


def _identities(submission: TipSubmission) -> set[UUID]:
    identities = set()
    if submission.external_ref:
        identities.add(case_id_for_external_ref(submission.channel, submission.external_ref))
    if submission.idempotency_key:
        identities.add(IdempotencyKey.create_id(submission.actor["id"], submission.idempotency_key))
    return identities
