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
   same checkpoint sources the live projector uses. ONE replay feeds every projection being
   rebuilt: each batch is read and decoded once and handed to each projection's runner.
   Embedded (SQLite stores and read model) on a machine with two cores or more, the replay
   runs in two processes side by side: this one feeds the audit log's shadow from a forked
   process while it feeds the others' (each process reads the stores itself, and both stop
   at the stores' heads of when the replay started; later events are caught up at the swap).
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

import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import sqlite3
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    SQLITE_SAVE_POSITION,
    SQLITE_SAVE_VERSIONS,
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
    "rebuild_projections",
]

log = get_logger("zugong.rebuild")

REPLAY_BATCH = 20_000
"""Events per replay transaction: per batch, every runner reads and writes the versions of the
streams the batch touches and the personnel projection its units, so larger batches touch
each busy stream fewer times per event."""

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
    replayed_with: list[str] = field(default_factory=list)
    """The projections fed by the same replay (``events`` and ``seconds`` are that replay's:
    every event read once and applied to each of them)."""
    cpu_seconds: float = 0.0
    """CPU time the replay took, in every process that replayed (the figure a busy machine
    distorts least)."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class ShadowBehind(Exception):
    """The live projector is ahead of the shadow on some source: catch up again."""


# An unnamed column index is named after the column's label, which includes the schema
# ("ix_main_rm_cadres_unit_id"): name it after the table alone, as the live model names it.
_SCHEMA_FREE_NAMES = {"ix": "ix_%(table_name)s_%(column_0_name)s"}


def _in_schema(table: sa.Table, schema: str | None) -> sa.Table:
    return table.to_metadata(sa.MetaData(naming_convention=_SCHEMA_FREE_NAMES), schema=schema)


# --- feeds: where the replay reads history from -------------------------------------------------

Runners = SubscriptionRunner | Sequence[SubscriptionRunner]
"""The runner(s) a feed replays into: one replay feeds every projection being rebuilt."""


def _as_list(runners: Runners) -> Sequence[SubscriptionRunner]:
    return [runners] if isinstance(runners, SubscriptionRunner) else runners


async def _hand_over(runners: Runners, deliveries: list[Delivery]) -> None:
    """One batch to every runner; a runner with nothing to apply in it (another service's
    events) only has its checkpoint moved past it, without going through the batch."""
    # whether a runner has work depends on the events' types alone: one event of each type
    # answers it (not every event of the batch, once per runner)
    samples = list({d.envelope.type if d.envelope is not None else None: d
                    for d in deliveries}.values())
    for runner in _as_list(runners):
        if runner.has_work(samples):
            await runner.handle_with_retry(deliveries)
        else:
            await SubscriptionRunner.advance_idle([runner], deliveries)


def _collect_young() -> None:
    """While replaying (``_fewer_collections``), after each batch is let go: what cycles the
    batch left (once its objects are freed, there are only those to look at)."""
    if not gc.isenabled():
        gc.collect(0)


class _Tracker:
    """What a replay delivered: for verifying the shadow against its input."""

    def __init__(self) -> None:
        self.reached: dict[str, int] = {}
        self.versions: dict[str, int] = {}
        self.gaps: list[str] = []
        self.handled: dict[str, dict[str, int]] = {}
        """Per projection watched, per stream, the last version of an event the projection
        handles: what its runner records (it records nothing for the events it ignores)."""
        self._projections: Sequence[Projection] = ()
        self._handled_by: dict[str, tuple[dict[str, int], ...]] = {}

    def watch(self, projections: Sequence[Projection]) -> None:
        self._projections = projections
        self.handled = {p.name: {} for p in projections}
        self._handled_by = {}

    def _versions_handling(self, event_type: str) -> tuple[dict[str, int], ...]:
        found = self._handled_by.get(event_type)
        if found is None:
            found = self._handled_by[event_type] = tuple(
                self.handled[p.name] for p in self._projections if p.handles(event_type))
        return found

    def see(self, delivery: Delivery) -> None:
        self.reached[delivery.source] = delivery.position
        envelope = delivery.envelope
        if envelope is not None:
            self._see_all(delivery.source,
                          [(envelope.streamid, envelope.streamversion, envelope.type)])

    def see_store_batch(self, source: str, deliveries: Sequence[Delivery]) -> None:
        """``see`` for each of a batch of one store's deliveries in turn."""
        self._see_all(source, [(e.streamid, e.streamversion, e.type) for e in
                               (d.envelope for d in deliveries) if e is not None])
        if deliveries:
            self.reached[source] = deliveries[-1].position

    def see_rows(self, source: str, rows: Sequence[tuple]) -> None:
        """``see`` for each of a store's rows (``EventStore.read_rows``) in turn."""
        self._see_all(source, [(row[1], row[3], row[5]) for row in rows])
        if rows:
            self.reached[source] = rows[-1][0]

    def _see_all(self, source: str, events: list[tuple[str, int, str]]) -> None:
        versions, handling = self.versions, self._versions_handling
        for stream_id, version, event_type in events:
            last = versions.get(stream_id, 0)
            if version > last:
                if version > last + 1:
                    self.gaps.append(f"{stream_id}: version {version} follows {last} on {source}")
                versions[stream_id] = version
                for handled in handling(event_type):
                    handled[stream_id] = version


