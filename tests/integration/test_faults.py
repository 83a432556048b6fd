"""Fault tests on the real pipeline (see tests/support/pipeline.py): the broker stopped and
restarted, the relay killed between publishing and recording its checkpoint, PostgreSQL
restarted, a poison event parked then replayed after a fix — each under load, each ending
with every event in the read model exactly once and the read model equal to a fresh rebuild.
(The projector SIGKILLed many times: tests/integration/test_kafka_pipeline.py.)"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date

import pytest

from gateway.readmodels.personnel import PersonnelProjection
from services.kernel.relay import Relay
from tests.support.pipeline import Pipeline, eventually
from tests.support.processes import free_port
from zugong.ops import dlq
from zugong.ops.common import OperationError
from zugong.ops.verify import verify_stores

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_broker_stopped_and_restarted_under_load(kafka_private_broker, postgres_server,
                                                       tmp_path):
    broker = kafka_private_broker
    pipeline = await Pipeline(broker, postgres_server, tmp_path).start()
    try:
        async with pipeline.loaded(pause=0.01):
            await pipeline.wait_projecting()
            await asyncio.to_thread(broker.stop)
            accepted = len(pipeline.accepted)
            await asyncio.sleep(3)  # commands are still accepted: the store is the outbox
            assert len(pipeline.accepted) > accepted
            backlog = await pipeline.store.head_position() - await pipeline.relay.position()
            assert backlog > 0
            await asyncio.to_thread(broker.start)
            await pipeline.wait_projecting()
        assert pipeline.projector.alive, pipeline.logs()
        await pipeline.check()
    finally:
        await pipeline.close()


class FreezingRelay(Relay):
    """A relay that can be made to stop dead right after the broker acknowledged a batch and
    before it records its checkpoint — where a SIGKILL would hurt most."""

    freeze_next = False

    async def _save_position(self, position: int) -> None:
        if self.freeze_next:
            self.published_up_to = position
            self.frozen.set()
            await asyncio.Event().wait()  # never returns: the test kills this relay here
        await super()._save_position(position)

    def arm(self) -> None:
        self.frozen = asyncio.Event()
        self.freeze_next = True


async def test_relay_killed_between_publishing_and_its_checkpoint(kafka_broker, postgres_server,
                                                                 tmp_path):
    pipeline = await Pipeline(kafka_broker, postgres_server, tmp_path).start(
        relay_class=FreezingRelay)
    try:
        async with pipeline.loaded(pause=0.01):
            await pipeline.wait_projecting()
            relay = pipeline.relay
            relay.arm()
            await asyncio.wait_for(relay.frozen.wait(), 30)
            checkpoint = await relay.position()
            assert relay.published_up_to > checkpoint  # on the topic, not in the checkpoint
            await pipeline.kill_relay()
            await asyncio.sleep(1)
            pipeline.start_relay()  # resends from the checkpoint: duplicates on the topic
            await asyncio.sleep(1)
        await pipeline.check()
        [report] = await verify_stores(pipeline.settings, "personnel")
        topics = {c.name: c.detail for c in report.checks}["topics"]
        duplicates = int(re.search(r"(\d+) duplicate copies", topics).group(1))
        assert duplicates >= relay.published_up_to - checkpoint
    finally:
        await pipeline.close()


async def test_postgres_restarted_under_load(kafka_broker, local_postgres_factory, tmp_path):
    pg = local_postgres_factory.started("fault")
    pipeline = await Pipeline(kafka_broker, pg, tmp_path).start()
    try:
        async with pipeline.loaded(pause=0.01):
            await pipeline.wait_projecting()
            rejected = pipeline.rejected
            await asyncio.to_thread(pg.restart)
            await pipeline.wait_projecting()
            await asyncio.sleep(1)
        assert pipeline.rejected > rejected  # commands failed while it was down
        assert pipeline.projector.alive, pipeline.logs()
        await pipeline.check()
    finally:
        await pipeline.close()


async def test_poison_event_parked_partition_flows_replayed_once_after_a_fix(
        kafka_broker, postgres_server, tmp_path, monkeypatch):
    # one partition: the poison and the events after it share it
    pipeline = await Pipeline(kafka_broker, postgres_server, tmp_path, partitions=1,
                              metrics_port=free_port()).start(units=5)
    poisoned, *healthy = list(pipeline.versions)
    try:
        await pipeline.wait_projecting()
        # a producer deployed ahead of this consumer: a category the projection rejects
        assert await pipeline.occupy(poisoned, 1, category="contract_staff")
        for unit in [poisoned, *healthy] * 2:
            assert await pipeline.occupy(unit, 2)

        async def parked() -> bool:
            return len(await pipeline.dead_letters()) == 5

        await eventually(parked, 60, "the poison and the four events held behind it parked",
                         pipeline.logs)
        poison, *held = await pipeline.dead_letters()
        assert poison.stream_id == f"unit-{poisoned}" and "category" in poison.reason
        assert all(h.reason.startswith("held:") for h in held)

        async def healthy_applied() -> bool:
            stored, read = (await pipeline.stored_state())[0], (await pipeline.read_state())[0]
            return all(read.get(u) == stored[u] for u in healthy)

        await eventually(healthy_applied, 60, "the partition flowing past the poison")
        assert (await pipeline.read_state())[0][poisoned] == (0, 1)

        letters = await _dead_letter_topic(pipeline, 5)
        assert [m["stream_version"] for m in letters] == [2, 3, 4, 5, 6]
        assert letters[0]["reason"] == poison.reason

        # the projector's metrics say so too, and show its consumer lag per partition
        metrics = await asyncio.to_thread(pipeline.projector_metrics)
        personnel = (("projection", "personnel"),)
        assert metrics[("zugong_projection_dead_letters_total", personnel)] == 5
        assert metrics[("zugong_dead_letters_published_total", personnel)] == 5
        unit_topic = pipeline.settings.topic("personnel", "unit")
        lag = metrics[("zugong_kafka_consumer_lag_messages", (
            ("group", pipeline.settings.kafka.projector_group), ("partition", "0"),
            ("topic", unit_topic)))]
        assert lag == 0
        assert metrics[("zugong_projection_lag_events", (
            ("projection", "personnel"), ("source", f"kafka:{unit_topic}:0")))] == 0
        assert metrics[("process_resident_memory_bytes", ())] > 0

        original = PersonnelProjection.apply

        async def fixed(self, conn, event):  # the consumer learns the new category
            if event.data.get("category") == "contract_staff":
                event = event.model_copy(update={"data": {**event.data,
                                                          "category": "institution_staff"}})
            await original(self, conn, event)

        monkeypatch.setattr(PersonnelProjection, "apply", fixed)
        assert (await dlq.replay(pipeline.settings, poison.id)).replayed == [
            poison.id, *(h.id for h in held)]
        with pytest.raises(OperationError, match="not parked"):
            await dlq.replay(pipeline.settings, poison.id)
        assert (await pipeline.read_state())[0][poisoned] == (5, 6)

        # the stream is no longer held; the projector (never restarted) applies what follows
        for unit in [poisoned, *healthy]:
            assert await pipeline.occupy(unit, 1)
        await pipeline.check()
        assert (await pipeline.read_state())[0][poisoned] == (6, 7)
    finally:
        await pipeline.close()


async def _dead_letter_topic(pipeline: Pipeline, count: int) -> list[dict]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(pipeline.settings.dead_letter_topic(),
                                bootstrap_servers=pipeline.broker.bootstrap_servers,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    messages: list[dict] = []
    try:
        async with asyncio.timeout(30):
            while len(messages) < count:
                batch = await consumer.getmany(timeout_ms=500)
                messages += [json.loads(m.value) for ms in batch.values() for m in ms]
    finally:
        await consumer.stop()
    assert all(m["projection"] == "personnel" for m in messages)
    assert date.fromisoformat(messages[0]["parked_at"][:10])
    return messages
