"""Request fingerprints are keyed (ADR 18): the stored value is an HMAC under a named key, never
the request's plain SHA-256 (which holds the reporter's name and phone); fingerprints stored
unkeyed by release 0.1 are rewritten once, in place, and replays still match them."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.intake.application import (
    IdempotencyConflict,
    IntakeApplication,
    Registration,
    TipSubmission,
)
from services.intake.fingerprints import rewrite_unkeyed_fingerprints
from services.intake.keyvault import KeyVault
from shared.platform.eventstore import application_env
from shared.platform.protection import Fingerprinter, Sealer
from shared.platform.readmodel import ensure_schema, run_sync
from shared.platform.settings import (
    ConfigurationError,
    Settings,
    fingerprint_keys,
    load_secrets,
)
from tests.support.infra import PostgresProcess
from tests.support.pinned import NOW

ACTOR = {"id": "operator:甲", "name": "话务员甲", "role": "operator", "unit": None}
REPORTER = {"anonymous": False, "name": "指纹测试人", "phone": "13712345678"}
DIGEST = hashlib.sha256(
    json.dumps({"content": "某所乱收费", "reporter": REPORTER}, sort_keys=True).encode()
).hexdigest()


class Release01(Fingerprinter):
    """What release 0.1 stored: the request's digest itself."""

    def sign(self, digest: str, kid: str | None = None) -> str:
        return digest


def test_a_fingerprint_is_keyed_names_its_key_and_still_matches_after_rotation() -> None:
    old = Fingerprinter({"f1": b"a" * 32})
    stored = old.sign(DIGEST)
    assert stored.startswith("fp1:f1:") and DIGEST not in stored
    assert Fingerprinter.is_keyed(stored) and not Fingerprinter.is_keyed(DIGEST)
    rotated = Fingerprinter({"f2": b"b" * 32, "f1": b"a" * 32})
    assert rotated.sign(DIGEST).startswith("fp1:f2:")
    assert rotated.matches(stored, DIGEST)  # made under the older key, still listed
    assert not rotated.matches(stored, "0" * 64)
    assert not Fingerprinter({"f2": b"b" * 32}).matches(stored, DIGEST)  # key dropped
    assert not rotated.matches(DIGEST, DIGEST)  # an unkeyed value never matches


def test_fingerprint_keys_come_from_settings_with_the_derived_key_kept_last(
    tmp_path: Any,
) -> None:
    derived = fingerprint_keys(Settings(data_dir=tmp_path), b"r" * 48)
    assert list(derived) == ["d0"] and derived["d0"] != b"r" * 48
    configured = Settings(data_dir=tmp_path, fingerprint_keys="f2:" + "x" * 40)
    assert list(fingerprint_keys(configured, b"r" * 48)) == ["f2", "d0"]
    with pytest.raises(ConfigurationError, match="TAIZHANG_FINGERPRINT_KEYS"):
        fingerprint_keys(Settings(data_dir=tmp_path, fingerprint_keys="f2:short"), b"r" * 48)


@contextlib.contextmanager
def intake_parts(
    settings: Settings,
) -> Iterator[tuple[dict[str, str], KeyVault, Fingerprinter]]:
    run_sync(ensure_schema(settings))
    secrets = load_secrets(settings)
    keys = KeyVault(settings, Sealer(secrets.reporter_keys))
    try:
        yield application_env(settings, "intake"), keys, Fingerprinter(secrets.fingerprint_keys)
    finally:
        keys.close()


@pytest.fixture
def parts(settings: Settings) -> Iterator[tuple[dict[str, str], KeyVault, Fingerprinter]]:
    with intake_parts(settings) as made:
        yield made


def intake(parts: tuple[dict[str, str], KeyVault, Fingerprinter], fp: Fingerprinter) -> Any:
    env, keys, _ = parts
    return IntakeApplication(
        env, keys=keys, receipt_secret=b"r" * 48, fingerprints=fp, clock=lambda: NOW
    )