class StoreFeed:
    """The services' stores, in position order, one batch from each store in turn."""

    def __init__(self, stores: dict[str, EventStore], batch_size: int = REPLAY_BATCH) -> None:
        self.stores = stores
        self.batch_size = batch_size
        self.tracker = _Tracker()
        self.events = 0
        """Events the last replay delivered."""
        self.cpu_seconds = 0.0
        """CPU time of the process that replayed it, when not this one."""

    async def _written(self) -> dict[str, EventStore]:
        """The stores that have an events table: a service that never ran has none yet (the
        rebuild only reads, so it does not create one)."""
        found = {}
        for name, store in self.stores.items():
            async with store.engine.connect() as conn:
                if await conn.run_sync(lambda sync: sa.inspect(sync).has_table(events_table.name)):
                    found[name] = store
        return found

    async def _positions(self, runners: Runners, stores: dict[str, EventStore]
                         ) -> dict[str, int]:
        """Where to read each store from: the least advanced of the runners (the others skip
        what they already applied, by position)."""
        return {name: min([max(0, await runner.position(store_source(name)))
                           for runner in _as_list(runners)]) for name in stores}

    async def remaining(self, runners: Runners) -> int:
        stores = await self._written()
        positions = await self._positions(runners, stores)
        return sum([max(0, await store.head_position() - positions[name])
                    for name, store in stores.items()])

    async def heads(self) -> dict[str, int]:
        """Each store's last position now: a bound for ``catch_up``."""
        return {name: await store.head_position()
                for name, store in (await self._written()).items()}

    async def catch_up(self, runners: Runners, advance: Callable[[int], None],
                       until: dict[str, int] | None = None) -> int:
        """Read each batch once and hand it to every runner in turn; with ``until``, read no
        store past the position given for it."""
        stores = await self._written()
        positions = await self._positions(runners, stores)
        active = set(stores)
        total = 0
        while active:
            for name in sorted(active):
                source = store_source(name)
                limit = self.batch_size if until is None else min(
                    self.batch_size, until.get(name, 0) - positions[name])
                envelopes = await stores[name].read_envelopes(
                    positions[name], limit, name) if limit > 0 else []
                deliveries = [Delivery(source, e.position, e) for e in envelopes]
                if not deliveries:
                    active.discard(name)
                    self.tracker.reached.setdefault(source, positions[name])
                    continue
                await _hand_over(runners, deliveries)
                self.tracker.see_store_batch(source, deliveries)
                positions[name] = deliveries[-1].position
                total += len(deliveries)
                advance(len(deliveries))
                del envelopes, deliveries
                _collect_young()
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

    def __init__(self, bootstrap_servers: str, topics: list[str], batch_size: int = REPLAY_BATCH) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.batch_size = batch_size
        self.tracker = _Tracker()
        self.events = 0
        """Events the last replay delivered."""
        self.cpu_seconds = 0.0
        """CPU time of the process that replayed it, when not this one."""
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

    @staticmethod
    async def _positions(runners: Runners) -> Callable[[str], int]:
        """The least advanced runner's offset on a partition (-1: none applied)."""
        known = [await runner.positions() for runner in _as_list(runners)]
        return lambda source: min(p.get(source, -1) for p in known)

    async def remaining(self, runners: Runners) -> int:
        consumer, partitions = await self._consumer()
        try:
            ends = await consumer.end_offsets(partitions) if partitions else {}
        finally:
            await consumer.stop()
        position = await self._positions(runners)
        return sum(max(0, end - position(kafka_source(tp.topic, tp.partition)) - 1)
                   for tp, end in ends.items())

    async def catch_up(self, runners: Runners, advance: Callable[[int], None]) -> int:
        """Read each batch once and hand it to every runner in turn."""
        consumer, partitions = await self._consumer()
        total = 0
        try:
            if not partitions:
                return 0
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            self.ends = {kafka_source(tp.topic, tp.partition): end for tp, end in ends.items()}
            position = await self._positions(runners)
            pending = set()
            for tp in partitions:
                start = position(kafka_source(tp.topic, tp.partition)) + 1
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
                    await _hand_over(runners, deliveries)
                    for delivery in deliveries:
                        self.tracker.see(delivery)
                    total += len(deliveries)
                    advance(len(deliveries))
                    del records, deliveries
                    _collect_young()
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

    async def defer_indexes(self) -> None:
        """Called once the shadow's tables exist, before the replay."""

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
            # a crash mid-rebuild just restarts it: no fsync, and the rollback journal in
            # memory instead of a WAL that every page is written to twice (rollbacks, which
            # the runner relies on to isolate a poison event, still work)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: 128 MiB was no faster (300k events)
            cursor.close()

    async def defer_indexes(self) -> None:
        """Drops the secondary indexes that the projection says its replay never reads through
        (``replay_without_indexes``): the replay then writes each row into its table alone.
        The swap copies the rows into live tables created with every index, which it builds
        after the copy; a shadow kept for inspection has none."""
        if not getattr(self.projection, "replay_without_indexes", False):
            return
        async with self.engine.begin() as conn:
            for table in self.projection.metadata.sorted_tables:
                for index in table.indexes:
                    if not index.unique:
                        await conn.execute(sa.schema.DropIndex(index, if_exists=True))

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
            shadow = _in_schema(table, self.schema)
            columns = [c.name for c in table.columns]
            await conn.execute(table.insert().from_select(
                columns, sa.select(*[shadow.c[c] for c in columns])))
            for index in table.indexes:  # after the rows: one sorted build per index
                await conn.execute(sa.schema.CreateIndex(index))
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
                  allow_dead_letters: bool, expected_versions: tuple[dict[str, int], list[str]]
                  ) -> None:
    name = shadow.projection.name
    expected, problems = expected_versions
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
    expected = feed.tracker.handled[name]
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
    [report] = await rebuild_projections(
        settings, [projection], live, feed, swap=swap, allow_dead_letters=allow_dead_letters,
        progress=progress, keep_shadow=keep_shadow, max_attempts=max_attempts)
    return report


