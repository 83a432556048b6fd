"""`zugong projections rebuild`: replay from the beginning into fresh tables, verify, swap in.

How it works, and why queries never go down:

1. **Shadow.** The projection's tables and its own checkpoint tables are created empty in a
   shadow: a separate SQLite file next to the read model (embedded), or a schema
   ``zugong_rebuild_<projection>`` in the read-model database (PostgreSQL, same tables through
   SQLAlchemy's ``schema_translate_map``). The live read model keeps serving and keeps being
   fed by the live projector all along.
2. **Replay** with the same ``SubscriptionRunner`` and projection code, in replay mode
   (``is_replay()`` is true, so projections fire no side effects), from the stores in
   position order (embedded) or from the Kafka topics from offset 0 (distributed), with the
   same checkpoint sources the live projector uses.
3. **Verify.** The shadow's stream versions must equal the stream heads of what it replayed
   (the stores' events up to the replayed position, or the topics' contents), every stream
   contiguous from version 1, its checkpoints at the last replayed position, and no event
   parked unless the operator accepts that.
4. **Swap**, in ONE transaction on the live database that first takes the projection's
   exclusive lock (PostgreSQL advisory lock, which every live batch holds shared; SQLite's
   write lock), so it falls between two live batches. If the live projector got ahead of
   the shadow meanwhile (under load it always does), the shadow catches up to it first,
   still under the lock — the live projector's in-memory position must not be ahead of the
   checkpoints it will find. Then it replaces the live tables: PostgreSQL drops them and
   moves the shadow's in with ``ALTER TABLE … SET SCHEMA`` (metadata only; queries wait
   milliseconds for the lock, none fails); SQLite attaches the shadow file and drops,
   recreates and fills the live tables from it (readers keep seeing the old rows until the
   commit — WAL snapshots). The events applied under the lock are not in the verification
   (they were applied by the same code; a dry run compares the result). The projection's checkpoint
   rows and stream versions are replaced by the shadow's in the same transaction, so the
   live projector carries on from there and redelivered events are skipped as usual.
   Parked dead letters of the old model are marked ``superseded``; the shadow's are kept.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore, events_table
from services.kernel.kafka_projector import to_delivery
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics
from services.kernel.settings import Settings
from services.kernel.subscription import (
    Delivery,
    Projection,
    SubscriptionRunner,
    checkpoint_metadata,
    dead_letters_table,
    projection_lock,
    projection_positions_table,
    projection_streams_table,
    replay_mode,
)
from zugong.ops.common import (
    OperationError,
    kafka_source,
    open_read_engine,
    open_stores,
    projections,
    store_source,
    topic_partitions,
)

__all__ = [
    "RebuildReport",
    "Shadow",
    "diff_tables",
    "rebuild",
    "rebuild_projection",
]

log = get_logger("zugong.rebuild")

Progress = Callable[[str, int, int | None], None]
"""Called as (projection, events replayed so far, events to replay in total if known)."""


@dataclass
class RebuildReport:
    projection: str
    events: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    differences: dict[str, tuple[int, int]] | None = None
    """Per table: (rows only in the live model, rows only in the rebuilt one) — dry runs."""
    swapped: bool = False
    swap_seconds: float = 0.0
    caught_up_under_lock: bool = False
    """The live projector got ahead during the replay; the last events were applied to the
    shadow while the live one was held (they are not in the verification)."""
    attempts: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class ShadowBehind(Exception):
    """The live projector is ahead of the shadow on some source: catch up again."""


def _in_schema(table: sa.Table, schema: str | None) -> sa.Table:
    return table.to_metadata(sa.MetaData(), schema=schema)


# --- feeds: where the replay reads history from -------------------------------------------------


class _Tracker:
    """What a replay delivered: for verifying the shadow against its input."""

    def __init__(self) -> None:
        self.reached: dict[str, int] = {}
        self.versions: dict[str, int] = {}
        self.gaps: list[str] = []
        self.handles: Callable[[str], bool] = lambda _type: True
        self.handled: dict[str, int] = {}
        """Per stream, the last version the projection handles: what its runner records."""

    def see(self, delivery: Delivery) -> None:
        self.reached[delivery.source] = delivery.position
        envelope = delivery.envelope
        if envelope is None:
            return
        last = self.versions.get(envelope.streamid, 0)
        if envelope.streamversion > last + 1:
            self.gaps.append(f"{envelope.streamid}: version {envelope.streamversion} follows "
                             f"{last} on {delivery.source}")
        if envelope.streamversion > last:
            self.versions[envelope.streamid] = envelope.streamversion
            if self.handles(envelope.type):
                self.handled[envelope.streamid] = envelope.streamversion


class StoreFeed:
    """The services' stores, in position order, one batch from each store in turn."""

    def __init__(self, stores: dict[str, EventStore], batch_size: int = 5000) -> None:
        self.stores = stores
        self.batch_size = batch_size
        self.tracker = _Tracker()

    async def _written(self) -> dict[str, EventStore]:
        """The stores that have an events table: a service that never ran has none yet (the
        rebuild only reads, so it does not create one)."""
        found = {}
        for name, store in self.stores.items():
            async with store.engine.connect() as conn:
                if await conn.run_sync(lambda sync: sa.inspect(sync).has_table(events_table.name)):
                    found[name] = store
        return found

    async def remaining(self, runner: SubscriptionRunner) -> int:
        total = 0
        for name, store in (await self._written()).items():
            total += max(0, await store.head_position() - max(0, await runner.position(
                store_source(name))))
        return total

    async def catch_up(self, runner: SubscriptionRunner, advance: Callable[[int], None]) -> int:
        stores = await self._written()
        positions = {name: max(0, await runner.position(store_source(name))) for name in stores}
        active = set(stores)
        total = 0
        while active:
            for name in sorted(active):
                batch = await stores[name].read_all(positions[name], self.batch_size)
                if not batch:
                    active.discard(name)
                    self.tracker.reached.setdefault(store_source(name), positions[name])
                    continue
                deliveries = [Delivery(store_source(name), e.position, e.to_envelope(name))
                              for e in batch]
                await runner.handle_with_retry(deliveries)
                for delivery in deliveries:
                    self.tracker.see(delivery)
                positions[name] = batch[-1].position
                total += len(batch)
                advance(len(batch))
        return total

    async def expected_versions(self) -> tuple[dict[str, int], list[str]]:
        """Stream heads in the stores up to the replayed positions, and store problems."""
        versions: dict[str, int] = {}
        problems: list[str] = []
        for name, store in (await self._written()).items():
            reached = self.tracker.reached.get(store_source(name), 0)
            query = sa.select(events_table.c.stream_id, sa.func.max(events_table.c.version),
                              sa.func.count()).where(events_table.c.position <= reached
                                                     ).group_by(events_table.c.stream_id)
            async with store.engine.connect() as conn:
                for stream_id, head, count in await conn.execute(query):
                    if head != count:
                        problems.append(f"store {name}: stream {stream_id} has {count} events "
                                        f"up to version {head}")
                    versions[stream_id] = max(head, versions.get(stream_id, 0))
        return versions, problems


