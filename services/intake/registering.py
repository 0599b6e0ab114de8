"""Registering a batch of tips in one transaction — mixed into intake's Application (ADR 2,
ADR 30).

A batch's first attempt is optimistic and costs one round trip to the store: it assumes no
tip or idempotency key of the batch exists yet (a replay is rare), issues numbers from the
year's sequence as this writer last saved it (no look-up), and stores the new cases' keys
with their events (the recorder's ``also``). Whatever that assumption misses — a replay, a
key stored by an earlier failed attempt, another replica's numbers — the store refuses with
an ``IntegrityError``; the whole attempt is rolled back, the sequence is read afresh, and
the next attempt asks the store which identities exist and stores keys on their own, as
before. Numbers therefore stay unique and gap-free: they are issued only in a transaction
that commits.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from services.intake.domain import (
    CaseNumberSequence,
    IdempotencyKey,
    Tip,
    case_id_for_external_ref,
)
from services.intake.keyvault import CaseKeyDestroyed, KeyVault
from shared.platform.protection import Fingerprinter, Sealer, new_receipt_code, receipt_digest

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class TipSubmission:
    """A validated registration request, in primitives."""

    channel: str
    content: str
    actor: dict[str, Any]
    # The request's unkeyed digest: held in memory only, stored only keyed (ADR 18).
    fingerprint: str = field(repr=False)
    summary: str | None = None
    category: str | None = None
    external_ref: str | None = None
    occurred_at: datetime | None = None
    location: dict[str, Any] | None = None
    subject: dict[str, Any] | None = None
    reporter: dict[str, Any] | None = None  # None: anonymous
    sms_consent: bool = False  # the named reporter agreed to SMS progress notices (ADR 37)
    origin: dict[str, Any] | None = None  # {level, body}: a higher level's source (issue 18)
    idempotency_key: str | None = None
    # 线索证据 already kept in the attachment store: ``{digest, media_type, size}`` each.
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Registration:
    """The answer to a registration: the first one, or the same again on a replay."""

    case_id: UUID
    number: str
    receipt_code: str | None
    replayed: bool
    status: str = "registered"
    # Where intake's log holds the registration (its last event): a client (the workbench)
    # waits until the ledger has read that far. None on a replay.
    position: int | None = None


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came back with a different request."""


Answers = list[Registration | Exception | None]


class RegisteringMixin:
    """Needs an eventsourcing Application's ``save``, ``get_tip``, ``existing`` and ``_find``."""

    keys: KeyVault
    receipt_secret: bytes
    fingerprints: Fingerprinter
    timezone: ZoneInfo
    clock: Callable[[], datetime]
    save: Any
    get_tip: Any
    existing: Any
    _find: Any

    def _init_registering(self) -> None:
        self._registering = threading.Lock()
        self._sequences: dict[int, CaseNumberSequence] = {}  # as this writer last saved them

    def register(self, submissions: Sequence[TipSubmission]) -> list[Registration | Exception]:
        """Register a batch; each submission gets its own answer or its own error."""
        with self._registering:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    return self._register_once(submissions, optimistic=attempt == 0)
                except IntegrityError:
                    self._sequences.clear()  # another writer's numbers, or ours went stale
                    continue  # a replay, a stored key, or another writer's numbers
        raise RuntimeError("could not register after repeated conflicts")

    def _register_once(
        self, submissions: Sequence[TipSubmission], *, optimistic: bool
    ) -> list[Registration | Exception]:
        answers: Answers = [None] * len(submissions)
        fresh: list[int] = []
        deferred: list[int] = []
        claimed: set[UUID] = set()
        every = [_identities(s) for s in submissions]
        # One query for the whole batch (none when optimistic); only what exists is loaded.
        known = set() if optimistic else self.existing(set().union(*every))
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
            saved = self._save_new([submissions[i] for i in fresh], optimistic=optimistic)
            answers = _placed(answers, fresh, saved)
        if deferred:
            replayed = self._register_once([submissions[i] for i in deferred], optimistic=False)
            answers = _placed(answers, deferred, replayed)
        assert all(a is not None for a in answers)
        return [a for a in answers if a is not None]

    def _save_new(
        self, submissions: Sequence[TipSubmission], *, optimistic: bool
    ) -> list[Registration]:
        now = self.clock()
        year = now.astimezone(self.timezone).year
        sequence = self._sequences.pop(year, None) or self._sequence(year)
        numbers = sequence.issue(len(submissions))
        case_ids = [_case_id(s) for s in submissions]
        also = []
        if optimistic:  # the keys are stored with the events, or not at all
            sealers, statement = self.keys.new_keys(case_ids, now)
            also.append(statement)
        else:  # keys stored now; one stored by an earlier attempt is reused
            sealers = self.keys.provide(case_ids, now)
        tips: list[Tip] = []
        claims: list[IdempotencyKey] = []
        answers: list[Registration] = []
        for submission, number, case_id in zip(submissions, numbers, case_ids, strict=True):
            tip, receipt_code = self._new_tip(submission, number, case_id, sealers[case_id])
            tips.append(tip)
            if submission.idempotency_key:
                claims.append(self._claim(submission, tip.id))
            answers.append(Registration(tip.id, number, receipt_code, replayed=False))
        recordings = self.save(sequence, *tips, *claims, also=also)
        self._sequences[year] = sequence  # saved: its state is the store's
        positions: dict[UUID, int] = {}
        for recording in recordings:
            case_id = recording.domain_event.originator_id
            positions[case_id] = max(positions.get(case_id, 0), recording.notification.id)
        return [replace(a, position=positions.get(a.case_id)) for a in answers]

    def _claim(self, submission: TipSubmission, case_id: UUID) -> IdempotencyKey:
        assert submission.idempotency_key is not None
        return IdempotencyKey(
            owner=submission.actor["id"],
            key=submission.idempotency_key,
            case_id=case_id,
            fingerprint=self.fingerprints.sign(submission.fingerprint),
        )

    def _new_tip(
        self, submission: TipSubmission, number: str, case_id: UUID, sealer: Sealer
    ) -> tuple[Tip, str]:
        # Every new tip gets one (ADR 44): the anonymous reporter's only way back to the case,
        # and the named reporter's way to follow and rate it on the portal. Tips registered
        # before stay without one for a named reporter: none is invented later.
        receipt_code = new_receipt_code()
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
            receipt_sealed=sealer.seal(receipt_code, case_id),
            receipt_digest=receipt_digest(self.receipt_secret, receipt_code),
            fingerprint=self.fingerprints.sign(submission.fingerprint),
            actor=submission.actor,
            sms_consent=submission.sms_consent and submission.reporter is not None,
        )
        if submission.origin:
            tip.record_origin(submission.origin, submission.actor)
        tip.attach_evidence(list(submission.evidence), submission.actor)
        return tip, receipt_code

    def _prior_answer(self, submission: TipSubmission) -> Registration | None:
        if submission.idempotency_key:
            claim = self._find(
                IdempotencyKey.create_id(submission.actor["id"], submission.idempotency_key)
            )
            if isinstance(claim, IdempotencyKey):
                if not self.fingerprints.matches(claim.fingerprint, submission.fingerprint):
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
        # The receipt code is the reporter's key to the case: only the registrant that was
        # first given it gets it again (a tip registered before ADR 44 with a named reporter
        # has none).
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


def _placed(
    answers: Answers, positions: list[int], results: Sequence[Registration | Exception]
) -> Answers:
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
