"""The embedded store's write-ahead logs are checkpointed by a thread of the serving process,
not inside the commits of intake's writer, a projection or a relay; its event stores commit
with the ``synchronous`` the operator chose (ADR 47)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.app import create_app
from shared.platform.eventstore import ServiceApplication, application_env
from shared.platform.sqlitewal import Checkpointer, checkpointed_elsewhere, tune
from tests.conftest import store_settings
from tests.support.infra import ServerThread

ROWS = 2_000


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute(f"PRAGMA {name}").fetchone()[0])


def _wal_file(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _written(path: Path) -> sqlite3.Connection:
    """A tuned connection that has committed enough to fill SQLite's default 1,000 pages."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    tune(conn, path, "NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    for _ in range(ROWS // 100):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (body) VALUES (?)", [(b"x" * 2048,)] * 100)
        conn.execute("COMMIT")
    return conn


def test_a_file_the_checkpointer_owns_is_checkpointed_by_it_and_left_empty_when_idle(
    tmp_path: Path,
) -> None:
    path = tmp_path / "intake.sqlite"
    sqlite3.connect(path).close()
    checkpointer = Checkpointer([path, tmp_path / "not-yet.sqlite"], interval=60)
    checkpointer.start()
    try:
        conn = _written(path)
        assert _pragma(conn, "wal_autocheckpoint") == 0
        wal = _wal_file(path).stat().st_size
        assert wal > 4 * 1024 * 1024  # past the 1,000 pages: no commit checkpointed
        checkpointer.checkpoint_all()  # copies the log into the file
        checkpointer.checkpoint_all()  # nothing new since: empties the log file
        assert _wal_file(path).stat().st_size == 0
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS
        assert not (tmp_path / "not-yet.sqlite").exists()  # a missing file is not created
        conn.close()
    finally:
        checkpointer.stop()


def test_a_checkpoint_waits_for_no_writer_and_no_reader(tmp_path: Path) -> None:
    path = tmp_path / "readmodels.sqlite"
    checkpointer = Checkpointer([path], interval=60)
    checkpointer.start()
    try:
        writer = _written(path)
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS  # a snapshot
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t (body) VALUES (x'00')")
        checkpointer.checkpoint_all()  # returns with both held (a wait would be 30 s)
        checkpointer.checkpoint_all()
        writer.execute("COMMIT")
        reader.execute("COMMIT")
        assert writer.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS + 1
        writer.close()
        reader.close()
    finally:
        checkpointer.stop()


def test_connections_checkpoint_themselves_where_no_checkpointer_runs(tmp_path: Path) -> None:
    path = tmp_path / "tracking.sqlite"
    alone = _written(path)
    assert _pragma(alone, "wal_autocheckpoint") == 1000  # SQLite's own, as the tools have
    assert _pragma(alone, "journal_size_limit") == 64 * 1024 * 1024
    assert _wal_file(path).stat().st_size < 5 * 1024 * 1024
    checkpointer = Checkpointer([path], interval=60)
    checkpointer.start()
    assert checkpointed_elsewhere(path)
    checkpointer.stop()
    assert not checkpointed_elsewhere(path)
    alone.close()


def test_intakes_store_commits_with_the_synchronous_the_settings_name_the_others_full(
    tmp_path: Path,
) -> None:
    for chosen, expected in (("NORMAL", 1), ("FULL", 2)):
        settings = store_settings(tmp_path / chosen).model_copy(
            update={"sqlite_intake_synchronous": chosen}
        )
        for service, wanted in (("intake", expected), ("dispatch", 2)):
            app = ServiceApplication(application_env(settings, service))
            try:
                with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
                    cursor.execute("PRAGMA synchronous")
                    assert cursor.fetchone()[0] == wanted
            finally:
                app.close()


def test_a_served_embedded_process_checkpoints_its_files_in_its_own_thread(
    tmp_path: Path,
) -> None:
    settings = store_settings(tmp_path)
    assert settings.embedded_store
    app = create_app(settings, ["intake"])
    with ServerThread(app):
        assert checkpointed_elsewhere(settings.data_dir / "intake.sqlite")
        assert not checkpointed_elsewhere(settings.data_dir / "readmodels.sqlite")  # SQLite's
        runtime = app.state.runtime
        assert runtime.checkpointer is not None
        with runtime.services["intake"].app.recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA wal_autocheckpoint")
            assert c.fetchone()[0] == 0
    assert not checkpointed_elsewhere(settings.data_dir / "intake.sqlite")  # stopped with it
