"""Relay → real Kafka broker → faust projector (its own process) → read model on PostgreSQL,
with the projector SIGKILLed at random points many times under a steady load (during start-up
and group join, mid-batch, between its database commit and its offset commit), then the relay
re-publishing everything: every event is in the read model exactly once, none missing, and the
read model equals a fresh rebuild from the topics — which a swap then puts live under load,
the projector carrying on from the rebuilt checkpoints."""

from __future__ import annotations

import asyncio
import random

import pytest

from services.kernel.relay import relay_checkpoint_table
from tests.support.pipeline import Pipeline
from zugong.ops.rebuild import rebuild
from zugong.ops.status import projection_status

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

KILLS = 6


async def test_relay_kafka_projector_exactly_once_through_kills(kafka_broker, postgres_server,
                                                                tmp_path):
    pipeline = await Pipeline(kafka_broker, postgres_server, tmp_path).start(units=30)
    rng = random.Random(2024)
    try:
        async with pipeline.loaded(pause=0.01):
            for kill in range(KILLS):
                if kill % 2:  # while starting: importing, joining the group, fetching
                    await asyncio.sleep(rng.uniform(0.5, 4.0))
                else:  # mid-stream: it is applying batches under the load
                    await pipeline.wait_projecting()
                    await asyncio.sleep(rng.uniform(0.0, 1.0))
                pipeline.kill_projector()
                pipeline.start_projector()
        await pipeline.wait_converged()

        # the relay "crashed" before recording its checkpoint: it publishes everything again
        async with pipeline.store.engine.begin() as conn:
            await conn.execute(relay_checkpoint_table.update().values(position=0))
        await pipeline.check()

        # distributed status reads the topics' end offsets
        [status] = [s for s in await projection_status(pipeline.settings)
                    if s.name == "personnel"]
        assert status.lag == 0 and all(s.source.startswith("kafka:") for s in status.sources)

        # a rebuild from the topics swapped in live (PostgreSQL: the shadow schema's tables
        # moved in); the projector carries on from the rebuilt checkpoints. Two projections
        # from one replay of the topics, each verified and swapped in on its own.
        async with pipeline.loaded(pause=0.01):
            reports = await rebuild(pipeline.settings, ["personnel", "audit"])
            for report in reports:
                assert report.swapped, (report.projection, report.problems)
                assert report.replayed_with == ["personnel", "audit"]
            await asyncio.sleep(0.5)
        await pipeline.check()
    finally:
        await pipeline.close()
