"""Personnel queries over the read models: roster, cadre detail (also as of a past date), unit.
Routes call one function here each; the reports are in ``gateway.queries_personnel``."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any, Literal

import pydantic_core
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import registry
from contracts.personnel import RANK_NAMES
from contracts.personnel_rules import add_years, age_on
from gateway.readmodels.personnel import cadre_events, cadre_row, cadres, fold_cadre, units
from services.kernel.errors import NotFound, ZugongError

__all__ = ["AGE_BANDS", "AgeBand", "CadreDetail", "CadreView", "Page", "PersonnelQueries",
           "UnitView", "age_band_of"]

AgeBand = Literal["0-30", "31-35", "36-40", "41-45", "46-50", "51-55", "56+"]
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30), "31-35": (31, 35), "36-40": (36, 40), "41-45": (41, 45),
    "46-50": (46, 50), "51-55": (51, 55), "56+": (56, None)}


def age_band_of(age: int) -> str:
    return next(band for band, (low, high) in AGE_BANDS.items()
                if age >= low and (high is None or age <= high))


class BadCursor(ZugongError):
    status, title, type_slug = 400, "Invalid cursor", "bad-cursor"


class UnitRef(BaseModel):
    id: str
    name: str | None


class PostView(BaseModel):
    post_id: str
    level: str
    title: str
    since: date


class EducationView(BaseModel):
    kind: str
    level: str
    degree: str
    school: str
    major: str | None
    completed_on: date


class ReviewView(BaseModel):
    on: date
    rating: str
    comment: str | None


class ReserveView(BaseModel):
    entry_id: str
    level: str
    since: date
    source: str | None
    reviews: list[ReviewView]
    exited_on: date | None = None
    reason: str | None = None


class CadreView(BaseModel):
    id: str
    name: str
    gender: str
    birth_date: date
    age: int = Field(description="Age on the reference date (`on`, `as_of` or today).")
    national_id: str = Field(description="Masked unless the caller may read personal data.")
    category: str
    unit: UnitRef
    unit_since: date | None = Field(description="Date the cadre joined the current unit.")
    channel: str = Field(description="How the cadre joined; `go_live` = registered at go-live.")
    recruited_on: date
    joined_work_on: date | None
    rank: str | None
    rank_name: str | None = Field(description="The rank in Chinese, e.g. 四级主任科员.")
    rank_since: date | None
    posts: list[PostView] = Field(description="Leadership posts held, highest level first.")
    education_level: str | None = Field(description="Highest qualification recorded.")
    degree: str | None = Field(description="Highest degree recorded.")
    reserve: ReserveView | None = Field(description="The active young-cadre reserve entry.")
    status: Literal["active", "departed"]
    departed_on: date | None
    departure_kind: str | None
    version: int


class TimelineEntry(BaseModel):
    version: int = Field(description="Version of the cadre's record after this event.")
    effective_on: date = Field(description="Business date (graduation date for education).")
    recorded_at: datetime
    kind: str
    event_type: str
    details: dict[str, Any]


class CadreDetail(CadreView):
    as_of: date | None = Field(description="The date the cadre is shown as of; null = now.")
    education: list[EducationView]
    reserve_history: list[ReserveView] = Field(description="Closed reserve entries.")
    history: list[TimelineEntry] = Field(description="Dated history, in effective-date order.")


class Slots(BaseModel):
    administrative: int
    institution: int


class UnitView(BaseModel):
    id: str
    name: str
    kind: str
    registered_on: date | None
    establishment: Slots
    occupied: Slots
    vacancies: Slots
    version: int


class Page(BaseModel):
    items: list[CadreView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(values, list) and len(values) == 2):
            raise ValueError
        return values
    except ValueError:
        raise BadCursor("the cursor is not one this API returned",
                        errors=[{"pointer": "query:cursor", "detail": "malformed"}]) from None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cadre_select_of(reveal: bool, plain_dates: bool):
    columns = [sa.type_coerce(c, sa.String).label(c.name)
               if plain_dates and isinstance(c.type, sa.Date) else c
               for c in cadres.c if reveal or c.name != "national_id_sealed"]
    return sa.select(*columns, units.c.name.label("unit_name")).select_from(
        cadres.outerjoin(units, units.c.unit_id == cadres.c.unit_id))


# built once: a select of 28 columns costs more to construct than to run
_CADRE_SELECTS = {(reveal, plain): _cadre_select_of(reveal, plain)
                  for reveal in (False, True) for plain in (False, True)}


_CADRE_EVENTS = (sa.select(cadre_events).where(cadre_events.c.cadre_id == sa.bindparam("cadre_id"))
                 .order_by(cadre_events.c.effective_on, cadre_events.c.version))
_UNIT_NAME = sa.select(units.c.name).where(units.c.unit_id == sa.bindparam("unit_id"))
_UNIT = sa.select(units).where(units.c.unit_id == sa.bindparam("unit_id"))


_ROSTERS: dict[tuple, Any] = {}


def _roster_statement(reveal: bool, by_status: bool, filters: tuple[tuple[str, str], ...],
                      age: str | None, by_text: bool, after: bool):
    """The roster's select for one combination of filters, built once with the values as
    parameters (building a select of 28 columns and its cache key cost more than running
    it)."""
    key = (reveal, by_status, filters, age, by_text, after)
    query = _ROSTERS.get(key)
    if query is not None:
        return query
    query = (_CADRE_SELECTS[reveal, True].order_by(cadres.c.name, cadres.c.cadre_id)
             .limit(sa.bindparam("limit", type_=sa.Integer)))
    if by_status:
        query = query.where(cadres.c.status == sa.bindparam("status"))
    for name, mode in filters:
        column = cadres.c[name]
        query = query.where(column.is_(None) if mode == "none"
                            else column == sa.bindparam(name, type_=column.type))
    if age is not None:
        query = query.where(cadres.c.birth_date <= sa.bindparam("born_by", type_=sa.Date))
        if age == "both":
            query = query.where(cadres.c.birth_date > sa.bindparam("born_after", type_=sa.Date))
    if by_text:
        text = sa.bindparam("q", type_=sa.String)
        query = query.where(sa.or_(cadres.c.name.like(text, escape="\\"),
                                   cadres.c.post_title.like(text, escape="\\")))
    if after:
        query = query.where(sa.tuple_(cadres.c.name, cadres.c.cadre_id) > sa.tuple_(
            sa.bindparam("after_name", type_=sa.String),
            sa.bindparam("after_id", type_=sa.String)))
    _ROSTERS[key] = query
    return query


class PersonnelQueries:
    def __init__(self, engine: AsyncEngine, unseal) -> None:
        self.engine = engine
        self._unseal = unseal

    def _national_id(self, masked: str, sealed: str, reveal: bool) -> str:
        return (self._unseal(sealed) or masked) if reveal else masked

    def _fields(self, row, unit_name: str | None, reveal: bool, on: date) -> dict[str, Any]:
        """A ``CadreView``'s fields from a row of ``rm_cadres`` (dates as dates, or as ISO
        text from the roster's plain-text select)."""
        detail = row["detail"] or {}
        birth_date = row["birth_date"]
        if isinstance(birth_date, str):
            birth_date = date.fromisoformat(birth_date)
        return dict(
            id=row["cadre_id"], name=row["name"], gender=row["gender"],
            birth_date=birth_date, age=age_on(birth_date, on),
            national_id=self._national_id(row["national_id_masked"],
                                          row["national_id_sealed"] if reveal else "", reveal),
            category=row["category"], unit={"id": row["unit_id"], "name": unit_name},
            unit_since=row["unit_since"], channel=row["channel"], recruited_on=row["recruited_on"],
            joined_work_on=row["joined_work_on"], rank=row["rank"],
            rank_name=RANK_NAMES.get(row["rank"] or ""), rank_since=row["rank_since"],
            posts=detail.get("posts", []), education_level=row["education_level"],
            degree=row["degree"], reserve=detail.get("reserve"), status=row["status"],
            departed_on=row["departed_on"], departure_kind=row["departure_kind"],
            version=row["version"])

    def _view(self, row: dict[str, Any], unit_name: str | None, reveal: bool, on: date,
              model: type[CadreView] = CadreView, **extra) -> CadreView:
        return model(**self._fields(row, unit_name, reveal, on), **extra)

    def _cadre_select(self, *, reveal: bool = True, plain_dates: bool = False):
        """The cadre rows with their unit's name. ``plain_dates``: the date columns as the
        database gives them (ISO text on SQLite), left for the response model to validate
        once rather than parsed here and again there; the sealed ID only when revealed."""
        return _CADRE_SELECTS[reveal, plain_dates]

    async def cadre(self, cadre_id: str, *, reveal: bool, as_of: date | None = None,
                    today: date | None = None) -> CadreDetail:
        """The cadre now, or as of a past date, with the dated history up to it."""
        async with self.engine.connect() as conn:
            events = (await conn.execute(_CADRE_EVENTS, {"cadre_id": cadre_id})).all()
            state = fold_cadre(((r.version, registry.decode(r.type, r.data)) for r in events),
                               as_of)
            if state is None:
                raise NotFound(f"cadre {cadre_id} not found" if as_of is None else
                               f"cadre {cadre_id} was not in service on {as_of}")
            unit_name = await conn.scalar(_UNIT_NAME, {"unit_id": state["unit_id"]})
        row = cadre_row(state)
        history = [TimelineEntry(
            version=r.version, effective_on=r.effective_on, recorded_at=r.recorded_at,
            kind=r.kind, event_type=r.type,
            details={k: v for k, v in r.data.items() if k not in ("cadre_id", "national_id")})
            for r in events if as_of is None or r.effective_on <= as_of]
        on = as_of or today or date.today()
        detail = row["detail"]
        return self._view(row, unit_name, reveal, on, CadreDetail, as_of=as_of,  # type: ignore[return-value]
                          education=detail["education"],
                          reserve_history=detail["reserve_history"], history=history)

    async def cadres(self, *, unit_id: str | None = None, q: str | None = None,
                     category: str | None = None, rank: str | None = None,
                     post_level: str | None = None, reserve_level: str | None = None,
                     age_band: str | None = None, status: str = "active",
                     on: date | None = None, limit: int = 50, cursor: str | None = None,
                     reveal: bool = False) -> Page:
        on = on or date.today()
        rows, next_cursor = await self._roster(unit_id, q, category, rank, post_level,
                                               reserve_level, age_band, status, on, limit, cursor,
                                               reveal)
        # one validation for the whole page (pydantic-core), not one model per row
        return Page.model_validate({
            "items": [self._fields(r, r["unit_name"], reveal, on) for r in rows],
            "next_cursor": next_cursor})

    async def cadres_json(self, *, unit_id: str | None = None, q: str | None = None,
                          category: str | None = None, rank: str | None = None,
                          post_level: str | None = None, reserve_level: str | None = None,
                          age_band: str | None = None, status: str = "active",
                          on: date | None = None, limit: int = 50, cursor: str | None = None,
                          reveal: bool = False) -> bytes:
        """``cadres`` as the JSON of its ``Page``, byte for byte, without building the models.

        The roster is the most asked-for query: validating a page of rows the projection wrote
        and serialising the models again was about a third of its CPU. Each item is laid out
        here in ``CadreView``'s field order with the nested objects in their models' shapes
        (a test compares the bytes with ``Page``'s JSON over every kind of cadre)."""
        on = on or date.today()
        rows, next_cursor = await self._roster(unit_id, q, category, rank, post_level,
                                               reserve_level, age_band, status, on, limit, cursor,
                                               reveal, raw=True)
        return pydantic_core.to_json({"items": [self._roster_item(r, reveal, on) for r in rows],
                                      "next_cursor": next_cursor})

    def _roster_item(self, row, reveal: bool, on: date) -> dict[str, Any]:
        detail = row["detail"]
        if isinstance(detail, str):  # raw from SQLite
            detail = json.loads(detail)
        detail = detail or {}
        birth_date = row["birth_date"]
        if isinstance(birth_date, str):
            birth_date = date.fromisoformat(birth_date)
        reserve = detail.get("reserve")
        return {
            "id": row["cadre_id"], "name": row["name"], "gender": row["gender"],
            "birth_date": birth_date, "age": age_on(birth_date, on),
            "national_id": self._national_id(row["national_id_masked"],
                                             row["national_id_sealed"] if reveal else "", reveal),
            "category": row["category"], "unit": {"id": row["unit_id"], "name": row["unit_name"]},
            "unit_since": row["unit_since"], "channel": row["channel"],
            "recruited_on": row["recruited_on"], "joined_work_on": row["joined_work_on"],
            "rank": row["rank"], "rank_name": RANK_NAMES.get(row["rank"] or ""),
            "rank_since": row["rank_since"],
            "posts": [{"post_id": p["post_id"], "level": p["level"], "title": p["title"],
                       "since": p["since"]} for p in detail.get("posts", [])],
            "education_level": row["education_level"], "degree": row["degree"],
            "reserve": None if reserve is None else {
                "entry_id": reserve["entry_id"], "level": reserve["level"],
                "since": reserve["since"], "source": reserve["source"],
                "reviews": [{"on": r["on"], "rating": r["rating"], "comment": r["comment"]}
                            for r in reserve["reviews"]],
                "exited_on": reserve.get("exited_on"), "reason": reserve.get("reason")},
            "status": row["status"], "departed_on": row["departed_on"],
            "departure_kind": row["departure_kind"], "version": row["version"]}

    async def _roster(self, unit_id, q, category, rank, post_level, reserve_level, age_band,
                      status, on: date, limit: int, cursor: str | None, reveal: bool,
                      raw: bool = False):
        """The page's rows (at most ``limit``) and the next page's cursor. ``raw``: on SQLite,
        the DBAPI's rows as they are (``detail`` as JSON text; the dates are selected as text
        anyway): SQLAlchemy's row objects and result processing cost twice SQLite's own
        fetch of a page."""
        params: dict[str, Any] = {"limit": limit + 1}
        if status != "all":
            params["status"] = status
        filters = []
        for name, value in (("unit_id", unit_id), ("category", category), ("rank", rank),
                            ("post_level", post_level), ("reserve_level", reserve_level)):
            if value == "none":
                filters.append((name, "none"))
            elif value:
                filters.append((name, "value"))
                params[name] = value
        age = None
        if age_band:
            low, high = AGE_BANDS[age_band]
            # age >= low  <=>  born on or before on - low years; age <= high  <=>  born after
            params["born_by"] = add_years(on, -low)
            age = "low"
            if high is not None:
                params["born_after"] = add_years(on, -(high + 1))
                age = "both"
        if q:
            params["q"] = _like(q)
        if cursor:
            params["after_name"], params["after_id"] = _decode_cursor(cursor)
        query = _roster_statement(reveal, status != "all", tuple(filters), age, bool(q),
                                  bool(cursor))
        async with self.engine.connect() as conn:
            result = await conn.execute(query, params)
            if raw and conn.dialect.name == "sqlite":
                keys = list(result.keys())
                rows = [dict(zip(keys, r, strict=True)) for r in result.cursor.fetchall()]
                result.close()
            else:
                rows = result.mappings().all()
        next_cursor = (_encode_cursor([rows[limit - 1]["name"], rows[limit - 1]["cadre_id"]])
                       if len(rows) > limit else None)
        return rows[:limit], next_cursor

    async def unit(self, unit_id: str) -> UnitView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_UNIT, {"unit_id": unit_id})).first()
        if row is None or not row.name:
            raise NotFound(f"unit {unit_id} not found")
        est = Slots(administrative=row.established_administrative,
                    institution=row.established_institution)
        occ = Slots(administrative=row.occupied_administrative,
                    institution=row.occupied_institution)
        return UnitView(
            id=row.unit_id, name=row.name, kind=row.kind, registered_on=row.registered_on,
            establishment=est, occupied=occ,
            vacancies=Slots(administrative=max(0, est.administrative - occ.administrative),
                            institution=max(0, est.institution - occ.institution)),
            version=row.version)