class KafkaFeed:
    """The event topics from offset 0 up to their end offsets (read at each catch-up)."""

    def __init__(self, bootstrap_servers: str, topics: list[str], batch_size: int = 5000) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.batch_size = batch_size
        self.tracker = _Tracker()
        self.ends: dict[str, int] = {}

    async def _consumer(self):
        from aiokafka import AIOKafkaConsumer

        partitions = await topic_partitions(self.bootstrap_servers, self.topics)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    max_poll_records=self.batch_size,
                                    fetch_max_bytes=64 * 1024 * 1024,
                                    max_partition_fetch_bytes=16 * 1024 * 1024)
        await consumer.start()
        return consumer, partitions

    async def remaining(self, runner: SubscriptionRunner) -> int:
        consumer, partitions = await self._consumer()
        try:
            ends = await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()
        positions = await runner.positions()
        return sum(max(0, end - positions.get(kafka_source(tp.topic, tp.partition), -1) - 1)
                   for tp, end in ends.items())

    async def catch_up(self, runner: SubscriptionRunner, advance: Callable[[int], None]) -> int:
        consumer, partitions = await self._consumer()
        total = 0
        try:
            if not partitions:
                return 0
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            self.ends = {kafka_source(tp.topic, tp.partition): end for tp, end in ends.items()}
            positions = await runner.positions()
            pending = set()
            for tp in partitions:
                start = positions.get(kafka_source(tp.topic, tp.partition), -1) + 1
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    pending.add(tp)
                else:
                    consumer.pause(tp)
            while pending:
                records = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                deliveries = [to_delivery(tp.topic, tp.partition, m.offset, m.value)
                              for tp, messages in records.items() for m in messages
                              if m.offset < ends[tp]]
                if deliveries:
                    await runner.handle_with_retry(deliveries)
                    for delivery in deliveries:
                        self.tracker.see(delivery)
                    total += len(deliveries)
                    advance(len(deliveries))
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
                        consumer.pause(tp)
        finally:
            await consumer.stop()
        return total

    async def expected_versions(self) -> tuple[dict[str, int], list[str]]:
        problems = [f"topic gap: {g}" for g in self.tracker.gaps[:20]]
        short = {s: (self.tracker.reached.get(s), end - 1) for s, end in self.ends.items()
                 if end > 0 and self.tracker.reached.get(s, -1) < end - 1}
        if short:
            problems.append(f"replay stopped short of the end offsets (reached, last): {short}")
        return dict(self.tracker.versions), problems