async def rebuild_projections(
    settings: Settings, projections_: Sequence[Projection], live: AsyncEngine,
    feed: StoreFeed | KafkaFeed, *, swap: bool = True, allow_dead_letters: bool = False,
    progress: Progress | None = None, keep_shadow: bool = False, max_attempts: int = 5,
    processes: int = 1,
) -> list[RebuildReport]:
    """Rebuild projections into their shadows from ONE replay (each batch is read and decoded
    once and handed to every projection's runner), verify each, then swap each in (or compare,
    if not swapping). A projection that fails verification is not swapped; the others are.

    With ``processes`` > 1 (stores and read model on SQLite files only), the projections are
    split into groups replayed side by side, each by its own process into its own shadows, all
    up to the same store positions (read when the replay starts): the same replay, on more
    cores. Verification and swaps then run here as usual."""
    shadows = [Shadow.for_engine(live, p) for p in projections_]
    reports = [RebuildReport(p.name) for p in projections_]
    runners: list[SubscriptionRunner] = []
    try:
        for shadow in shadows:
            await shadow.prepare()
            runner = SubscriptionRunner(shadow.projection, shadow.engine, Metrics(),
                                        lock_name=f"{shadow.projection.name}:rebuild")
            await runner.create_schema()
            await shadow.defer_indexes()
            runners.append(runner)
        together = [p.name for p in projections_]
        feed.tracker.watch(projections_)
        started, cpu_started = time.perf_counter(), time.process_time()
        groups = _replay_groups(projections_, live, feed, processes)
        with replay_mode(), _fewer_collections():
            if len(groups) > 1:
                assert isinstance(feed, StoreFeed)
                feeds = await _replay_side_by_side(groups, runners, live, feed, progress)
            else:
                await _replay(runners, feed, together, progress)
                feeds = {name: feed for name in together}
            seconds = time.perf_counter() - started
            elsewhere = [f.cpu_seconds for f in {id(f): f for f in feeds.values()}.values()
                         if f.cpu_seconds]
            cpu = time.process_time() - cpu_started + sum(elsewhere)
            log.info("rebuild_replayed", projections=together, seconds=round(seconds, 2),
                     cpu_seconds_here=round(cpu - sum(elsewhere), 2),
                     cpu_seconds_of_workers=[round(c, 2) for c in elsewhere])
            expected_of: dict[int, tuple[dict[str, int], list[str]]] = {}
            for shadow, report in zip(shadows, reports, strict=True):
                own = feeds[report.projection]
                report.events, report.seconds, report.replayed_with = own.events, seconds, together
                report.cpu_seconds = cpu
                if id(own) not in expected_of:
                    expected_of[id(own)] = await own.expected_versions()
                await _verify(shadow, own, report, allow_dead_letters, expected_of[id(own)])
            for shadow, runner, report in zip(shadows, runners, reports, strict=True):
                if report.problems:
                    continue
                if not swap:
                    report.differences = await diff_tables(live, shadow.engine,
                                                           shadow.projection.metadata)
                    continue
                await _swap(shadow, runner, feeds[report.projection], report, max_attempts,
                            progress)
        return reports
    finally:
        for shadow, report in zip(shadows, reports, strict=False):
            if not (keep_shadow and not report.swapped):
                await shadow.discard()


