"""Running a command: load, decide, append — with idempotency, If-Match and bounded retries."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.kernel.aggregate import Aggregate
from services.kernel.errors import ConcurrencyConflict, PreconditionFailed, ZugongError
from services.kernel.eventstore import CommandMetadata, EventStore

__all__ = [
    "CommandOutcome",
    "ConsistencyToken",
    "Decision",
    "execute_command",
]


@dataclass(frozen=True)
class ConsistencyToken:
    """Names a stream version a reader may wait for: ``<stream_id>@<version>``, base64url."""

    stream_id: str
    version: int

    def encode(self) -> str:
        raw = f"{self.stream_id}@{self.version}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ConsistencyToken:
        padded = token + "=" * (-len(token) % 4)
        try:
            stream_id, version = base64.urlsafe_b64decode(padded).decode().rsplit("@", 1)
            if not stream_id or not (version.isascii() and version.isdigit()) \
                    or int(version) < 1:
                raise ValueError(f"{stream_id!r}@{version!r}")
            return cls(stream_id, int(version))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError("not a consistency token") from error


@dataclass(frozen=True)
class Decision:
    """What a decide step produced: the aggregates it changed and the one the client named.

    ``result_id`` names what the command created when that is not the primary aggregate itself
    (e.g. an entity inside it); the answer's ``id`` is then ``result_id``."""

    changed: list[Aggregate]
    primary: Aggregate
    result_id: str | None = None


@dataclass(frozen=True)
class CommandOutcome:
    id: str
    version: int
    consistency_token: str
    replayed: bool = False

    def body(self) -> dict:
        return {"id": self.id, "version": self.version,
                "consistency_token": self.consistency_token}


async def execute_command(
    store: EventStore,
    decide: Callable[[], Awaitable[Decision]],
    metadata: CommandMetadata,
    *,
    if_match: int | None = None,
    max_attempts: int = 10,
) -> CommandOutcome:
    """Run ``decide`` (which loads aggregates and records events) and append the result.

    A retried request with the same idempotency key gets the first answer without a second
    append, also when it races the first (it loses on the key, the stream version or a rule
    that the first one's events now break, and then finds the first answer). With
    ``if_match`` the primary aggregate must be at that version (else 412) and a race is not
    retried; without it a race is retried up to ``max_attempts`` times, then 409.
    """
    replay = await _replay(store, metadata)
    if replay is not None:
        return replay
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _attempt(store, decide, metadata, if_match)
        except ConcurrencyConflict:
            replay = await _replay(store, metadata)  # lost the race to the same request?
            if replay is not None:
                return replay
            if attempt >= max_attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))
        except ZugongError:
            # Rejected (the key already recorded, "already exists", a stale If-Match) because
            # the same request, racing this one, has just been applied? Then answer as a retry
            # of it is answered.
            replay = await _replay(store, metadata)
            if replay is None:
                raise
            return replay


async def _attempt(store: EventStore, decide: Callable[[], Awaitable[Decision]],
                   metadata: CommandMetadata, if_match: int | None) -> CommandOutcome:
    decision = await decide()
    primary = decision.primary
    if if_match is not None and primary.loaded_version != if_match:
        raise PreconditionFailed(
            f"{primary.stream_type} {primary.id} is at version {primary.loaded_version}, "
            f"not {if_match}; fetch it again"
        )
    writes = [a.to_write() for a in decision.changed if a.pending]
    outcome = CommandOutcome(
        id=decision.result_id or primary.id,
        version=primary.version,
        consistency_token=ConsistencyToken(primary.stream_id, primary.version).encode(),
    )
    try:
        await store.append(writes, metadata, response=outcome.body())
    except ConcurrencyConflict:
        if if_match is None:
            raise  # retried from a fresh load
        raise PreconditionFailed(
            f"{primary.stream_type} {primary.id} changed concurrently; fetch it again"
        ) from None
    return outcome


async def _replay(store: EventStore, metadata: CommandMetadata) -> CommandOutcome | None:
    """The first answer to this request, if a command with its idempotency key was recorded."""
    if not metadata.idempotency_key:
        return None
    stored = await store.find_command(metadata.idempotency_key, metadata.fingerprint)
    return CommandOutcome(**stored.response, replayed=True) if stored is not None else None
