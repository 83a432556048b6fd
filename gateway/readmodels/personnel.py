"""Personnel read models and the projection that maintains them.

Unit tables are fed by unit-stream events only and cadre tables by cadre-stream events only,
so the projection gives the same result whatever the interleaving of the two topics.

Every cadre event is kept in ``rm_personnel_cadre_events`` with its business date. The cadre's
row in ``rm_cadres`` is the fold of those events in effective-date order — the same fold the
``as_of`` query runs over the events up to a past date — and the movement figures are counts
over the same table by effective date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.personnel import (
    POST_LEVELS,
    CadreAppointed,
    CadreDeparted,
    CadreEnteredReserve,
    CadreExchanged,
    CadreExitedReserve,
    CadreRecruited,
    CadreRegistered,
    EducationRecorded,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
    EstablishmentSlotReleased,
    LeaderConvertedToRank,
    LeadershipPostFilled,
    LeadershipPostFreed,
    LeadershipPostsApproved,
    RankPromoted,
    RankQuotasApproved,
    RankQuotaTaken,
    ReserveEntryReviewed,
    UnitRegistered,
)
from contracts.registry import DomainEvent
from gateway.readmodels.bulk import insert_many, upsert_many
from services.kernel.db import upsert

__all__ = ["EDUCATION_LEVELS", "PersonnelProjection", "business_date", "cadre_events", "cadres",
           "fold_cadre", "metadata", "movement_days", "unit_posts", "unit_ranks", "units"]

metadata = sa.MetaData()

units = sa.Table(
    "rm_units", metadata,
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("kind", sa.String(40), nullable=False, default=""),
    sa.Column("established_administrative", sa.Integer, nullable=False, default=0),
    sa.Column("established_institution", sa.Integer, nullable=False, default=0),
    sa.Column("occupied_administrative", sa.Integer, nullable=False, default=0),
    sa.Column("occupied_institution", sa.Integer, nullable=False, default=0),
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

unit_posts = sa.Table(
    "rm_personnel_unit_posts", metadata,
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.String(30), primary_key=True),
    sa.Column("approved", sa.Integer, nullable=False, default=0),
    sa.Column("filled", sa.Integer, nullable=False, default=0),
)

unit_ranks = sa.Table(
    "rm_personnel_unit_ranks", metadata,
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("rank", sa.String(30), primary_key=True),
    sa.Column("quota", sa.Integer, nullable=True),
    sa.Column("held", sa.Integer, nullable=False, default=0),
)

cadres = sa.Table(
    "rm_cadres", metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("gender", sa.String(10), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("national_id_masked", sa.String(32), nullable=False),
    sa.Column("national_id_sealed", sa.Text, nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("channel", sa.String(30), nullable=False),
    sa.Column("recruited_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("unit_since", sa.Date, nullable=True),
    sa.Column("joined_work_on", sa.Date, nullable=True),
    sa.Column("rank", sa.String(30), nullable=True),
    sa.Column("rank_since", sa.Date, nullable=True),
    sa.Column("post_level", sa.String(30), nullable=True),
    sa.Column("post_title", sa.String(200), nullable=True),
    sa.Column("education_level", sa.String(30), nullable=True),
    sa.Column("degree", sa.String(30), nullable=True),
    sa.Column("reserve_level", sa.String(30), nullable=True),
    sa.Column("reserve_entry_id", sa.String(80), nullable=True),
    sa.Column("reserve_since", sa.Date, nullable=True),
    sa.Column("departed_on", sa.Date, nullable=True),
    sa.Column("departure_kind", sa.String(30), nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Index("ix_rm_cadres_name_id", "name", "cadre_id"),
)

cadre_events = sa.Table(
    "rm_personnel_cadre_events", metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=True),
    sa.Column("category", sa.String(30), nullable=True),
    sa.Column("label", sa.String(40), nullable=True),
    sa.Column("sublabel", sa.String(40), nullable=True),
    sa.Column("amount", sa.Integer, nullable=False, default=0),
    sa.Column("ref", sa.String(80), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_rm_personnel_cadre_events_kind_date", "kind", "effective_on"),
    # covering the movement figures (counts by kind and labels over a period, the dashboard's
    # heaviest statement: read in group order, no sort) and the counts per unit, so that
    # neither reads the events' rows. Not led by `kind`: SQLite would then prefer it for any
    # count by kind and label, the per-unit ones included, to save their small sort.
    sa.Index("ix_rm_personnel_cadre_events_labels", "label", "sublabel", "kind", "effective_on",
             "amount"),
    sa.Index("ix_rm_personnel_cadre_events_unit_kind", "unit_id", "kind", "effective_on", "label"),
)

movement_days = sa.Table(
    "rm_personnel_movement_days", metadata,
    sa.Column("effective_on", sa.Date, primary_key=True),
    sa.Column("kind", sa.String(30), primary_key=True),
    sa.Column("label", sa.String(40), primary_key=True),  # "" for none
    sa.Column("sublabel", sa.String(40), primary_key=True),  # "" for none
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
)
"""``rm_personnel_cadre_events`` counted per business day, kind and labels (events and the sum
of ``amount``), kept with every insert into it: the movement figures of a period (the
dashboard's) read a few rows per day instead of every event of the period."""


@sa.event.listens_for(metadata, "after_create")
def _fill_movement_days(target, connection, tables=(), **_kw) -> None:
    # a read model older than the table: count the events already stored (none when the
    # events table was created together with it)
    if movement_days in tables:
        e, empty = cadre_events, sa.literal_column("''")  # inline: equal in SELECT and GROUP BY
        label, sublabel = sa.func.coalesce(e.c.label, empty), sa.func.coalesce(e.c.sublabel, empty)
        connection.execute(movement_days.insert().from_select(
            ["effective_on", "kind", "label", "sublabel", "events", "amount"],
            sa.select(e.c.effective_on, e.c.kind, label, sublabel, sa.func.count(),
                      sa.func.coalesce(sa.func.sum(e.c.amount), 0))
            .group_by(e.c.effective_on, e.c.kind, label, sublabel)))


async def count_movements(conn: AsyncConnection, rows: Iterable[dict[str, Any]]) -> None:
    """Adds just-inserted ``rm_personnel_cadre_events`` rows to ``rm_personnel_movement_days``."""
    counts: dict[tuple, list[int]] = {}
    for row in rows:
        key = (row["effective_on"], row["kind"], row.get("label") or "", row.get("sublabel") or "")
        total = counts.setdefault(key, [0, 0])
        total[0] += 1
        total[1] += row.get("amount") or 0
    if not counts:
        return
    statement = _STATEMENTS.get((conn.dialect.name, movement_days.name))
    if statement is None:
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(movement_days)
        statement = _STATEMENTS[conn.dialect.name, movement_days.name] = \
            statement.on_conflict_do_update(
                index_elements=["effective_on", "kind", "label", "sublabel"],
                set_={"events": movement_days.c.events + statement.excluded.events,
                      "amount": movement_days.c.amount + statement.excluded.amount})
    await conn.execute(statement, [
        {"effective_on": key[0], "kind": key[1], "label": key[2], "sublabel": key[3],
         "events": n, "amount": amount} for key, (n, amount) in sorted(counts.items())])


_SLOT_COLUMN = {"civil_servant": "occupied_administrative",
                "institution_staff": "occupied_institution"}
EDUCATION_LEVELS = ("secondary", "associate", "bachelor", "postgraduate")
_DEGREES = ("none", "bachelor", "master", "doctorate")


def business_date(event: DomainEvent) -> date:
    """The date an event counts from: its effective date, or a graduation date."""
    if isinstance(event, EducationRecorded):
        return event.completed_on
    value = getattr(event, "effective_on", None)
    assert value is not None, f"{type(event).__name__} has no business date"
    return value


def _history_columns(event: DomainEvent) -> dict[str, Any]:
    """kind, labels and amounts of one cadre event, for timelines and movement figures."""
    match event:
        case CadreRecruited():
            return {"kind": "recruited", "label": event.channel, "sublabel": event.category,
                    "unit_id": event.unit_id, "category": event.category}
        case CadreRegistered():
            return {"kind": "registered", "label": "go_live", "sublabel": event.category,
                    "unit_id": event.unit_id, "category": event.category}
        case EducationRecorded():
            return {"kind": "education", "label": event.degree, "sublabel": event.level}
        case RankPromoted():
            return {"kind": "promoted", "label": event.to_rank, "sublabel": event.basis,
                    "unit_id": event.unit_id}
        case CadreAppointed():
            return {"kind": "appointed", "label": event.post.level, "unit_id": event.unit_id,
                    "amount": len(event.relieved_posts)}
        case LeaderConvertedToRank():
            return {"kind": "converted", "label": event.to_rank, "sublabel": event.reason,
                    "unit_id": event.unit_id, "amount": len(event.freed_posts)}
        case CadreExchanged():
            return {"kind": "exchanged", "label": event.kind, "unit_id": event.to_unit_id,
                    "ref": event.from_unit_id, "amount": len(event.freed_posts)}
        case CadreDeparted():
            return {"kind": "departed", "label": event.kind, "unit_id": event.unit_id,
                    "amount": len(event.freed_posts)}
        case CadreEnteredReserve():
            return {"kind": "reserve_entered", "label": event.level, "sublabel": event.source,
                    "ref": event.entry_id}
        case ReserveEntryReviewed():
            return {"kind": "reserve_reviewed", "label": event.rating, "ref": event.entry_id}
        case CadreExitedReserve():
            return {"kind": "reserve_exited", "label": event.level, "sublabel": event.reason,
                    "ref": event.entry_id}
    return {"kind": type(event).__name__}


def _post(p) -> dict:
    return {"post_id": p.post_id, "level": p.level, "title": p.title, "since": p.since.isoformat()}


def fold_cadre(events: Iterable[tuple[int, DomainEvent]], as_of: date | None = None
               ) -> dict[str, Any] | None:
    """The cadre after ``events`` (version, event), folded in effective-date order; with
    ``as_of``, only what had taken effect by then. None if not recruited by then."""
    chosen = sorted(((business_date(e), v, e) for v, e in events),
                    key=lambda item: (item[0], item[1]))
    state: dict[str, Any] | None = None
    education: list[dict] = []
    version = 0
    for day, v, event in chosen:
        if as_of is not None and day > as_of:
            continue
        version = max(version, v)
        if isinstance(event, EducationRecorded):
            education.append({"kind": event.kind, "level": event.level, "degree": event.degree,
                              "school": event.school, "major": event.major,
                              "completed_on": event.completed_on.isoformat()})
            continue
        if isinstance(event, CadreRecruited | CadreRegistered):
            registered = isinstance(event, CadreRegistered)
            state = {
                "cadre_id": event.cadre_id, "name": event.name, "gender": event.gender,
                "birth_date": event.birth_date, "national_id_masked": event.national_id.masked,
                "national_id_sealed": event.national_id.ciphertext, "category": event.category,
                "unit_id": event.unit_id, "unit_since": event.effective_on,
                "channel": "go_live" if registered else event.channel,  # type: ignore[union-attr]
                "recruited_on": event.effective_on, "status": "active",
                "joined_work_on": event.joined_work_on or event.effective_on,
                "rank": event.rank,
                "rank_since": (event.rank_since if registered else  # type: ignore[union-attr]
                               event.effective_on if event.rank else None),
                "posts": [_post(p) for p in event.posts] if registered else [],  # type: ignore[union-attr]
                "reserve": None, "reserve_history": [], "departed_on": None,
                "departure_kind": None,
            }
            continue
        if state is None:
            continue
        match event:
            case RankPromoted():
                state["rank"], state["rank_since"] = event.to_rank, event.effective_on
            case CadreAppointed():
                relieved = {p.post_id for p in event.relieved_posts}
                state["posts"] = [p for p in state["posts"] if p["post_id"] not in relieved]
                state["posts"].append(_post(event.post))
            case LeaderConvertedToRank():
                state["posts"] = []
                if event.to_rank != state["rank"]:
                    state["rank"], state["rank_since"] = event.to_rank, event.effective_on
            case CadreExchanged():
                state["unit_id"], state["unit_since"] = event.to_unit_id, event.effective_on
                state["posts"] = [_post(event.post)] if event.post else []
            case CadreDeparted():
                state.update(status="departed", departed_on=event.effective_on,
                             departure_kind=event.kind, posts=[])
            case CadreEnteredReserve():
                state["reserve"] = {"entry_id": event.entry_id, "level": event.level,
                                    "since": event.effective_on.isoformat(),
                                    "source": event.source, "reviews": []}
            case ReserveEntryReviewed():
                if state["reserve"] and state["reserve"]["entry_id"] == event.entry_id:
                    state["reserve"]["reviews"].append({
                        "on": event.effective_on.isoformat(), "rating": event.rating,
                        "comment": event.comment})
            case CadreExitedReserve():
                if state["reserve"] and state["reserve"]["entry_id"] == event.entry_id:
                    state["reserve_history"].append({
                        **state["reserve"], "exited_on": event.effective_on.isoformat(),
                        "reason": event.reason})
                    state["reserve"] = None
    if state is None:
        return None
    if as_of is not None:
        state["posts"] = [p for p in state["posts"] if p["since"] <= as_of.isoformat()]
        if state["rank_since"] and state["rank_since"] > as_of:
            state["rank"] = state["rank_since"] = None
    state["education"] = education
    state["version"] = version
    return state


def _highest(education: list[dict]) -> tuple[str | None, str | None]:
    if not education:
        return None, None
    level = max((e["level"] for e in education), key=EDUCATION_LEVELS.index)
    degree = max((e["degree"] for e in education), key=_DEGREES.index)
    return level, degree


def cadre_row(state: dict[str, Any]) -> dict[str, Any]:
    """The rm_cadres row of a folded cadre."""
    posts = sorted(state["posts"], key=lambda p: (-POST_LEVELS.index(p["level"]), p["post_id"]))
    level, degree = _highest(state["education"])
    reserve = state["reserve"]
    plain = ("cadre_id", "name", "gender", "birth_date", "national_id_masked",
             "national_id_sealed", "category", "unit_id", "channel", "recruited_on", "status",
             "version", "unit_since", "joined_work_on", "rank", "rank_since", "departed_on",
             "departure_kind")
    return {
        **{k: state[k] for k in plain},
        "post_level": posts[0]["level"] if posts else None,
        "post_title": "、".join(p["title"] for p in posts) or None,
        "education_level": level, "degree": degree,
        "reserve_level": reserve["level"] if reserve else None,
        "reserve_entry_id": reserve["entry_id"] if reserve else None,
        "reserve_since": date.fromisoformat(reserve["since"]) if reserve else None,
        "detail": {"posts": posts, "education": state["education"], "reserve": reserve,
                   "reserve_history": state["reserve_history"]},
    }


async def _bump(conn: AsyncConnection, table: sa.Table, keys: dict[str, str], column: str,
                delta: int) -> None:
    where = [table.c[k] == v for k, v in keys.items()]
    result = await conn.execute(table.update().where(*where).values(
        {column: table.c[column] + delta}))
    if result.rowcount == 0:
        await conn.execute(table.insert().values(**keys, **{column: delta}))


_EVENT_COLUMNS = tuple(c.name for c in cadre_events.columns)
_IN_CHUNK = 10_000  # ids per IN (...) list: within SQLite's limit of 32,766 parameters
_EVENT_OPTIONAL = {"unit_id": None, "category": None, "label": None, "sublabel": None,
                   "ref": None}
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _column_defaults(table: sa.Table) -> dict[str, Any]:
    """The non-key columns of a row inserted without them (scalar defaults, else NULL)."""
    return {c.name: c.default.arg if c.default is not None else None
            for c in table.columns if not c.primary_key}


async def _rows_where_in(conn: AsyncConnection, table: sa.Table, column: str, ids: set[str]
                         ) -> list[Any]:
    found: list[Any] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), _IN_CHUNK):
        found += (await conn.execute(sa.select(table).where(
            table.c[column].in_(ordered[start:start + _IN_CHUNK])))).all()
    return found