# --- shadows: where the rebuilt tables live until the swap ---------------------------------------


class Shadow:
    """Fresh tables for one projection beside the live read model, and the swap into it."""

    schema: str

    def __init__(self, live: AsyncEngine, projection: Projection) -> None:
        self.live = live
        self.projection = projection
        self.engine: AsyncEngine

    @staticmethod
    def for_engine(live: AsyncEngine, projection: Projection) -> Shadow:
        if live.dialect.name == "sqlite":
            return SqliteShadow(live, projection)
        if live.dialect.name == "postgresql":
            return PostgresShadow(live, projection)
        raise OperationError(f"rebuild does not support {live.dialect.name} read models")

    async def prepare(self) -> None:
        raise NotImplementedError

    async def discard(self) -> None:
        raise NotImplementedError

    async def swap(self, catch_up: Callable[[], Awaitable[Any]]) -> None:
        """Swap the shadow in; ``catch_up`` is called, under the lock, if the live projector
        got ahead of the shadow meanwhile."""
        raise NotImplementedError

    async def _positions(self, conn: AsyncConnection, schema: str | None) -> dict[str, int]:
        table = _in_schema(projection_positions_table, schema)
        rows = await conn.execute(sa.select(table.c.source, table.c.position).where(
            table.c.projection == self.projection.name))
        return {r.source: r.position for r in rows}

    async def _behind(self, live: dict[str, int]) -> dict[str, tuple[int, int]]:
        async with self.engine.connect() as conn:  # its own connection: see SqliteShadow.swap
            shadow = await self._positions(conn, None)
        return {s: (p, shadow.get(s, -1)) for s, p in live.items() if shadow.get(s, -1) < p}

    async def _ensure_not_behind(self, conn: AsyncConnection, live_schema: str | None,
                                 catch_up: Callable[[], Awaitable[Any]]) -> None:
        """The live projector is held (we hold its lock): if it got ahead of the shadow, bring
        the shadow up to it now, so that the swapped-in checkpoints are not behind the
        positions the live projector holds in memory."""
        live = await self._positions(conn, live_schema)
        if await self._behind(live):
            await catch_up()
            behind = await self._behind(live)
            if behind:
                raise ShadowBehind(behind)

    async def _replace_checkpoints(self, conn: AsyncConnection, live_schema: str | None) -> None:
        name = self.projection.name
        for table in (projection_positions_table, projection_streams_table):
            live, shadow = _in_schema(table, live_schema), _in_schema(table, self.schema)
            columns = [c.name for c in table.columns]
            await conn.execute(live.delete().where(live.c.projection == name))
            await conn.execute(live.insert().from_select(columns, sa.select(
                *[shadow.c[c] for c in columns]).where(shadow.c.projection == name)))
        live, shadow = (_in_schema(dead_letters_table, live_schema),
                        _in_schema(dead_letters_table, self.schema))
        await conn.execute(live.update().where(live.c.projection == name,
                                               live.c.status == "parked"
                                               ).values(status="superseded"))
        columns = [c.name for c in dead_letters_table.columns if c.name != "id"]
        await conn.execute(live.insert().from_select(columns, sa.select(
            *[shadow.c[c] for c in columns]).where(shadow.c.projection == name)))


