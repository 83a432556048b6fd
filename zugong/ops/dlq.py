"""`zugong dlq list | show | replay | discard`: the dead letters of the projections.

A dead letter is an event a projection could not apply (or one held behind it on the same
stream, to keep per-stream order). The runner has already recorded its stream version as
seen, so the live projector will never apply it again: ``replay`` is the only way in, and it
applies the event exactly once — the letter is marked ``replayed`` in the same transaction
as the projection's writes. Replaying a letter also replays the letters held behind it on
the same stream, in order; a letter with an earlier parked letter on its stream is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from services.kernel.settings import Settings
from services.kernel.subscription import dead_letters_table, projection_lock
from zugong.ops.common import OperationError, open_read_engine, projections

__all__ = ["DeadLetter", "ReplayResult", "discard", "list_dead_letters", "replay", "show"]

STATUSES = ("parked", "replayed", "discarded", "superseded")


@dataclass(frozen=True)
class DeadLetter:
    id: int
    projection: str
    source: str
    position: int
    event_id: str | None
    stream_id: str | None
    stream_version: int | None
    type: str | None
    reason: str
    parked_at: datetime
    status: str
    payload: str

    @classmethod
    def from_row(cls, row) -> DeadLetter:
        parked_at = row.parked_at
        if parked_at.tzinfo is None:
            parked_at = parked_at.replace(tzinfo=UTC)
        return cls(row.id, row.projection, row.source, row.position, row.event_id, row.stream_id,
                   row.stream_version, row.type, row.reason, parked_at, row.status, row.payload)

    def as_dict(self, payload: bool = False) -> dict:
        data = {k: v for k, v in self.__dict__.items() if payload or k != "payload"}
        data["parked_at"] = self.parked_at.isoformat()
        return data


@dataclass(frozen=True)
class ReplayResult:
    replayed: list[int]


async def list_dead_letters(settings: Settings, *, projection: str | None = None,
                            status: str | None = "parked", limit: int = 100) -> list[DeadLetter]:
    table = dead_letters_table
    query = sa.select(table).order_by(table.c.id).limit(limit)
    if projection:
        query = query.where(table.c.projection == projection)
    if status:
        query = query.where(table.c.status == status)
    async with open_read_engine(settings) as engine:
        try:
            async with engine.connect() as conn:
                return [DeadLetter.from_row(r) for r in await conn.execute(query)]
        except sa.exc.DBAPIError:
            return []


async def show(settings: Settings, letter_id: int) -> DeadLetter:
    async with open_read_engine(settings) as engine, engine.connect() as conn:
        row = (await conn.execute(sa.select(dead_letters_table).where(
            dead_letters_table.c.id == letter_id))).first()
    if row is None:
        raise OperationError(f"no dead letter {letter_id}")
    return DeadLetter.from_row(row)


async def _parked(conn, letter_id: int):
    table = dead_letters_table
    # the first statement writes: on SQLite it takes the write lock, so no batch interleaves
    await conn.execute(table.update().where(table.c.id == letter_id).values(status=table.c.status))
    row = (await conn.execute(sa.select(table).where(table.c.id == letter_id))).first()
    if row is None:
        raise OperationError(f"no dead letter {letter_id}")
    if row.status != "parked":
        raise OperationError(f"dead letter {letter_id} is {row.status}, not parked: "
                             "it is applied or dropped already")
    return row


class _StillRejected(Exception):
    def __init__(self, letter_id: int, reason: str) -> None:
        super().__init__(reason)
        self.letter_id, self.reason = letter_id, reason


async def _chain(conn, row) -> list:
    """The letter and the letters held behind it on its stream, in stream order."""
    table = dead_letters_table
    if row.stream_id is None:
        return [row]
    earlier = await conn.scalar(sa.select(sa.func.min(table.c.id)).where(
        table.c.projection == row.projection, table.c.stream_id == row.stream_id,
        table.c.status == "parked", table.c.id < row.id))
    if earlier is not None:
        raise OperationError(f"dead letter {earlier} comes earlier on stream {row.stream_id}: "
                             "replay it first")
    return [row, *(await conn.execute(sa.select(table).where(
        table.c.projection == row.projection, table.c.stream_id == row.stream_id,
        table.c.status == "parked", table.c.id > row.id).order_by(
        table.c.stream_version, table.c.id))).all()]


async def replay(settings: Settings, letter_id: int) -> ReplayResult:
    """Apply a parked event (and those held behind it on its stream) through its projection,
    once; the letters become ``replayed``. Raises OperationError, changing nothing, when the
    projection still rejects one of them (its reason is updated)."""
    table = dead_letters_table
    async with open_read_engine(settings) as engine:
        async with engine.connect() as conn:
            name = await conn.scalar(sa.select(table.c.projection).where(table.c.id == letter_id))
        if name is None:
            raise OperationError(f"no dead letter {letter_id}")
        [projection] = projections([name])
        try:
            async with engine.begin() as conn:
                await projection_lock(conn, projection.name, exclusive=True)
                row = await _parked(conn, letter_id)
                chain = await _chain(conn, row)
                for letter in chain:
                    try:
                        envelope = EventEnvelope.model_validate_json(letter.payload)
                    except ValidationError as error:
                        raise OperationError(
                            f"dead letter {letter.id} is not an event envelope "
                            f"({error.error_count()} errors); discard it") from None
                    try:
                        if projection.handles(envelope.type):
                            async with conn.begin_nested():
                                await projection.apply(conn, envelope)
                    except Exception as error:
                        raise _StillRejected(letter.id, f"{type(error).__name__}: {error}"
                                             ) from error
                    await conn.execute(table.update().where(table.c.id == letter.id).values(
                        status="replayed"))
        except _StillRejected as rejected:  # the transaction rolled back: nothing applied
            async with engine.begin() as conn:
                await conn.execute(table.update().where(table.c.id == rejected.letter_id).values(
                    reason=f"replay failed at {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: "
                           f"{rejected.reason}"[:2000]))
            raise OperationError(f"dead letter {rejected.letter_id} is still rejected: "
                                 f"{rejected.reason}; nothing was applied") from None
    return ReplayResult([letter.id for letter in chain])


async def discard(settings: Settings, letter_id: int) -> DeadLetter:
    """Mark a parked letter as dropped on purpose (kept for the record, never applied)."""
    async with open_read_engine(settings) as engine:
        async with engine.begin() as conn:
            await _parked(conn, letter_id)
            await conn.execute(dead_letters_table.update().where(
                dead_letters_table.c.id == letter_id).values(status="discarded"))
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(dead_letters_table).where(
                dead_letters_table.c.id == letter_id))).first()
    return DeadLetter.from_row(row)
