"""Zugong's public event language: envelope, event models, topics. Pydantic only."""

import contracts.governance  # noqa: F401  (registers the governance events)
from contracts import (
    personnel,  # noqa: F401  (registers the personnel events)
    talent,  # noqa: F401  (registers the talent events)
    training,  # noqa: F401  (registers the training events)
)
from contracts.envelope import EventEnvelope
from contracts.registry import DomainEvent, registry

__all__ = ["DomainEvent", "EventEnvelope", "registry"]
