"""Smoke tests of the local Kafka broker (zugong.devinfra.kafka) with aiokafka."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from zugong.devinfra.kafka import LocalKafka

pytestmark = pytest.mark.kafka

WAIT = 30  # seconds for any single client round trip


def _messages(n: int, *, start: int = 0) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs; three keys interleaved, as several streams would be."""
    return [(f"stream-{i % 3}".encode(), f"event-{i}".encode()) for i in range(start, start + n)]


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in messages]
        metadata = await asyncio.wait_for(asyncio.gather(*futures), WAIT)
    finally:
        await producer.stop()
    return [m.offset for m in metadata]


async def _consume(consumer: AIOKafkaConsumer, count: int) -> list[ConsumerRecord]:
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(WAIT):
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=500)
            for tp_records in batch.values():
                records.extend(tp_records)
    return records


async def _read_all(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord]:
    """Read ``count`` records from the start of partition 0, without a consumer group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        return await _consume(consumer, count)
    finally:
        await consumer.stop()


async def test_idempotent_produce_then_group_consume_with_manual_commit(
    kafka_broker: LocalKafka, kafka_topic_name: str
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    topic = kafka_topic_name
    group = f"{topic}-group"
    tp = TopicPartition(topic, 0)
    await kafka_broker.create_topics([topic], partitions=1)
    await kafka_broker.create_topics([topic], partitions=1)  # idempotent

    sent = _messages(10)
    offsets = await _produce(bootstrap, topic, sent)
    assert offsets == list(range(10))

    # First consumer: reads everything in order, but commits only after the 6th record.
    first = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await first.start()
    try:
        records = await _consume(first, len(sent))
        assert [(r.key, r.value) for r in records] == sent
        assert [r.offset for r in records] == list(range(10))
        await first.commit({tp: records[5].offset + 1})
        assert await first.committed(tp) == 6
    finally:
        await first.stop()

    # Second consumer in the same group resumes at the committed offset.
    second = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await second.start()
    try:
        rest = await _consume(second, 4)
        assert [r.offset for r in rest] == [6, 7, 8, 9]
        assert [(r.key, r.value) for r in rest] == sent[6:]
        await second.commit()
        assert await second.committed(tp) == 10
    finally:
        await second.stop()


async def test_restart_keeps_data(kafka_private_broker: LocalKafka, kafka_topic_name: str) -> None:
    broker = kafka_private_broker
    topic = kafka_topic_name
    port, data_dir = broker.port, broker.data_dir
    await broker.create_topics([topic])
    before = _messages(5)
    await _produce(broker.bootstrap_servers, topic, before)

    await asyncio.to_thread(broker.restart)  # graceful: SIGTERM, start again
    assert broker.is_running
    assert (broker.port, broker.data_dir) == (port, data_dir)

    after = _messages(3, start=5)
    assert await _produce(broker.bootstrap_servers, topic, after) == [5, 6, 7]
    records = await _read_all(broker.bootstrap_servers, topic, 8)
    assert [(r.key, r.value) for r in records] == before + after


async def test_data_survives_kill(kafka_private_broker: LocalKafka, kafka_topic_name: str) -> None:
    broker = kafka_private_broker
    topic = kafka_topic_name
    sent = _messages(5)
    await _produce(broker.bootstrap_servers, topic, sent)  # auto-created topic

    broker.kill()  # SIGKILL: no controlled shutdown, log recovery on the next start
    assert not broker.is_running
    await asyncio.to_thread(broker.start)

    records = await _read_all(broker.bootstrap_servers, topic, 5)
    assert [(r.key, r.value) for r in records] == sent


async def test_transactions_work_on_single_node(kafka_broker: LocalKafka, kafka_topic_name: str) -> None:
    """The transaction coordinator is usable (its state topic has RF=1 on this broker)."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = kafka_topic_name
    await kafka_broker.create_topics([topic])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"{topic}-txn", enable_idempotence=True
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-1")
            await producer.send(topic, key=b"k", value=b"committed-2")
        await producer.begin_transaction()
        await producer.send(topic, key=b"k", value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-3")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        records = await _consume(consumer, 3)
        assert [r.value for r in records] == [b"committed-1", b"committed-2", b"committed-3"]
    finally:
        await consumer.stop()
