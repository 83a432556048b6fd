"""`zugong store verify [SERVICE]`: the store is whole, and (distributed) on its topics.

Checks, per service:

- **positions**: global positions run 1..head without a gap. On SQLite a gap cannot happen;
  on PostgreSQL a rolled-back append (a lost race on an Idempotency-Key, a dropped
  connection) consumes a sequence value, which is harmless because appends are serialised
  (global order = commit order), so a gap there is reported as a warning, not a failure;
- **streams**: every stream's versions run 1..n without a gap;
- **relay** (distributed): how many stored events the relay has not published yet;
- **topics** (distributed): every event up to the relay checkpoint is on its topic (by event
  id), on the topic of its stream kind, and every stream's versions on the topics are in order
  within their partition; duplicates (re-sends after a relay crash) are counted, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from contracts.envelope import EventEnvelope
from services.kernel.eventstore import EventStore, events_table
from services.kernel.relay import relay_checkpoint_table
from services.kernel.settings import Settings
from zugong.ops.common import open_stores, topic_partitions

__all__ = ["Check", "StoreReport", "verify_stores"]


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str


@dataclass
class StoreReport:
    service: str
    events: int = 0
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: str, detail: str) -> None:
        self.checks.append(Check(name, status, detail))


async def _positions(store: EventStore, report: StoreReport) -> None:
    position = events_table.c.position
    async with store.engine.connect() as conn:
        count, low, high = (await conn.execute(sa.select(
            sa.func.count(), sa.func.min(position), sa.func.max(position)))).one()
        report.events = count
        if not count:
            report.add("positions", "ok", "empty store")
            return
        if count == high and low == 1:
            report.add("positions", "ok", f"1..{high} contiguous")
            return
        following = sa.func.lead(position).over(order_by=position)
        inner = sa.select(position.label("p"), following.label("n")).subquery()
        gaps = (await conn.execute(sa.select(inner.c.p, inner.c.n).where(
            inner.c.n != inner.c.p + 1).limit(5))).all()
    missing = high - count
    examples = ", ".join(f"{p + 1}..{n - 1}" for p, n in gaps)
    if low != 1:
        examples = f"1..{low - 1}" + (f", {examples}" if examples else "")
    sqlite = store.engine.dialect.name == "sqlite"
    report.add("positions", "fail" if sqlite else "warn",
               f"{missing} positions never committed below {high} (e.g. {examples})"
               + ("" if sqlite else "; harmless on PostgreSQL when left by rolled-back appends"))


async def _streams(store: EventStore, report: StoreReport) -> None:
    version = events_table.c.version
    query = sa.select(events_table.c.stream_id, sa.func.min(version), sa.func.max(version),
                      sa.func.count()).group_by(events_table.c.stream_id).having(
        sa.or_(sa.func.min(version) != 1, sa.func.max(version) != sa.func.count()))
    async with store.engine.connect() as conn:
        broken = (await conn.execute(query)).all()
        streams = await conn.scalar(sa.select(sa.func.count(sa.distinct(events_table.c.stream_id))))
    if broken:
        report.add("streams", "fail", f"{len(broken)} of {streams} streams have version gaps, "
                   "e.g. " + ", ".join(f"{s} (versions {lo}..{hi}, {n} events)"
                                       for s, lo, hi, n in broken[:5]))
    else:
        report.add("streams", "ok", f"{streams} streams, versions contiguous from 1")


async def _relay_position(store: EventStore) -> int:
    async with store.engine.connect() as conn:
        try:
            return await conn.scalar(sa.select(relay_checkpoint_table.c.position).where(
                relay_checkpoint_table.c.relay == f"relay:{store.service}")) or 0
        except sa.exc.DBAPIError:
            return 0


async def _topic_contents(settings: Settings, topics: list[str]) -> dict[str, list]:
    """Every message on ``topics`` up to their current end: event id -> [(topic, stream,
    version, partition, offset), ...]; plus out-of-order stream versions per partition."""
    from aiokafka import AIOKafkaConsumer

    seen: dict[str, list] = {}
    partitions = await topic_partitions(settings.kafka.bootstrap_servers or "", topics)
    if not partitions:
        return seen
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers,
                                group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=5000)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            records = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, messages in records.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    try:
                        envelope = EventEnvelope.model_validate_json(message.value or b"")
                    except ValueError:
                        seen.setdefault("<undecodable>", []).append(
                            (tp.topic, None, None, tp.partition, message.offset))
                        continue
                    seen.setdefault(envelope.id, []).append(
                        (tp.topic, envelope.streamid, envelope.streamversion, tp.partition,
                         message.offset))
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return seen


async def _topics(settings: Settings, store: EventStore, report: StoreReport) -> None:
    service = store.service
    published = await _relay_position(store)
    head = await store.head_position()
    backlog = head - published
    report.add("relay", "ok" if backlog == 0 else "warn",
               f"checkpoint {published} of {head}" + (f": {backlog} events not published yet"
                                                       if backlog else ""))
    seen = await _topic_contents(settings, settings.all_topics(service))
    missing, wrong_topic, checked = [], [], 0
    position = 0
    while batch := await store.read_all(position, 5000):
        for event in batch:
            if event.position > published:
                break
            checked += 1
            copies = seen.get(event.event_id)
            if not copies:
                missing.append(event.position)
            elif any(c[0] != settings.topic(service, event.stream_type) for c in copies):
                wrong_topic.append(event.position)
        position = batch[-1].position
        if position > published:
            break
    duplicates = sum(len(c) - 1 for c in seen.values())
    order_errors = _order_errors(seen)
    if missing or wrong_topic or order_errors:
        report.add("topics", "fail",
                   f"{len(missing)} of {checked} published events missing from the topics"
                   + (f" (positions {missing[:10]})" if missing else "")
                   + (f"; {len(wrong_topic)} on the wrong topic" if wrong_topic else "")
                   + (f"; out of order: {order_errors[:5]}" if order_errors else ""))
    else:
        report.add("topics", "ok", f"all {checked} published events on their topics, in stream "
                   f"order; {duplicates} duplicate copies (re-sends, harmless)")


def _order_errors(seen: dict[str, list]) -> list[str]:
    """A stream's first copies must come in version order along its partition."""
    firsts: dict[tuple[str, int], list[tuple[int, str, int]]] = {}
    for copies in seen.values():
        topic, stream, version, partition, offset = min(copies, key=lambda c: c[4])
        if stream is not None:
            firsts.setdefault((topic, partition), []).append((offset, stream, version))
    errors = []
    for (topic, partition), items in firsts.items():
        last: dict[str, int] = {}
        for offset, stream, version in sorted(items):
            if version != last.get(stream, 0) + 1:
                errors.append(f"{topic}[{partition}]@{offset}: {stream} v{version} after "
                              f"v{last.get(stream, 0)}")
            last[stream] = max(version, last.get(stream, 0))
    return errors


async def verify_stores(settings: Settings, service: str | None = None) -> list[StoreReport]:
    reports = []
    async with open_stores(settings, service) as stores:
        for name, store in stores.items():
            report = StoreReport(name)
            await _positions(store, report)
            await _streams(store, report)
            if settings.distributed:
                await _topics(settings, store, report)
            else:
                report.add("topics", "skip", "embedded mode: no broker configured")
            reports.append(report)
    return reports