class SqliteShadow(Shadow):
    """A fresh SQLite file beside the read model; swapped in by copy inside one transaction."""

    schema = "zugong_shadow"

    def __init__(self, live: AsyncEngine, projection: Projection) -> None:
        super().__init__(live, projection)
        database = make_url(str(live.url)).database
        if not database or database == ":memory:":
            raise OperationError("rebuild needs a file-based SQLite read model")
        self.path = Path(f"{database}.rebuild-{projection.name}")
        self.engine = create_engine(f"sqlite+aiosqlite:///{self.path}", inline_sqlite=True)

        @sa.event.listens_for(self.engine.sync_engine, "connect")
        def _fast(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")  # a crash mid-rebuild just restarts it
            cursor.close()

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    async def prepare(self) -> None:
        await self.engine.dispose()
        self._remove_files()

    async def discard(self) -> None:
        await self.engine.dispose()
        self._remove_files()

    async def swap(self, catch_up: Callable[[], Awaitable[Any]]) -> None:
        async with self.live.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f"ATTACH DATABASE ? AS {self.schema}", (str(self.path),))
            try:
                # a plain BEGIN and a first write to the live database take its write lock
                # (between two live batches) but no lock on the attached shadow: BEGIN
                # IMMEDIATE would lock it too, and the catch-up must still write to it. The
                # shadow's snapshot starts at the first read of it, after the catch-up.
                await conn.exec_driver_sql("BEGIN")
                try:
                    for table in checkpoint_metadata.sorted_tables:
                        await conn.execute(sa.schema.CreateTable(_in_schema(table, "main"),
                                                                 if_not_exists=True))
                    await conn.exec_driver_sql(
                        "UPDATE main.projection_positions SET position = position WHERE 0")
                    await self._ensure_not_behind(conn, "main", catch_up)
                    await self._swap_in(conn)
                except BaseException:
                    await conn.exec_driver_sql("ROLLBACK")
                    raise
                await conn.exec_driver_sql("COMMIT")
            finally:
                await conn.exec_driver_sql(f"DETACH DATABASE {self.schema}")

    async def _swap_in(self, conn: AsyncConnection) -> None:
        # every live name is qualified with "main": SQLite resolves an unqualified name in the
        # attached shadow when main lacks it (a read model that never ran), and would drop
        # or fill the shadow's table instead
        tables = [_in_schema(t, "main") for t in self.projection.metadata.sorted_tables]
        for table in reversed(tables):
            await conn.execute(sa.schema.DropTable(table, if_exists=True))
        for table in tables:
            await conn.execute(sa.schema.CreateTable(table))
            for index in table.indexes:
                await conn.execute(sa.schema.CreateIndex(index))
            shadow = _in_schema(table, self.schema)
            columns = [c.name for c in table.columns]
            await conn.execute(table.insert().from_select(
                columns, sa.select(*[shadow.c[c] for c in columns])))
        await self._replace_checkpoints(conn, "main")


