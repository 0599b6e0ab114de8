"""Group commit keeps each request's own answer while a batch looks up and stores together:
one existence query for the batch's idempotency identities, one insert for its keys — and a
batch's optimistic first attempt (no look-up, keys stored with the events, ADR 30) leaves
nothing behind when it misses."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, timedelta
from typing import Any

import psycopg
import pytest

from services.intake.application import (
    IdempotencyConflict,
    IntakeApplication,
    Registration,
    TipSubmission,
)
from services.intake.domain import case_id_for_external_ref
from services.intake.keyvault import TABLE, KeyVault
from shared.platform.eventstore import application_env
from shared.platform.protection import Fingerprinter, Sealer
from shared.platform.readmodel import ensure_schema, run_sync
from shared.platform.settings import Settings, load_secrets
from tests.support.pinned import NOW

ACTOR = {"id": "operator:甲", "name": "话务员甲", "role": "operator", "unit": None}
REPORTER = {"name": "张三", "phone": "13800000000"}


@pytest.fixture
def intake(settings: Settings) -> Iterator[IntakeApplication]:
    run_sync(ensure_schema(settings))
    with writer(settings) as app:
        yield app


@contextmanager
def writer(settings: Settings) -> Iterator[IntakeApplication]:
    """One intake writer (a replica's Application) on the settings' store."""
    secrets = load_secrets(settings)
    keys = KeyVault(settings, Sealer(secrets.reporter_keys))
    app = IntakeApplication(
        application_env(settings, "intake"),
        keys=keys,
        receipt_secret=secrets.receipt_secret,
        fingerprints=Fingerprinter(secrets.fingerprint_keys),
        clock=lambda: NOW,
    )
    try:
        yield app
    finally:
        app.close()
        keys.close()


def tip(fingerprint: str = "f1", **fields: Any) -> TipSubmission:
    return TipSubmission(
        channel="hotline_12388",
        content="某街道办事处违规收取办证费用",
        actor=ACTOR,
        fingerprint=fingerprint,
        **fields,
    )


@pytest.mark.calendar
def test_one_batch_answers_new_replayed_duplicate_and_conflicting_requests(
    intake: IntakeApplication,
) -> None:
    [first_ref, first_key] = intake.register([tip(external_ref="R-1"), tip(idempotency_key="K-1")])
    assert isinstance(first_ref, Registration) and isinstance(first_key, Registration)

    answers = intake.register(
        [
            tip(external_ref="R-2"),  # new
            tip(external_ref="R-1"),  # registered before: replayed
            tip(external_ref="R-3"),  # new …
            tip(external_ref="R-3"),  # … and again in the same batch: the same case
            tip(fingerprint="other", idempotency_key="K-1"),  # key reused, other body
            tip(idempotency_key="K-1"),  # key reused, same body: replayed
        ]
    )

    new_2, replay_1, new_3, again_3, conflict, replay_key = answers
    assert isinstance(new_2, Registration) and not new_2.replayed
    assert isinstance(replay_1, Registration) and replay_1.replayed
    assert (replay_1.case_id, replay_1.number) == (first_ref.case_id, first_ref.number)
    assert isinstance(new_3, Registration) and not new_3.replayed
    assert isinstance(again_3, Registration) and again_3.replayed
    assert again_3.case_id == new_3.case_id
    assert isinstance(conflict, IdempotencyConflict)
    assert isinstance(replay_key, Registration) and replay_key.replayed
    assert replay_key.case_id == first_key.case_id
    numbers = sorted(a.number for a in (first_ref, first_key, new_2, new_3))
    assert numbers == [f"{NOW.year}-00000{n}" for n in (1, 2, 3, 4)]


def test_two_writers_at_once_issue_each_number_once_and_leave_no_gap(
    intake: IntakeApplication, settings: Settings
) -> None:
    answers: list[Registration | Exception] = []

    def register(app: IntakeApplication, side: str) -> None:
        for n in range(8):
            batch = [tip(external_ref=f"{side}-{n}-{i}", reporter=REPORTER) for i in range(5)]
            answers.extend(app.register(batch))

    with writer(settings) as other:
        threads = [
            threading.Thread(target=register, args=(app, side))
            for app, side in ((intake, "a"), (other, "b"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Each writer's cached sequence is stale after the other's saves: still no repeat.
        [late] = other.register([tip(external_ref="late")])

    registered = [a for a in answers if isinstance(a, Registration)]
    assert len(registered) == len(answers) == 80
    assert isinstance(late, Registration)
    numbers = sorted(int(r.number.split("-")[1]) for r in [*registered, late])
    assert numbers == list(range(1, 82))
    # Every seal opens: each case's key was stored with its events, none lost to a retry.
    for r in registered[::10]:
        tip_ = intake.get_tip(r.case_id)
        assert tip_.reporter_sealed is not None
        assert intake.keys.sealer(r.case_id).open(tip_.reporter_sealed, r.case_id) == REPORTER


def test_a_missed_optimistic_attempt_stores_no_key_of_its_own(
    intake: IntakeApplication, settings: Settings
) -> None:
    [first] = intake.register([tip(external_ref="R-1")])
    # The batch's optimistic attempt fails on the replay and is rolled back whole, its new
    # cases' keys with it; the careful attempt stores one key for the one new case.
    replay, new = intake.register([tip(external_ref="R-1"), tip(external_ref="R-2")])
    assert isinstance(first, Registration) and isinstance(new, Registration)
    assert isinstance(replay, Registration) and replay.replayed
    assert stored_key_ids(settings) == sorted(str(r.case_id) for r in (first, new))


def stored_key_ids(settings: Settings) -> list[str]:
    sql = f"SELECT case_id FROM {TABLE} ORDER BY case_id"
    if settings.database_url is None:
        with closing(sqlite3.connect(settings.data_dir / "intake.sqlite")) as conn:
            return [row[0] for row in conn.execute(sql)]
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(f'SET search_path TO "{settings.database_schema}"')
        return [row[0] for row in conn.execute(sql)]


def test_existing_names_only_the_aggregates_with_events(intake: IntakeApplication) -> None:
    [registered] = intake.register([tip(external_ref="R-9")])
    assert isinstance(registered, Registration)
    unknown = uuid.uuid4()
    assert intake.existing([registered.case_id, unknown]) == {registered.case_id}
    assert registered.case_id == case_id_for_external_ref("hotline_12388", "R-9")
    assert intake.existing([]) == set()


def test_a_case_key_stored_before_is_reused_so_its_seals_still_open(settings: Settings) -> None:
    run_sync(ensure_schema(settings))
    keys = KeyVault(settings, Sealer(load_secrets(settings).reporter_keys))
    try:
        kept, fresh = uuid.uuid4(), uuid.uuid4()
        sealed = keys.provide([kept], NOW)[kept].seal({"name": "张三"}, kept)
        # A retried batch provides the same id again, beside a new one.
        sealers = keys.provide([kept, fresh], NOW)
        assert sealers[kept].open(sealed, kept) == {"name": "张三"}
        assert keys.sealer(fresh).open(sealers[fresh].seal("x", fresh), fresh) == "x"
    finally:
        keys.close()


def test_retention_compares_moments_whatever_zone_the_clock_gives(settings: Settings) -> None:
    """Registered at 10:00 in Shanghai (02:00 UTC): a cutoff of 07:00 UTC the same day is
    later, though "07" sorts before "10" as text."""
    run_sync(ensure_schema(settings))
    keys = KeyVault(settings, Sealer(load_secrets(settings).reporter_keys))
    try:
        case_id = uuid.uuid4()
        keys.provide([case_id], NOW)
        utc = NOW.astimezone(UTC)
        assert keys.destroy_registered_before(utc - timedelta(minutes=1)) == 0
        assert keys.destroy_registered_before(utc + timedelta(hours=5)) == 1
    finally:
        keys.close()
