"""Group commit keeps each request's own answer while a batch looks up and stores together:
one existence query for the batch's idempotency identities, one insert for its keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.intake.application import (
    IdempotencyConflict,
    IntakeApplication,
    Registration,
    TipSubmission,
)
from services.intake.domain import case_id_for_external_ref
from services.intake.keyvault import KeyVault
from shared.platform.eventstore import application_env
from shared.platform.protection import Sealer
from shared.platform.readmodel import ensure_schema, run_sync
from shared.platform.settings import Settings, load_secrets
from tests.support.pinned import NOW

ACTOR = {"id": "operator:甲", "name": "话务员甲", "role": "operator", "unit": None}


@pytest.fixture
def intake(settings: Settings) -> Iterator[IntakeApplication]:
    run_sync(ensure_schema(settings))
    secrets = load_secrets(settings)
    keys = KeyVault(settings, Sealer(secrets.reporter_keys))
    app = IntakeApplication(
        application_env(settings, "intake"),
        keys=keys,
        receipt_secret=secrets.receipt_secret,
        clock=lambda: NOW,
    )
    yield app
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
