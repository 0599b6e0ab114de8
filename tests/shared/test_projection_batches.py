"""SqlProjection.handle_batch: a fetched batch in one transaction — set-based, else a
savepoint per envelope, else one at a time — with exactly the outcomes, marks and effects of
handling the envelopes one by one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Envelope, dispatch
from shared.platform.messaging import Outcome, handle_each
from shared.platform.messaging.policy import NotYet
from shared.platform.projection import SqlProjection, metadata
from shared.platform.readmodel import create_engine, ensure_schema, sessionmaker
from shared.platform.settings import Settings
from tests.support.pinned import NOW

tables = sa.MetaData()  # the test's own, beside the projection's marks
applied = sa.Table(
    "test_applied",
    tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("stream_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

A, B = "intake", "dispatch"


def event(source: str, position: int, stream: uuid.UUID, version: int, code: str) -> Envelope:
    unit = dispatch.UnitRegistered(
        code=code, name="单位", kind="department", parent=None, liaisons=[]
    )
    return Envelope(source, position, stream, version, NOW, None, unit)


class Fixture:
    def __init__(self, projection: SqlProjection) -> None:
        self.projection = projection
        # code → what its next attempts raise, one each; applied once they are used up
        self.failures: dict[str, list[BaseException]] = {}

    async def rows(self) -> list[tuple[str, int]]:
        async with self.projection.sessions() as session:
            result = await session.execute(
                sa.select(applied.c.code, applied.c.version).order_by(applied.c.id)
            )
            return [(code, version) for code, version in result]

    async def insert_conflict(self, code: str) -> None:
        async with self.projection.sessions() as session, session.begin():
            await session.execute(
                applied.insert().values(code=code, stream_id=uuid.uuid4(), version=0)
            )

    async def remove(self, code: str) -> None:
        async with self.projection.sessions() as session, session.begin():
            await session.execute(applied.delete().where(applied.c.code == code))


@pytest.fixture
async def fx(settings: Settings) -> AsyncIterator[Fixture]:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(tables.create_all)
    holder: dict[str, Fixture] = {}

    async def apply(session: AsyncSession, envelope: Envelope) -> None:
        unit = envelope.event
        assert isinstance(unit, dispatch.UnitRegistered)
        failures = holder["fx"].failures.get(unit.code)
        if failures:
            raise failures.pop(0)
        await session.execute(
            applied.insert().values(
                code=unit.code, stream_id=envelope.stream_id, version=envelope.stream_version
            )
        )

    projection = SqlProjection(
        "batchtest", (A, B), sessionmaker(engine), {dispatch.UnitRegistered: apply}
    )
    holder["fx"] = Fixture(projection)
    try:
        yield holder["fx"]
    finally:
        await engine.dispose()


D, R, L = Outcome.DONE, Outcome.DUPLICATE, Outcome.RETRY_LATER


async def test_duplicates_in_a_batch_are_applied_once(fx: Fixture) -> None:
    s = uuid.uuid4()
    a1, a2 = event(A, 1, s, 1, "a1"), event(A, 2, s, 2, "a2")
    assert await fx.projection.handle_batch([a1, a1, a2, a2]) == [D, R, D, R]
    assert await fx.projection.handle_batch([a2, a1]) == [R, R]
    assert await fx.rows() == [("a1", 1), ("a2", 2)]
    assert await fx.projection.last_position(A) == 2


async def test_two_versions_of_one_aggregate_in_a_batch_apply_in_order(fx: Fixture) -> None:
    s, t = uuid.uuid4(), uuid.uuid4()
    batch = [event(A, 1, s, 1, "s1"), event(A, 2, t, 1, "t1"), event(A, 3, s, 2, "s2")]
    assert await fx.projection.handle_batch(batch) == [D, D, D]
    assert await fx.rows() == [("s1", 1), ("t1", 1), ("s2", 2)]


async def test_a_gap_holds_back_the_later_versions_and_the_position(fx: Fixture) -> None:
    s, t = uuid.uuid4(), uuid.uuid4()
    s1, s2, s3 = (event(A, p, s, p, f"s{p}") for p in (1, 2, 3))
    t1 = event(A, 4, t, 1, "t1")
    b1 = event(B, 1, uuid.uuid4(), 1, "b1")
    assert await fx.projection.handle_batch([s1, s3, t1, b1]) == [D, L, D, D]
    # An in-order follower resumes after the position: it must not pass s3, still to come.
    assert await fx.projection.last_position(A) == 1
    assert await fx.projection.last_position(B) == 1
    assert await fx.projection.handle_batch([s2, s3]) == [D, D]
    assert await fx.rows() == [("s1", 1), ("t1", 1), ("b1", 1), ("s2", 2), ("s3", 3)]
    assert await fx.projection.last_position(A) == 3


async def test_an_integrity_error_loses_only_its_own_envelope(fx: Fixture) -> None:
    s, t, u = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batch = [event(A, 1, s, 1, "s1"), event(A, 2, t, 1, "taken"), event(A, 3, u, 1, "u1")]
    await fx.insert_conflict("taken")
    assert await fx.projection.handle_batch(batch) == [D, L, D]
    assert [code for code, _ in await fx.rows()] == ["taken", "s1", "u1"]
    await fx.remove("taken")
    # Its mark was rolled back with it: delivered again, it is applied, the others not again.
    assert await fx.projection.handle_batch(batch) == [R, D, R]
    assert await fx.rows() == [("s1", 1), ("u1", 1), ("taken", 1)]


async def test_a_failing_handler_keeps_the_others(fx: Fixture) -> None:
    s, t = uuid.uuid4(), uuid.uuid4()
    # it fails in the set-based attempt and again in its own savepoint
    fx.failures["t1"] = [ValueError("a bug in one handler")] * 2
    batch = [event(A, 1, s, 1, "s1"), event(A, 2, t, 1, "t1")]
    assert await fx.projection.handle_batch(batch) == [D, L]
    assert await fx.projection.handle_batch(batch) == [R, D]
    assert await fx.rows() == [("s1", 1), ("t1", 1)]


async def test_a_lost_transaction_falls_back_to_one_envelope_at_a_time(fx: Fixture) -> None:
    s, t = uuid.uuid4(), uuid.uuid4()
    # e.g. a deadlock between replicas: the database aborts the whole transaction
    # set-based and then with savepoints
    fx.failures["t1"] = [OperationalError("INSERT", {}, Exception("deadlock detected"))] * 2
    batch = [event(A, 1, s, 1, "s1"), event(A, 2, t, 1, "t1"), event(A, 3, s, 2, "s2")]
    assert await fx.projection.handle_batch(batch) == [D, D, D]
    assert await fx.rows() == [("s1", 1), ("t1", 1), ("s2", 2)]
    assert await fx.projection.last_position(A) == 3


async def test_consumers_without_batches_are_handled_one_at_a_time(fx: Fixture) -> None:
    class OneByOne:
        name, sources = "one_by_one", (A,)

        def __init__(self) -> None:
            self.seen: list[int] = []

        async def handle(self, envelope: Envelope) -> Outcome:
            if envelope.position == 2:
                raise RuntimeError("failed")
            self.seen.append(envelope.position)
            return D

        async def last_position(self, source: str) -> int:
            return 0

    consumer = OneByOne()
    batch = [event(A, p, uuid.uuid4(), 1, f"x{p}") for p in (1, 2, 3)]
    assert await handle_each(consumer, batch) == [D, L, D]
    assert consumer.seen == [1, 3]


async def test_a_failure_of_the_set_based_attempt_alone_loses_nothing(fx: Fixture) -> None:
    s, t = uuid.uuid4(), uuid.uuid4()
    fx.failures["t1"] = [ValueError("once")]  # e.g. a replica's mark inserted meanwhile
    batch = [event(A, 1, s, 1, "s1"), event(A, 2, t, 1, "t1")]
    assert await fx.projection.handle_batch(batch) == [D, D]
    assert await fx.rows() == [("s1", 1), ("t1", 1)]
    assert await fx.projection.last_position(A) == 2


async def test_a_replay_refuses_a_gap_and_keeps_nothing_of_the_page(fx: Fixture) -> None:
    s = uuid.uuid4()
    page = [event(A, 1, s, 1, "s1"), event(A, 3, s, 3, "s3")]
    with pytest.raises(RuntimeError, match="before its predecessor"):
        await fx.projection.replay(page)
    assert await fx.rows() == []
    assert await fx.projection.last_position(A) == 0
    await fx.projection.replay(page[:1])
    await fx.projection.replay(page[:1])  # a page read twice is skipped, not applied again
    assert await fx.rows() == [("s1", 1)]
    assert await fx.projection.last_position(A) == 1


async def test_an_envelope_that_must_wait_for_another_source_is_retried_later(
    fx: Fixture,
) -> None:
    """A handler raising ``NotYet`` (notify's message for a case whose CaseOpened, on
    dispatch's stream, has not arrived) changes nothing and is answered RETRY_LATER, alone or
    in a batch, quietly; once what it waits for is there, it applies."""
    s, t = uuid.uuid4(), uuid.uuid4()
    early, other = event(A, 1, s, 1, "early"), event(A, 2, t, 1, "other")
    # one per attempt: alone; in the batch set-based, then in its savepoint
    fx.failures["early"] = [NotYet("case not opened"), NotYet("not yet"), NotYet("still not")]
    assert await fx.projection.handle(early) == L
    assert await fx.projection.handle_batch([early, other]) == [L, D]
    assert await fx.rows() == [("other", 1)]
    assert await fx.projection.handle(early) == D
    assert await fx.rows() == [("other", 1), ("early", 1)]