async def _replay(runners: Sequence[SubscriptionRunner], feed: StoreFeed | KafkaFeed,
                  names: Sequence[str], progress: Progress | None,
                  until: dict[str, int] | None = None) -> None:
    """One replay of ``feed`` into ``runners``, reporting progress under ``names``."""
    done = 0
    total = await feed.remaining(runners[0] if len(runners) == 1 else runners)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            for name in names:
                progress(name, done, total)

    if progress is not None:
        for name in names:
            progress(name, 0, total)
    chosen = runners[0] if len(runners) == 1 else runners
    feed.events = (await feed.catch_up(chosen, advance) if until is None
                   else await feed.catch_up(chosen, advance, until=until))


# --- replaying groups of projections side by side ----------------------------------------------


def _replay_groups(projections_: Sequence[Projection], live: AsyncEngine,
                   feed: StoreFeed | KafkaFeed, processes: int) -> list[list[Projection]]:
    """The projections split into at most ``processes`` groups, each replayed by its own
    process: the audit log (it handles every event) apart from the others. One group when
    that cannot be done: a Kafka feed, PostgreSQL (a forked process cannot share the pool's
    connections), or no ``fork``."""
    if (processes < 2 or len(projections_) < 2 or not isinstance(feed, StoreFeed)
            or live.dialect.name != "sqlite"
            or "fork" not in multiprocessing.get_all_start_methods()
            or any(store._file is None for store in feed.stores.values())):
        return [list(projections_)]
    alone = next((p for p in projections_ if p.name == "audit"), projections_[0])
    return [[p for p in projections_ if p is not alone], [alone]]


