"""The projector's Kafka loop (``TopicBatches``) over a stand-in consumer: offsets are
committed only after a batch was applied; a rebalance waits for the batch being applied and
commits its offsets; a batch fetched before a partition was revoked is not applied for it."""

from __future__ import annotations

import asyncio
from collections import namedtuple

from aiokafka import TopicPartition

from services.kernel.kafka_projector import TopicBatches
from services.kernel.subscription import Delivery

Record = namedtuple("Record", "topic partition offset value")
P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


class FakeConsumer:
    def __init__(self) -> None:
        self.buffer: list[Record] = []
        self.arrived = asyncio.Event()
        self.commits: list[dict[TopicPartition, int]] = []

    def feed(self, *records: Record) -> None:
        self.buffer += records
        self.arrived.set()

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None):
        if not self.buffer:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout_ms / 1000)
            except TimeoutError:
                return {}
        taken, self.buffer = self.buffer[:max_records], self.buffer[max_records:]
        grouped: dict[TopicPartition, list[Record]] = {}
        for record in taken:
            grouped.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        return grouped

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def decode(topic: str, partition: int, offset: int, value: bytes | None) -> Delivery:
    return Delivery(f"kafka:{topic}:{partition}", offset, None, raw=value)


async def test_offsets_are_committed_after_the_batch_is_applied_and_a_rebalance_waits() -> None:
    consumer = FakeConsumer()
    applied: list[list[tuple[str, int]]] = []
    release = asyncio.Event()
    applying = asyncio.Event()

    async def apply(deliveries: list[Delivery]) -> None:
        applying.set()
        await release.wait()
        applied.append([(d.source, d.position) for d in deliveries])

    batches = TopicBatches(consumer, apply, batch_size=100, within=0.01, decode=decode)
    await batches.on_partitions_assigned([P0, P1])
    running = asyncio.create_task(batches.run())
    try:
        consumer.feed(Record("t", 0, 5, b"a"), Record("t", 1, 9, b"b"), Record("t", 0, 6, b"c"))
        await asyncio.wait_for(applying.wait(), 5)
        assert consumer.commits == []  # nothing committed while the batch is applied

        # a rebalance revoking partition 1 waits for the batch being applied, then commits
        revoking = asyncio.create_task(batches.on_partitions_revoked([P1]))
        await asyncio.sleep(0.05)
        assert not revoking.done()
        # meanwhile the next batch was fetched, partly from the partition being revoked
        consumer.feed(Record("t", 1, 10, b"d"), Record("t", 0, 7, b"e"))
        release.set()
        await asyncio.wait_for(revoking, 5)
        assert applied == [[("kafka:t:0", 5), ("kafka:t:0", 6), ("kafka:t:1", 9)]]
        assert consumer.commits == [{P0: 7, P1: 10}]

        # the batch fetched before the rebalance is applied for partition 0 only
        for _ in range(100):
            if len(applied) == 2 and len(consumer.commits) == 2:
                break
            await asyncio.sleep(0.01)
        assert applied[1] == [("kafka:t:0", 7)]
        assert consumer.commits[1] == {P0: 8}
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