def submission(fingerprint: str = DIGEST) -> TipSubmission:
    return TipSubmission(
        channel="hotline_12388",
        content="某所乱收费",
        actor=ACTOR,
        fingerprint=fingerprint,
        reporter=dict(REPORTER),
        idempotency_key="K-fp",
    )


def stored_states(app: IntakeApplication) -> bytes:
    notifications = app.recorder.select_notifications(start=None, limit=1000)
    return b"\n".join(n.state for n in notifications)


def test_fingerprints_stored_unkeyed_are_rewritten_once_and_replays_still_match(
    parts: tuple[dict[str, str], KeyVault, Fingerprinter],
) -> None:
    fp = parts[2]
    legacy = intake(parts, Release01(fp._keys))
    [first] = legacy.register([submission()])
    assert isinstance(first, Registration)
    assert DIGEST.encode() in stored_states(legacy)  # the leak release 0.1 left
    legacy.close()

    app = intake(parts, fp)
    try:
        assert rewrite_unkeyed_fingerprints(app, fp) == 2  # Tip.Registered + the key's claim
        assert rewrite_unkeyed_fingerprints(app, fp) == 0  # once
        states = stored_states(app)
        assert DIGEST.encode() not in states
        assert fp.sign(DIGEST).encode() in states
        [replay, conflict] = app.register([submission(), submission("0" * 64)])
        assert isinstance(replay, Registration) and replay.replayed
        assert replay.case_id == first.case_id
        assert isinstance(conflict, IdempotencyConflict)
        [fresh] = app.register([dataclasses.replace(submission(), idempotency_key="K-2")])
        assert isinstance(fresh, Registration) and not fresh.replayed
        assert DIGEST.encode() not in stored_states(app)
    finally:
        app.close()


def raw_store_bytes(app: IntakeApplication) -> bytes:
    """What a copy of the store's files holds — free pages, WAL and dead tuples included."""
    env: Any = app.env
    if "SQLITE_DBNAME" in env:
        files = [Path(env["SQLITE_DBNAME"] + suffix) for suffix in ("", "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    recorder: Any = app.recorder
    table = f'"{env["POSTGRES_SCHEMA"]}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as conn:
        conn.execute("CHECKPOINT")  # the pages on disk, as a file copy would see them
        found = conn.execute(
            "SELECT pg_read_binary_file(pg_relation_filepath(c.oid)) AS raw FROM pg_class c "
            "WHERE c.oid = %s::regclass OR c.oid = (SELECT reltoastrelid FROM pg_class "
            "WHERE oid = %s::regclass)",
            (table, table),
        ).fetchall()
    return b"".join(bytes(row["raw"]) for row in found)


@pytest.fixture
def quiet_settings(settings: Settings) -> Iterator[Settings]:
    """On PostgreSQL a server of the test's own: VACUUM FULL keeps a dead row version that an
    open transaction of another session (another test's pg_dump, say) may still see, so on
    the shared server the purge was only as good as its neighbours were quiet."""
    if settings.database_url is None:
        yield settings
        return
    server = PostgresProcess().start()
    try:
        yield settings.model_copy(update={"database_url": server.url})
    finally:
        server.destroy()


def test_the_rewrite_leaves_no_old_digest_in_the_store_files(
    quiet_settings: Settings,
) -> None:
    """An UPDATE keeps the replaced bytes in free pages, the WAL or a dead tuple: the one start
    that rewrites also purges them (SQLite VACUUM + WAL truncate, PostgreSQL VACUUM FULL)."""
    with intake_parts(quiet_settings) as parts:
        fp = parts[2]
        legacy = intake(parts, Release01(fp._keys))
        [first] = legacy.register([submission()])
        assert isinstance(first, Registration)
        assert DIGEST.encode() in raw_store_bytes(legacy)
        legacy.close()

        app = intake(parts, fp)
        try:
            assert rewrite_unkeyed_fingerprints(app, fp) == 2
            raw = raw_store_bytes(app)
            assert DIGEST.encode() not in raw
            assert fp.sign(DIGEST).encode() in raw  # the file read is the live one
        finally:
            app.close()