async def _replay_side_by_side(groups: list[list[Projection]],
                               runners: Sequence[SubscriptionRunner], live: AsyncEngine,
                               feed: StoreFeed, progress: Progress | None
                               ) -> dict[str, StoreFeed]:
    """The first group replayed here, each other one by a forked process into its own
    shadows, every one up to the stores' heads of now. Returns each projection's feed, whose
    tracker holds what its group's replay delivered (for the verification)."""
    until = await feed.heads()
    runner_of = {r.projection.name: r for r in runners}
    context = multiprocessing.get_context("fork")
    workers = []
    feeds: dict[str, StoreFeed] = {p.name: feed for p in groups[0]}
    try:
        for group in groups[1:]:
            receiver, sender = context.Pipe(duplex=False)
            # forked: the child has this process's modules and projection objects already
            # (nothing to import), and opens its own connections
            process = context.Process(
                target=_replay_worker, daemon=True,
                args=(sender, group, live, feed.stores, feed.batch_size, until))
            process.start()
            sender.close()
            own = StoreFeed(feed.stores, feed.batch_size)
            own.tracker.watch(group)
            feeds.update({p.name: own for p in group})
            workers.append(_Worker(process, receiver, [p.name for p in group], own, progress))

        def relay(name: str, done: int, total: int | None) -> None:
            for worker in workers:
                worker.drain()
            if progress is not None:
                progress(name, done, total)

        await _replay([runner_of[p.name] for p in groups[0]], feed, [p.name for p in groups[0]],
                      relay, until)
        for worker in workers:
            await worker.finish()
        return feeds
    finally:
        for worker in workers:
            worker.stop()


class _Worker:
    """A forked process replaying a group of projections, as seen from here."""

    def __init__(self, process: Any, pipe: Any, names: list[str], feed: StoreFeed,
                 progress: Progress | None) -> None:
        self.process, self.pipe, self.names, self.feed = process, pipe, names, feed
        self.progress = progress
        self.finished = False

    def drain(self) -> None:
        """Take in what the process reported so far (progress, its result), without waiting."""
        while not self.finished and self.pipe.poll():
            try:
                message = self.pipe.recv()
            except EOFError:
                raise OperationError(f"the process replaying {', '.join(self.names)} ended "
                                     f"(exit code {self.process.exitcode}) without a result"
                                     ) from None
            if message[0] == "progress":
                if self.progress is not None:
                    for name in self.names:
                        self.progress(name, message[1], message[2])
            elif message[0] == "done":
                self.feed.events, self.feed.cpu_seconds = message[1], message[3]
                tracker = self.feed.tracker
                tracker.reached, tracker.versions, tracker.gaps, tracker.handled = message[2]
                self.finished = True
            else:
                raise OperationError(f"the replay of {', '.join(self.names)} failed: "
                                     f"{message[1]}")

    async def finish(self) -> None:
        while True:
            self.drain()
            if self.finished:
                break
            if not self.process.is_alive() and not self.pipe.poll():
                raise OperationError(f"the process replaying {', '.join(self.names)} ended "
                                     f"(exit code {self.process.exitcode}) without a result")
            await asyncio.sleep(0.02)
        await asyncio.to_thread(self.process.join)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.pipe.close()