_POST_EVENTS = frozenset({LeadershipPostsApproved, LeadershipPostFilled, LeadershipPostFreed})
_RANK_EVENTS = frozenset({RankQuotasApproved, RankQuotaTaken})
_SLOT_EVENTS = frozenset({EstablishmentSlotOccupied, EstablishmentSlotReleased})


class _UnitOverlay:
    """The unit tables' rows a batch touches, loaded once, changed in memory event by event
    exactly as ``PersonnelProjection._apply_unit`` changes them in the database, and written
    back with one statement per table."""

    def __init__(self) -> None:
        self.units: dict[str, dict[str, Any]] = {}
        self.posts: dict[tuple[str, str], dict[str, Any]] = {}
        self.ranks: dict[tuple[str, str], dict[str, Any]] = {}
        self.dirty_units: set[str] = set()
        self.dirty_posts: set[tuple[str, str]] = set()
        self.dirty_ranks: set[tuple[str, str]] = set()

    async def load(self, conn: AsyncConnection, events: list[tuple[int, DomainEvent]]) -> None:
        unit_ids: set[str] = set()
        post_units: set[str] = set()
        rank_units: set[str] = set()
        for _, e in events:  # one pass: a replay's batch holds tens of thousands
            unit_ids.add(e.unit_id)  # type: ignore[attr-defined]
            kind = type(e)
            if kind in _POST_EVENTS:
                post_units.add(e.unit_id)  # type: ignore[attr-defined]
            elif kind in _RANK_EVENTS or (kind in _SLOT_EVENTS and e.rank):  # type: ignore[attr-defined]
                rank_units.add(e.unit_id)  # type: ignore[attr-defined]
        for row in await _rows_where_in(conn, units, "unit_id", unit_ids):
            self.units[row.unit_id] = dict(row._mapping)
        for row in await _rows_where_in(conn, unit_posts, "unit_id", post_units):
            self.posts[(row.unit_id, row.level)] = dict(row._mapping)
        for row in await _rows_where_in(conn, unit_ranks, "unit_id", rank_units):
            self.ranks[(row.unit_id, row.rank)] = dict(row._mapping)

    def apply(self, version: int, data: DomainEvent) -> None:
        match data:
            case UnitRegistered():
                row = self.units.get(data.unit_id)
                if row is None:
                    row = self.units[data.unit_id] = {"unit_id": data.unit_id,
                                                      **_column_defaults(units)}
                row.update(name=data.name, kind=data.kind,
                           established_administrative=data.establishment.administrative,
                           established_institution=data.establishment.institution,
                           registered_on=data.effective_on, version=version)
                self.dirty_units.add(data.unit_id)
                return
            case EstablishmentAdjusted():
                self._update_unit(data.unit_id, version, {
                    "established_administrative": data.establishment.administrative,
                    "established_institution": data.establishment.institution})
                return
            case EstablishmentSlotOccupied() | EstablishmentSlotReleased():
                delta = 1 if isinstance(data, EstablishmentSlotOccupied) else -1
                column = _SLOT_COLUMN[data.category]
                row = self._update_unit(data.unit_id, version, {})
                row[column] += delta
                if data.rank:
                    self._bump(self.ranks, self.dirty_ranks, unit_ranks, (data.unit_id, data.rank),
                               "held", delta)
                return
            case LeadershipPostsApproved():
                for level in set(data.approved) | set(data.previous):
                    self._set(self.posts, self.dirty_posts, unit_posts, (data.unit_id, level),
                              "approved", data.approved.get(level, 0))
            case RankQuotasApproved():
                for rank in set(data.quotas) | set(data.previous):
                    self._set(self.ranks, self.dirty_ranks, unit_ranks, (data.unit_id, rank),
                              "quota", data.quotas.get(rank))
            case LeadershipPostFilled():
                self._bump(self.posts, self.dirty_posts, unit_posts,
                           (data.unit_id, data.post.level), "filled", 1)
            case LeadershipPostFreed():
                self._bump(self.posts, self.dirty_posts, unit_posts, (data.unit_id, data.level),
                           "filled", -1)
            case RankQuotaTaken():
                self._bump(self.ranks, self.dirty_ranks, unit_ranks, (data.unit_id, data.rank),
                           "held", 1)
                if data.released_rank:
                    self._bump(self.ranks, self.dirty_ranks, unit_ranks,
                               (data.unit_id, data.released_rank), "held", -1)
            case _:
                return
        self._update_unit(data.unit_id, version, {})  # type: ignore[attr-defined]

    def _update_unit(self, unit_id: str, version: int, values: dict) -> dict[str, Any]:
        row = self.units.get(unit_id)
        if row is None:
            raise LookupError(f"unit {unit_id} not in the read model (event before registration)")
        row.update(values, version=version)
        self.dirty_units.add(unit_id)
        return row

    @staticmethod
    def _row(rows: dict, dirty: set, table: sa.Table, key: tuple[str, str]) -> dict[str, Any]:
        row = rows.get(key)
        if row is None:  # a new row: the table's defaults, as an INSERT without the column
            first, second = (c.name for c in table.primary_key.columns)
            row = rows[key] = {first: key[0], second: key[1], **_column_defaults(table)}
        dirty.add(key)
        return row

    def _bump(self, rows: dict, dirty: set, table: sa.Table, key: tuple[str, str], column: str,
              delta: int) -> None:
        existed = key in rows
        row = self._row(rows, dirty, table, key)
        row[column] = row[column] + delta if existed else delta

    def _set(self, rows: dict, dirty: set, table: sa.Table, key: tuple[str, str], column: str,
             value: Any) -> None:
        self._row(rows, dirty, table, key)[column] = value

    async def write(self, conn: AsyncConnection) -> None:
        for table, keys, rows, dirty in (
                (units, ("unit_id",), self.units, self.dirty_units),
                (unit_posts, ("unit_id", "level"), self.posts, self.dirty_posts),
                (unit_ranks, ("unit_id", "rank"), self.ranks, self.dirty_ranks)):
            if dirty:
                await upsert_many(conn, table, [rows[k] for k in sorted(dirty)], keys)


