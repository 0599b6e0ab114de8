"""The lifecycle every service shares, so that a service's ``service.py`` says only what is
its own: which Application it runs, what else it starts, what its events mean to others.

``start`` builds the read engines (when the service has read tables: ``read_migrations``) and
migrates them, then builds the Application in a thread (``build``), then calls ``started``;
``stop`` undoes it in reverse. Nothing is built before ``start``: the composition root calls
it in the FastAPI lifespan, the whole-system tools (``services/ops``) around a run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contracts import Contract
from shared.platform.eventstore import ServiceApplication, application_env
from shared.platform.messaging import Consumer
from shared.platform.readmodel import create_engine, migrate, sessionmaker
from shared.platform.settings import Secrets, Settings

AppT = TypeVar("AppT", bound=ServiceApplication)


class ServiceBase(Generic[AppT]):
    """One service in one process: its Application, its read engines, its consumers."""

    name: ClassVar[str]
    read_migrations: ClassVar[Path | None] = None
    # PostgreSQL connections beside the pools sized by TAIZHANG_DB_POOL_SIZE (a key vault's
    # own pool …), and an event store pool of fixed size (None: it follows the setting).
    extra_connections: ClassVar[int] = 0
    fixed_store_connections: ClassVar[int | None] = None
    # Read engines' pool size when the service's read tables are small and rarely busy
    # (None: it follows the setting, as the store's does).
    read_pool_size: ClassVar[int | None] = None

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.settings = settings
        self.secrets = secrets
        self._app: AppT | None = None
        # Whether :meth:`started` may run the service's own timers (schedulers, sweeps,
        # deliverers). A whole-system tool (a rebuild) starts a service to read its store
        # and must not have it issue reminders or notices meanwhile.
        self.background = True
        self._reader: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self._reads: async_sessionmaker[AsyncSession] | None = None
        self._writes: async_sessionmaker[AsyncSession] | None = None

    # --- what a service says about itself ------------------------------------------------

    def build(self, env: dict[str, str]) -> AppT:
        """The Application (called in a thread: opening a store blocks)."""
        raise NotImplementedError

    def translate(self, event: Any) -> Contract | None:
        """A domain event as the integration event others may read (None: stays inside)."""
        raise NotImplementedError

    # The domain events (qualified names) ``translate`` may publish, None: any of them. A bulk
    # read skips the others undecoded (ADR 41); a test holds it to the translators.
    published: frozenset[str] | None = None

    def consumers(self) -> Sequence[Consumer]:
        """What this service follows of others (and of itself, for its read models)."""
        return ()

    async def started(self) -> None:
        """Anything else to run once the Application is there (writers, schedulers)."""

    async def stopping(self) -> None:
        """Undo :meth:`started`, before the Application closes."""

    @classmethod
    def connections(cls, pool_size: int) -> int:
        """The most PostgreSQL connections this service holds with pools of ``pool_size``
        (each pool may overflow by as many again), its relay's leadership session included."""
        store = cls.fixed_store_connections or 2 * pool_size
        read_pool = min(cls.read_pool_size or pool_size, pool_size)
        reads = 4 * read_pool if cls.read_migrations is not None else 0  # reader + writer
        return store + reads + cls.extra_connections + 1

    # --- the lifecycle ---------------------------------------------------------------------

    @property
    def app(self) -> AppT:
        if self._app is None:
            raise RuntimeError(f"{self.name} service is not started")
        return self._app

    @property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the read engine."""
        return self._sessions(self._reads)

    @property
    def writes(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for projections (on SQLite they take the write lock at BEGIN)."""
        return self._sessions(self._writes)

    async def start(self, background: bool = True) -> None:
        self.background = background
        if self.read_migrations is not None:
            reading = self.settings
            if self.read_pool_size is not None:
                size = min(self.read_pool_size, self.settings.db_pool_size)
                reading = self.settings.model_copy(update={"db_pool_size": size})
            self._reader = create_engine(reading)
            self._writer = create_engine(reading, writer=True)
            self._reads, self._writes = sessionmaker(self._reader), sessionmaker(self._writer)
            await migrate(self._writer, self.read_migrations, f"alembic_version_{self.name}")
        env = application_env(self.settings, self.name)
        self._app = await asyncio.to_thread(self.build, env)
        await self.started()

    async def stop(self) -> None:
        await self.stopping()
        if self._app is not None:
            self._app.close()
        for engine in (self._reader, self._writer):
            if engine is not None:
                await engine.dispose()

    def check_ready(self) -> None:
        self.app.recorder.max_notification_id()

    def _sessions(
        self, factory: async_sessionmaker[AsyncSession] | None
    ) -> async_sessionmaker[AsyncSession]:
        if factory is None:
            raise RuntimeError(f"{self.name} service has no read engines (not started?)")
        return factory