def _replay_worker(pipe: Any, group: list[Projection], live: AsyncEngine,
                   stores: dict[str, EventStore], batch_size: int, until: dict[str, int]
                   ) -> None:
    """A forked replay process: replays ``group`` into its shadows (prepared by the parent)
    and sends back progress, then the events it delivered and its tracker's record."""
    try:
        result = asyncio.run(_replay_group(pipe, group, live, stores, batch_size, until))
    except BaseException as error:
        pipe.send(("failed", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        raise SystemExit(1) from None
    pipe.send(("done", *result))
    pipe.close()


async def _replay_group(pipe: Any, group: list[Projection], live: AsyncEngine,
                        stores: dict[str, EventStore], batch_size: int, until: dict[str, int]
                        ) -> tuple[int, tuple]:
    # connections of its own: the parent's (inherited by the fork) are never touched here
    own_stores = {name: EventStore(create_engine(str(store.engine.url)), service=store.service)
                  for name, store in stores.items()}
    shadows = [SqliteShadow(live, p) for p in group]
    try:
        runners = [SubscriptionRunner(s.projection, s.engine, Metrics(),
                                      lock_name=f"{s.projection.name}:rebuild") for s in shadows]
        feed = StoreFeed(own_stores, batch_size)
        feed.tracker.watch(group)
        report = lambda _name, done, total: pipe.send(("progress", done, total))  # noqa: E731
        with replay_mode(), _fewer_collections():
            if _replays_rows(group, own_stores):
                await _replay_rows(runners[0], shadows[0], feed, until, report)
            else:
                await _replay(runners, feed, [group[0].name], report, until)
    finally:
        for engine in [s.engine for s in shadows] + [s.engine for s in own_stores.values()]:
            await engine.dispose()
    tracker = feed.tracker
    return (feed.events, (tracker.reached, tracker.versions, tracker.gaps, tracker.handled),
            time.process_time())


def _replays_rows(group: Sequence[Projection], stores: dict[str, EventStore]) -> bool:
    """Whether ``_replay_rows`` can replay ``group``: one projection that turns store rows into
    its rows itself (``sqlite_rows_from_store``), from SQLite file stores."""
    return (len(group) == 1 and hasattr(group[0], "sqlite_rows_from_store")
            and group[0].replays_store_rows()  # type: ignore[attr-defined]
            and all(store._file is not None for store in stores.values()))


async def _replay_rows(runner: SubscriptionRunner, shadow: SqliteShadow, feed: StoreFeed,
                       until: dict[str, int], progress: Progress) -> None:
    """The replay of one projection that makes its rows from the stores' rows
    (``sqlite_rows_from_store``: the audit log, which handles every event) into its fresh
    shadow, straight through ``sqlite3``: no envelopes, no SQLAlchemy. Each batch's rows,
    stream versions and checkpoint are written in one transaction, as the runner writes them
    (same rows, same rule: an event whose stream version is not above the last one is
    skipped; a repeated event id keeps its first row, ``_build_unique``). A batch the
    projection cannot turn into rows goes through ``runner`` instead, which parks what
    fails, and once it parked one, every later batch too (it holds the parked streams)."""
    projection: Any = runner.projection
    name = projection.name
    table, columns, unique = (projection.replay_table, projection.replay_columns,
                              projection.replay_unique)
    from sqlalchemy.dialects import sqlite

    insert = str(sqlite.insert(table).compile(dialect=sqlite.dialect(),
                                              column_keys=list(columns)))
    stores = await feed._written()
    positions = await feed._positions(runner, stores)
    versions: dict[str, int] = {}
    total = sum(max(0, until.get(n, 0) - positions[n]) for n in stores)
    done = 0
    progress(name, 0, total)
    connection = sqlite3.connect(shadow.path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA journal_mode=MEMORY")
        connection.execute("PRAGMA cache_size=-32768")
        _drop_unique(connection, table, unique)
        held = (f"SELECT 1 FROM {dead_letters_table.name} WHERE projection = ? "
                "AND status = 'parked' LIMIT 1")
        through_runner = False
        active = set(stores)
        while active:
            for store_name in sorted(active):
                source = store_source(store_name)
                limit = min(feed.batch_size, until.get(store_name, 0) - positions[store_name])
                rows = await stores[store_name].read_rows(positions[store_name], limit) \
                    if limit > 0 else []
                if not rows:
                    active.discard(store_name)
                    feed.tracker.reached.setdefault(source, positions[store_name])
                    continue
                touched: dict[str, int] = {}
                kept = []
                for row in rows:
                    if row[3] > versions.get(row[1], 0):
                        versions[row[1]] = touched[row[1]] = row[3]
                        kept.append(row)
                try:
                    if through_runner:
                        raise _ThroughRunner
                    values = projection.sqlite_rows_from_store(kept, store_name)
                except Exception:  # the runner applies this batch event by event, parking
                    await runner.handle_with_retry([Delivery(source, e.position, e) for e in
                                                    await stores[store_name].read_envelopes(
                                                        positions[store_name], len(rows),
                                                        store_name)])
                    # a parked event holds its stream's later events: only the runner knows
                    through_runner = through_runner or connection.execute(
                        held, (name,)).fetchone() is not None
                else:
                    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                    connection.execute("BEGIN")
                    try:
                        connection.executemany(insert, values)
                        connection.executemany(SQLITE_SAVE_VERSIONS,
                                               [(name, s, v) for s, v in touched.items()])
                        connection.execute(SQLITE_SAVE_POSITION, (name, source, rows[-1][0], stamp))
                    except BaseException:
                        connection.execute("ROLLBACK")
                        raise
                    connection.execute("COMMIT")
                feed.tracker.see_rows(source, rows)
                positions[store_name] = rows[-1][0]
                feed.events += len(rows)
                done += len(rows)
                progress(name, done, total)
                del rows, kept
                _collect_young()
        _build_unique(connection, table, unique)
    finally:
        connection.close()


class _ThroughRunner(Exception):
    """A batch for the runner: an earlier one parked an event."""


def _drop_unique(connection: sqlite3.Connection, table: sa.Table, unique: Sequence[str]) -> None:
    """The (empty) shadow table created again without its unique constraint on ``unique``:
    each row then goes into the table alone, and the unique index is built once, sorted,
    after the load (``_build_unique``), instead of growing by random keys row by row."""
    from sqlalchemy.dialects import sqlite

    if connection.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]:
        raise OperationError(f"the shadow's {table.name} is not empty")
    bare = table.to_metadata(sa.MetaData())
    for constraint in [c for c in bare.constraints if isinstance(c, sa.UniqueConstraint)
                       and [column.name for column in c.columns] == list(unique)]:
        bare.constraints.remove(constraint)
    connection.execute(f"DROP TABLE {table.name}")
    connection.execute(str(sa.schema.CreateTable(bare).compile(dialect=sqlite.dialect())))


def _build_unique(connection: sqlite3.Connection, table: sa.Table, unique: Sequence[str]) -> None:
    """The unique index ``_drop_unique`` put off; a repeated key keeps its first row (the one
    inserted first), as the projection keeps it when it meets the key again."""
    columns = ", ".join(unique)
    create = (f"CREATE UNIQUE INDEX uq_{table.name}_{'_'.join(unique)} "
              f"ON {table.name} ({columns})")
    try:
        connection.execute(create)
    except sqlite3.IntegrityError:
        connection.execute(f"DELETE FROM {table.name} WHERE rowid NOT IN "
                           f"(SELECT min(rowid) FROM {table.name} GROUP BY {columns})")
        connection.execute(create)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """The replay allocates millions of short-lived objects (rows, envelopes, payloads) and
    keeps a batch of them alive at a time: the garbage collector's automatic collections
    would scan them over and over (they are freed by reference counting; hardly any is
    cyclic). Automatic collection is off during the replay; the youngest objects are
    collected once per batch instead (``_collect_young``)."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


async def _swap(shadow: Shadow, runner: SubscriptionRunner, feed: StoreFeed | KafkaFeed,
                report: RebuildReport, max_attempts: int, progress: Progress | None) -> None:
    """Swap one verified shadow in, catching it up first whenever the live projector got ahead
    (the other projections' shadows are not fed by these catch-ups: each catches up at its own
    swap)."""
    name = shadow.projection.name
    done = report.events
    total: int | None = done

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(name, done, total)

    async def catch_up() -> int:
        nonlocal total
        total = done + await feed.remaining(runner)
        return await feed.catch_up(runner, advance)

    async def catch_up_under_lock() -> None:
        report.events += await catch_up()
        report.caught_up_under_lock = True

    for attempt in range(1, max_attempts + 1):
        report.attempts = attempt
        swap_started = time.perf_counter()
        try:
            await shadow.swap(catch_up_under_lock)
        except ShadowBehind as behind:
            log.info("rebuild_catching_up", projection=name, behind=str(behind))
            report.events += await catch_up()
            continue
        report.swap_seconds = time.perf_counter() - swap_started
        report.swapped = True
        return
    report.problems.append(f"the live projector stayed ahead after {max_attempts} "
                           "catch-ups; retry when the load is lower")


async def rebuild(settings: Settings, names: list[str] | None = None, *, swap: bool = True,
                  allow_dead_letters: bool = False, progress: Progress | None = None,
                  batch_size: int | None = None, processes: int | None = None
                  ) -> list[RebuildReport]:
    """Rebuild the named projections (all when empty) from one replay, by two processes
    side by side when the machine has two cores or more (``processes``)."""
    async with open_read_engine(settings) as live, open_stores(settings) as stores:
        if settings.distributed:
            feed: StoreFeed | KafkaFeed = KafkaFeed(
                settings.kafka.bootstrap_servers or "", settings.all_topics(), batch_size or REPLAY_BATCH)
        else:
            feed = StoreFeed(stores, batch_size or REPLAY_BATCH)
        return await rebuild_projections(settings, projections(names), live, feed, swap=swap,
                                         allow_dead_letters=allow_dead_letters,
                                         progress=progress,
                                         processes=processes or min(2, os.cpu_count() or 1))