class PersonnelProjection:
    """Units (establishment, posts, rank quotas), cadres, and every cadre's dated events."""

    name = "personnel"
    metadata = metadata
    replay_without_indexes = True
    """Applying events reads its tables by primary key (or unique key) only: a rebuild may
    build the other indexes after the replay."""

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.personnel.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        if getattr(type(data), "stream_kind", None) == "cadre":
            await self._apply_cadre(conn, event, data)
        else:
            await self._apply_unit(conn, event.streamversion, data)

    async def apply_batch(self, conn: AsyncConnection, events: list[EventEnvelope]) -> None:
        """Same rows as ``apply`` on each event in turn, in a few statements per batch: the
        unit rows are changed in memory and written once; each touched cadre is folded once."""
        if type(self).apply is not _APPLY:  # a subclass (or a test) changed apply: honour it
            for envelope in events:
                await self.apply(conn, envelope)
            return
        unit_events: list[tuple[int, DomainEvent]] = []
        cadre_events_: list[tuple[EventEnvelope, DomainEvent]] = []
        for envelope in events:
            data = registry.decode(envelope.type, envelope.data)
            if getattr(type(data), "stream_kind", None) == "cadre":
                cadre_events_.append((envelope, data))
            else:
                unit_events.append((envelope.streamversion, data))
        if unit_events:
            overlay = _UnitOverlay()
            await overlay.load(conn, unit_events)
            for version, data in unit_events:
                overlay.apply(version, data)
            await overlay.write(conn)
        if cadre_events_:
            await self._apply_cadres(conn, cadre_events_)

    async def _apply_cadres(self, conn: AsyncConnection,
                            events: list[tuple[EventEnvelope, DomainEvent]]) -> None:
        history: dict[str, list[tuple[int, DomainEvent]]] = {}
        rows = []
        for envelope, data in events:
            cadre_id: str = data.cadre_id  # type: ignore[attr-defined]
            rows.append({
                "cadre_id": cadre_id, "version": envelope.streamversion, "type": envelope.type,
                "effective_on": business_date(data), "recorded_at": envelope.time,
                "data": data.model_dump(mode="json"),
                **_EVENT_OPTIONAL, "amount": 0, **_history_columns(data)})
            history.setdefault(cadre_id, []).append((envelope.streamversion, data))
        # every touched cadre is folded over its whole history, as ``apply`` does: the
        # events stored before this batch (read before inserting the batch's own) and the
        # batch's, already decoded
        ordered = sorted(history)
        for start in range(0, len(ordered), _IN_CHUNK):
            earlier = await conn.execute(
                sa.select(cadre_events.c.cadre_id, cadre_events.c.version, cadre_events.c.type,
                          cadre_events.c.data)
                .where(cadre_events.c.cadre_id.in_(ordered[start:start + _IN_CHUNK])))
            for r in earlier:
                history[r.cadre_id].append((r.version, registry.decode(r.type, r.data)))
        await insert_many(conn, cadre_events, _EVENT_COLUMNS,
                          [tuple(row[c] for c in _EVENT_COLUMNS) for row in rows])
        await count_movements(conn, rows)
        folded = []
        for cadre_id in ordered:
            state = fold_cadre(history[cadre_id])
            if state is not None:
                folded.append(cadre_row(state))
        await upsert_many(conn, cadres, folded, ("cadre_id",))

    async def _apply_unit(self, conn: AsyncConnection, version: int, data: DomainEvent) -> None:
        match data:
            case UnitRegistered():
                await upsert(conn, units, [{
                    "unit_id": data.unit_id, "name": data.name, "kind": data.kind,
                    "established_administrative": data.establishment.administrative,
                    "established_institution": data.establishment.institution,
                    "registered_on": data.effective_on, "version": version}], ["unit_id"])
                return
            case EstablishmentAdjusted():
                await self._update_unit(conn, data.unit_id, version, {
                    "established_administrative": data.establishment.administrative,
                    "established_institution": data.establishment.institution})
                return
            case EstablishmentSlotOccupied() | EstablishmentSlotReleased():
                delta = 1 if isinstance(data, EstablishmentSlotOccupied) else -1
                column = units.c[_SLOT_COLUMN[data.category]]
                await self._update_unit(conn, data.unit_id, version,
                                        {column.name: column + delta})
                if data.rank:
                    await _bump(conn, unit_ranks, {"unit_id": data.unit_id, "rank": data.rank},
                                "held", delta)
                return
            case LeadershipPostsApproved():
                for level in set(data.approved) | set(data.previous):
                    await upsert(conn, unit_posts, [{
                        "unit_id": data.unit_id, "level": level,
                        "approved": data.approved.get(level, 0)}], ["unit_id", "level"])
            case RankQuotasApproved():
                for rank in set(data.quotas) | set(data.previous):
                    await upsert(conn, unit_ranks, [{
                        "unit_id": data.unit_id, "rank": rank, "quota": data.quotas.get(rank)}],
                        ["unit_id", "rank"])
            case LeadershipPostFilled():
                await _bump(conn, unit_posts, {"unit_id": data.unit_id, "level": data.post.level},
                            "filled", 1)
            case LeadershipPostFreed():
                await _bump(conn, unit_posts, {"unit_id": data.unit_id, "level": data.level},
                            "filled", -1)
            case RankQuotaTaken():
                await _bump(conn, unit_ranks, {"unit_id": data.unit_id, "rank": data.rank},
                            "held", 1)
                if data.released_rank:
                    await _bump(conn, unit_ranks, {"unit_id": data.unit_id,
                                                   "rank": data.released_rank}, "held", -1)
            case _:
                return
        await self._update_unit(conn, data.unit_id, version, {})  # type: ignore[attr-defined]

    async def _apply_cadre(self, conn: AsyncConnection, envelope: EventEnvelope,
                           data: DomainEvent) -> None:
        cadre_id: str = data.cadre_id  # type: ignore[attr-defined]
        row = dict(cadre_id=cadre_id, version=envelope.streamversion, type=envelope.type,
                   effective_on=business_date(data), recorded_at=envelope.time,
                   data=data.model_dump(mode="json"), **{"amount": 0, **_history_columns(data)})
        await conn.execute(cadre_events.insert().values(**row))
        await count_movements(conn, [row])
        rows = (await conn.execute(
            sa.select(cadre_events.c.version, cadre_events.c.type, cadre_events.c.data)
            .where(cadre_events.c.cadre_id == cadre_id))).all()
        state = fold_cadre((r.version, registry.decode(r.type, r.data)) for r in rows)
        if state is not None:
            await upsert(conn, cadres, [cadre_row(state)], ["cadre_id"])

    @staticmethod
    async def _update_unit(conn: AsyncConnection, unit_id: str, version: int,
                           values: dict) -> None:
        result = await conn.execute(units.update().where(units.c.unit_id == unit_id).values(
            version=version, **values))
        if result.rowcount != 1:
            raise LookupError(f"unit {unit_id} not in the read model (event before registration)")


_APPLY = PersonnelProjection.apply
"""What ``apply_batch`` does in bulk; any other ``apply`` is called event by event."""
