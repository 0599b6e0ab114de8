"""Fixtures: the same tests run on the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import psycopg
import pytest
from eventsourcing.domain import CanCreateTimestamp

from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.deployment import Deployment
from tests.support.infra import ServerThread, nats_server, postgres_server
from tests.support.pinned import pinned_clock
from tests.support.s3 import S3Emulator
from tests.support.template import StoreTemplates, empty_store_wanted

# Tests never time anything: Hypothesis' deadline per example and its "input generation is
# slow" check did (a draw stalled 1.6 s on a loaded machine and failed the KPI rates test).
hypothesis.settings.register_profile(
    "untimed", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("untimed")

# The files that take longest, first: xdist hands whole files (``--dist loadfile``) to its two
# workers in collection order (``--no-loadscope-reorder``; its default puts files with many
# tests first), so a 70 s one-test module no longer starts last while the other worker idles.
# The fault modules are kept apart (each breaks a deployment of its own): one starts the run,
# the others follow the system tests.
LONGEST_FIRST = (
    "tests/faults/test_faults.py",
    "tests/system/",
    "tests/faults/",
    "tests/shared/test_backbone.py",
    "tests/workbench/test_browser",
)


def _weight(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    starts = [i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)]
    return starts[0] if starts else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first; and ``@pytest.mark.soak`` tests run under ``TAIZHANG_SOAK=1``
    only: deselected (not skipped) in CI, whose 15 minutes they would pass — each says which
    CI test proves its property."""
    items.sort(key=_weight)  # stable: each file's own order is kept
    if os.environ.get("TAIZHANG_SOAK") == "1":
        return
    soak = [item for item in items if item.get_closest_marker("soak")]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]


def pytest_configure(config: pytest.Config) -> None:
    """Pin the clock of every deployment the tests build or start (``tests/support/pinned.py``): a
    Settings read from the environment, and every service process, stand at ``NOW``."""
    os.environ["TAIZHANG_CLOCK_FILE"] = str(
        pinned_clock(Path(tempfile.mkdtemp(prefix="tz-clock-")) / "now")
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> StoreTemplates:
    """Migrated stores to copy into each test's (tests/support/template.py)."""
    return StoreTemplates(tmp_path_factory.mktemp("store-template"))


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


def new_schema() -> str:
    return f"tz_test_{uuid.uuid4().hex[:10]}"


def drop_schema(pg_url: str, schema: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def s3_emulator() -> Iterator[S3Emulator]:
    """An S3 emulator (moto's server) for a module's tests, each in a bucket of its own."""
    with S3Emulator() as emulator:
        yield emulator


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A schema of this test's own, dropped afterwards."""
    schema = new_schema()
    yield schema
    drop_schema(pg_url, schema)


# An all-in-one app on PostgreSQL holds ~36 connections with the default pools of 4, ~28 with
# 2: two xdist workers, each with an app or two beside a deployment, met the machine's 100
# ("too many clients", CI 2026-12-07). Tests send one request at a time.
TEST_POOL_SIZE = 2


def store_settings(
    data_dir: Path, pg_url: str | None = None, schema: str | None = None
) -> Settings:
    """Settings on SQLite (no ``pg_url``) or on a PostgreSQL schema, with the clock pinned at
    ``tests.support.pinned.NOW``."""
    clock = pinned_clock(data_dir.parent / f"{data_dir.name}-clock")
    if pg_url is None:
        return Settings(data_dir=data_dir, api_key_cache_seconds=0, clock_file=clock)
    return Settings(
        data_dir=data_dir,
        api_key_cache_seconds=0,
        clock_file=clock,
        db_pool_size=TEST_POOL_SIZE,
        database_url=pg_url,
        database_schema=schema,
    )


def make_settings(store: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for one store ("sqlite" or "postgres": a schema of the test's own), its tables
    already migrated (``store_templates``) unless the test is marked ``empty_store``."""
    if store == "sqlite":
        settings = store_settings(data_dir)
    else:
        pg_url = request.getfixturevalue("pg_url")
        settings = store_settings(data_dir, pg_url, request.getfixturevalue("pg_schema"))
    if not empty_store_wanted(request):
        request.getfixturevalue("store_templates").install(settings)
    return settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return make_settings(request.param, tmp_path / "data", request)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """One store for a whole module: for parametrized tests that only read, or whose writes
    are all refused — a fresh app for each of 50 cases cost 2–10 s apiece on PostgreSQL."""
    data_dir = tmp_path_factory.mktemp(request.param) / "data"
    templates: StoreTemplates = request.getfixturevalue("store_templates")
    if request.param == "sqlite":
        settings = store_settings(data_dir)
        templates.install(settings)
        yield settings
        return
    pg_url, schema = request.getfixturevalue("pg_url"), new_schema()
    settings = store_settings(data_dir, pg_url, schema)
    try:
        templates.install(settings)
        yield settings
    finally:
        drop_schema(pg_url, schema)


@pytest.fixture(scope="module")
def module_api(module_settings: Settings) -> Iterator[Api]:
    """``api`` over ``module_settings``: one served app for the module's tests."""
    from services.app import create_app

    with ServerThread(create_app(module_settings)) as server, Api(server.url, module_settings) as c:
        yield c


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The all-in-one app served on a loopback port, with a client that can sign in as anyone."""
    from services.app import create_app

    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


@pytest.fixture
def deployment(pg_url: str, pg_schema: str, nats_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """The services as separate processes on PostgreSQL and NATS, closed afterwards."""
    d = Deployment(pg_url, pg_schema, nats_url, tmp_path / "data")
    try:
        yield d
    finally:
        d.close()


@pytest.fixture(autouse=True, scope="module")
def _event_stamps_stay_in_their_file() -> Iterator[None]:
    """A file clock stamps the domain events its process records (``clock_for`` in
    shared/platform/clock.py), process-wide. A test file's clock must not stamp the events of
    the next file a worker runs, after that clock's file is gone."""
    original = CanCreateTimestamp.__dict__["create_timestamp"]
    yield
    CanCreateTimestamp.create_timestamp = original  # type: ignore[method-assign]
