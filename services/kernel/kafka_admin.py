"""Creating event topics with the platform's settings (idempotent)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

__all__ = ["ensure_topics"]


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int,
                        replication_factor: int = 1) -> None:
    """Create missing topics with infinite retention (projections rebuild from them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication_factor, topic_configs={"retention.ms": "-1"})
                   for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