class PostgresShadow(Shadow):
    """A schema in the read-model database; swapped in by moving its tables (metadata only)."""

    def __init__(self, live: AsyncEngine, projection: Projection) -> None:
        super().__init__(live, projection)
        self.schema = f"zugong_rebuild_{projection.name}".lower()[:63]
        self.engine = live.execution_options(schema_translate_map={None: self.schema})

    async def prepare(self) -> None:
        async with self.live.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            await conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')

    async def discard(self) -> None:
        async with self.live.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    async def swap(self, catch_up: Callable[[], Awaitable[Any]]) -> None:
        async with self.live.begin() as conn:
            await conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            await projection_lock(conn, self.projection.name, exclusive=True)
            live_schema = await conn.scalar(sa.text("SELECT current_schema()"))
            await conn.run_sync(checkpoint_metadata.create_all)
            await self._ensure_not_behind(conn, live_schema, catch_up)
            tables = self.projection.metadata.sorted_tables
            for table in reversed(tables):
                await conn.exec_driver_sql(
                    f'DROP TABLE IF EXISTS "{live_schema}"."{table.name}" CASCADE')
            for table in tables:
                await conn.exec_driver_sql(
                    f'ALTER TABLE "{self.schema}"."{table.name}" SET SCHEMA "{live_schema}"')
            await self._replace_checkpoints(conn, live_schema)
            await conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')


# --- comparing two copies of a read model ------------------------------------------------------


def _comparable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value


async def _table_rows(engine: AsyncEngine, table: sa.Table) -> Counter:
    """The table's rows as a multiset, without a surrogate autoincrement key: that numbering
    depends on insertion order, not on the events."""
    surrogate = table.autoincrement_column
    columns = [c for c in table.columns if c is not surrogate]
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(*columns))
            return Counter(tuple(_comparable(v) for v in r) for r in rows)
    except sa.exc.DBAPIError:  # a read model that never ran has no tables: empty
        return Counter()


async def diff_tables(live: AsyncEngine, other: AsyncEngine, metadata: sa.MetaData
                      ) -> dict[str, tuple[int, int]]:
    """Per table: (rows only in ``live``, rows only in ``other``); empty dict when equal."""
    differences = {}
    for table in metadata.sorted_tables:
        a, b = await _table_rows(live, table), await _table_rows(other, table)
        if a != b:
            differences[table.name] = (sum((a - b).values()), sum((b - a).values()))
    return differences


# --- the rebuild -------------------------------------------------------------------------------


async def _verify(shadow: Shadow, feed: StoreFeed | KafkaFeed, report: RebuildReport,
                  allow_dead_letters: bool) -> None:
    name = shadow.projection.name
    expected, problems = await feed.expected_versions()
    async with shadow.engine.connect() as conn:
        versions = dict((await conn.execute(sa.select(
            projection_streams_table.c.stream_id, projection_streams_table.c.version).where(
            projection_streams_table.c.projection == name))).all())
        positions = dict((await conn.execute(sa.select(
            projection_positions_table.c.source, projection_positions_table.c.position).where(
            projection_positions_table.c.projection == name))).all())
        report.dead_letters = await conn.scalar(sa.select(sa.func.count()).select_from(
            dead_letters_table).where(dead_letters_table.c.projection == name)) or 0
        for table in shadow.projection.metadata.sorted_tables:
            report.rows[table.name] = await conn.scalar(
                sa.select(sa.func.count()).select_from(table)) or 0
    report.problems += problems
    if feed.tracker.versions != expected:
        missed = sorted(s for s in set(expected) | set(feed.tracker.versions)
                        if expected.get(s) != feed.tracker.versions.get(s))
        report.problems.append(f"the replay did not deliver {len(missed)} streams up to the "
                               f"source's head, e.g. {', '.join(missed[:5])}")
    # the runner records the versions of the events the projection handles
    expected = feed.tracker.handled
    if versions != expected:
        wrong = sorted(s for s in set(versions) | set(expected)
                       if versions.get(s) != expected.get(s))
        report.problems.append(
            f"{len(wrong)} streams differ from the source, e.g. "
            + ", ".join(f"{s}: rebuilt {versions.get(s)} vs source {expected.get(s)}"
                        for s in wrong[:5]))
    else:
        report.checks.append(f"{len(versions)} streams at the source's head versions")
    wrong_positions = {s: (positions.get(s), p) for s, p in feed.tracker.reached.items()
                       if p > 0 and positions.get(s) != p}
    if wrong_positions:
        report.problems.append(f"checkpoints not at the replayed end: {wrong_positions}")
    else:
        report.checks.append(f"checkpoints at the replayed end of {len(feed.tracker.reached)} "
                             "sources")
    if report.dead_letters and not allow_dead_letters:
        report.problems.append(f"{report.dead_letters} events were parked during the replay "
                               "(see the shadow's dead letters); pass --allow-dead-letters to "
                               "swap anyway")
    elif report.dead_letters:
        report.checks.append(f"{report.dead_letters} dead letters accepted")


async def rebuild_projection(
    settings: Settings, projection: Projection, live: AsyncEngine, feed: StoreFeed | KafkaFeed,
    *, swap: bool = True, allow_dead_letters: bool = False, progress: Progress | None = None,
    keep_shadow: bool = False, max_attempts: int = 5,
) -> RebuildReport:
    """Rebuild one projection into a shadow, verify it, swap it in (or compare, if not)."""
    report = RebuildReport(projection.name)
    feed.tracker.handles = projection.handles
    shadow = Shadow.for_engine(live, projection)
    await shadow.prepare()
    runner = SubscriptionRunner(projection, shadow.engine, Metrics(),
                                lock_name=f"{projection.name}:rebuild")
    await runner.create_schema()
    started = time.perf_counter()
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(projection.name, done, total)

    try:
        total = await feed.remaining(runner)
        if progress is not None:
            progress(projection.name, 0, total)
        with replay_mode():
            report.events = await feed.catch_up(runner, advance)
            report.seconds = time.perf_counter() - started
            await _verify(shadow, feed, report, allow_dead_letters)
            if report.problems:
                return report
            if not swap:
                report.differences = await diff_tables(live, shadow.engine, projection.metadata)
                return report

            async def catch_up_under_lock() -> None:
                nonlocal total
                total = done + await feed.remaining(runner)
                report.events += await feed.catch_up(runner, advance)
                report.caught_up_under_lock = True

            for attempt in range(1, max_attempts + 1):
                report.attempts = attempt
                swap_started = time.perf_counter()
                try:
                    await shadow.swap(catch_up_under_lock)
                except ShadowBehind as behind:
                    log.info("rebuild_catching_up", projection=projection.name, behind=str(behind))
                    total = done + await feed.remaining(runner)
                    report.events += await feed.catch_up(runner, advance)
                    continue
                report.swap_seconds = time.perf_counter() - swap_started
                report.swapped = True
                break
            else:
                report.problems.append(f"the live projector stayed ahead after {max_attempts} "
                                       "catch-ups; retry when the load is lower")
        return report
    finally:
        if not (keep_shadow and not report.swapped):
            await shadow.discard()


async def rebuild(settings: Settings, names: list[str] | None = None, *, swap: bool = True,
                  allow_dead_letters: bool = False, progress: Progress | None = None,
                  batch_size: int | None = None) -> list[RebuildReport]:
    """Rebuild the named projections (all when empty), one after the other."""
    reports = []
    async with open_read_engine(settings) as live, open_stores(settings) as stores:
        for projection in projections(names):
            if settings.distributed:
                feed: StoreFeed | KafkaFeed = KafkaFeed(
                    settings.kafka.bootstrap_servers or "", settings.all_topics(),
                    batch_size or 5000)
            else:
                feed = StoreFeed(stores, batch_size or 5000)
            reports.append(await rebuild_projection(
                settings, projection, live, feed, swap=swap,
                allow_dead_letters=allow_dead_letters, progress=progress))
    return reports
