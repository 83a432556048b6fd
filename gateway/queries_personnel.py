"""Personnel reports over the read models: unit structure, reserve pool, promotion eligibility,
exchange candidates, retirements and movement figures. Dates are business dates."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import registry
from contracts.personnel import POST_LEVELS, RANK_NAMES, RANKS
from contracts.personnel_rules import PersonnelRules, RankFacts, add_years, age_on, full_years
from gateway.queries import AGE_BANDS, age_band_of
from gateway.readmodels.personnel import (
    EDUCATION_LEVELS,
    cadre_events,
    cadres,
    fold_cadre,
    movement_days,
    unit_posts,
    unit_ranks,
    units,
)
from services.kernel.errors import NotFound

__all__ = ["PersonnelReports"]

SLOT_CATEGORY = {"administrative": "civil_servant", "institution": "institution_staff"}


class CadreRef(BaseModel):
    id: str
    name: str
    unit_id: str
    unit_name: str | None


class EstablishmentLine(BaseModel):
    slot: str = Field(description="`administrative` (civil servants) or `institution`.")
    approved: int
    occupied: int
    vacant: int
    over: int = Field(description="Occupied beyond the approval (超编).")


class PostLine(BaseModel):
    level: str
    approved: int
    filled: int
    vacant: int
    over: int = Field(description="Filled beyond the approval (超职数).")


class RankLine(BaseModel):
    rank: str
    rank_name: str
    quota: int | None = Field(description="Null: no quota set for the rank.")
    held: int
    available: int | None


class AgeProfile(BaseModel):
    headcount: int
    age_bands: dict[str, int]
    average_age: float | None
    share_50_plus: float | None = Field(description="Share aged 50 or more (0–1, 4 decimals).")
    share_55_plus: float | None = Field(description="Share aged 55 or more (0–1, 4 decimals).")


class UnitStructure(BaseModel):
    id: str
    name: str
    kind: str
    on: date
    establishment: list[EstablishmentLine]
    leadership_posts: list[PostLine]
    rank_quotas: list[RankLine]
    age: AgeProfile
    version: int


class ReserveLevelLine(BaseModel):
    level: str
    count: int
    average_age: float | None
    age_bands: dict[str, int]
    education: dict[str, int] = Field(description="Highest qualification; `unknown` if none recorded.")
    full_time_education: dict[str, int] = Field(description="Highest full-time qualification.")
    over_age: int = Field(description="Now older than the level's entry age limit.")


class ReservePool(BaseModel):
    on: date
    total: int
    levels: list[ReserveLevelLine]


class Candidate(BaseModel):
    cadre: CadreRef
    rank: str | None
    rank_since: date | None
    posts: list[str]
    years_in_rank: int | None
    years_of_service: int
    bases: list[str] = Field(description="Bases on which the cadre is eligible.")
    quota: int | None = Field(description="The unit's quota for the target rank (null: none).")
    quota_held: int


class Eligibility(BaseModel):
    target_rank: str
    rank_name: str
    on: date
    count: int
    candidates: list[Candidate]


class ExchangeCandidate(BaseModel):
    cadre: CadreRef
    unit_since: date
    years_in_unit: int
    post_level: str | None
    post_title: str | None


class ExchangeCandidates(BaseModel):
    on: date
    years: int
    count: int
    candidates: list[ExchangeCandidate]


class Retiree(BaseModel):
    cadre: CadreRef
    gender: str
    birth_date: date
    retirement_date: date
    post_level: str | None


class Retirements(BaseModel):
    on: date
    within_1: int
    within_3: int
    within_5: int
    overdue: int = Field(description="Past the retirement age and still in service.")
    years: int
    cadres: list[Retiree] = Field(description="Reaching retirement age within `years`.")


class Movements(BaseModel):
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    recruited: dict[str, dict[str, int]] = Field(description="channel → category → count.")
    recruited_total: int
    promotions: dict[str, dict[str, int]] = Field(description="target rank → basis → count.")
    promotions_total: int
    conversions: int
    conversion_posts_freed: int
    conversions_by_reason: dict[str, int]
    posts_freed: dict[str, int] = Field(description="Posts freed by cause.")
    appointments: dict[str, int] = Field(description="post level → count.")
    exchanges: dict[str, int]
    exchanges_total: int
    departures: dict[str, int]
    departures_total: int
    reserve_entered: dict[str, int]
    reserve_exited: dict[str, int]
    reserve_pool_at_end: dict[str, int] = Field(description="Active entries on `to`, per level.")

    model_config = {"populate_by_name": True}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _profile(ages: list[int]) -> AgeProfile:
    bands = Counter(age_band_of(a) for a in ages)
    return AgeProfile(
        headcount=len(ages), age_bands={b: bands.get(b, 0) for b in AGE_BANDS},
        average_age=round(sum(ages) / len(ages), 1) if ages else None,
        share_50_plus=_share(sum(a >= 50 for a in ages), len(ages)),
        share_55_plus=_share(sum(a >= 55 for a in ages), len(ages)))


def _movement_statements() -> tuple:
    """Built once, the period as parameters (building a select cost more than running it)."""
    e, days = cadre_events, movement_days
    date_from, date_to = sa.bindparam("date_from", type_=sa.Date), sa.bindparam("date_to",
                                                                                type_=sa.Date)
    # counted per day by the projection: a few rows per day, not every event of the period
    grouped = (sa.select(days.c.kind, days.c.label, days.c.sublabel,
                         sa.func.sum(days.c.events).label("n"),
                         sa.func.sum(days.c.amount).label("amount"))
               .where(days.c.effective_on >= date_from, days.c.effective_on <= date_to)
               .group_by(days.c.kind, days.c.label, days.c.sublabel))
    exited = e.alias("exited")
    pool = (sa.select(e.c.label, sa.func.count().label("n"))
            .where(e.c.kind == "reserve_entered", e.c.effective_on <= date_to,
                   ~sa.exists().where(exited.c.kind == "reserve_exited",
                                      exited.c.ref == e.c.ref,
                                      exited.c.effective_on <= date_to))
            .group_by(e.c.label))
    return grouped, pool


_MOVEMENTS, _RESERVE_POOL = _movement_statements()


class PersonnelReports:
    def __init__(self, engine: AsyncEngine, rules: PersonnelRules,
                 today: Callable[[], date] = date.today) -> None:
        self.engine, self.rules, self.today = engine, rules, today

    async def _unit_names(self, conn) -> dict[str, str]:
        return {r.unit_id: r.name for r in await conn.execute(sa.select(units.c.unit_id,
                                                                          units.c.name))}

    async def unit_structure(self, unit_id: str, on: date | None = None) -> UnitStructure:
        on = on or self.today()
        async with self.engine.connect() as conn:
            unit = (await conn.execute(sa.select(units).where(units.c.unit_id == unit_id))).first()
            if unit is None or not unit.name:
                raise NotFound(f"unit {unit_id} not found")
            posts = {r.level: r for r in await conn.execute(
                sa.select(unit_posts).where(unit_posts.c.unit_id == unit_id))}
            ranks = {r.rank: r for r in await conn.execute(
                sa.select(unit_ranks).where(unit_ranks.c.unit_id == unit_id))}
            births = (await conn.execute(sa.select(cadres.c.birth_date).where(
                cadres.c.unit_id == unit_id, cadres.c.status == "active"))).scalars().all()
        establishment = []
        for slot in ("administrative", "institution"):
            approved = getattr(unit, f"established_{slot}")
            occupied = getattr(unit, f"occupied_{slot}")
            establishment.append(EstablishmentLine(
                slot=slot, approved=approved, occupied=occupied,
                vacant=max(0, approved - occupied), over=max(0, occupied - approved)))
        post_lines = [PostLine(level=level, approved=row.approved, filled=row.filled,
                               vacant=max(0, row.approved - row.filled),
                               over=max(0, row.filled - row.approved))
                      for level in POST_LEVELS if (row := posts.get(level)) is not None
                      and (row.approved or row.filled)]
        rank_lines = [RankLine(rank=rank, rank_name=RANK_NAMES[rank], quota=row.quota,
                               held=row.held,
                               available=None if row.quota is None else max(0, row.quota - row.held))
                      for rank in RANKS if (row := ranks.get(rank)) is not None
                      and (row.quota is not None or row.held)]
        return UnitStructure(
            id=unit.unit_id, name=unit.name, kind=unit.kind, on=on, establishment=establishment,
            leadership_posts=post_lines, rank_quotas=rank_lines,
            age=_profile([age_on(b, on) for b in births]), version=unit.version)

    async def reserve_pool(self, on: date | None = None, unit_id: str | None = None) -> ReservePool:
        on = on or self.today()
        query = sa.select(cadres.c.birth_date, cadres.c.reserve_level, cadres.c.education_level,
                          cadres.c.detail).where(cadres.c.status == "active",
                                                 cadres.c.reserve_level.is_not(None))
        if unit_id:
            query = query.where(cadres.c.unit_id == unit_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        levels = []
        for level in ("section_chief", "deputy_section_chief"):
            chosen = [r for r in rows if r.reserve_level == level]
            ages = [age_on(r.birth_date, on) for r in chosen]
            profile = _profile(ages)
            education = Counter(r.education_level or "unknown" for r in chosen)
            full_time = Counter(
                max((e["level"] for e in (r.detail or {}).get("education", [])
                     if e["kind"] == "full_time"), key=EDUCATION_LEVELS.index, default="unknown")
                for r in chosen)
            limit = self.rules.reserve_max_age[level]  # type: ignore[index]
            levels.append(ReserveLevelLine(
                level=level, count=len(chosen), average_age=profile.average_age,
                age_bands=profile.age_bands,
                education={k: education.get(k, 0) for k in (*EDUCATION_LEVELS, "unknown")},
                full_time_education={k: full_time.get(k, 0) for k in (*EDUCATION_LEVELS, "unknown")},
                over_age=sum(a > limit for a in ages)))
        return ReservePool(on=on, total=len(rows), levels=levels)

    async def promotion_eligibility(self, target_rank: str, on: date | None = None,
                                    basis: str | None = None, unit_id: str | None = None,
                                    ) -> Eligibility:
        """Candidates, never promotions: cadres in service on ``on`` who meet the rules for
        ``target_rank`` on that date, with the bases they meet."""
        on = on or self.today()
        bases = [basis] if basis else ["years_in_rank", "years_of_service", "graduate_degree"]
        async with self.engine.connect() as conn:
            ids = sa.select(cadres.c.cadre_id).where(cadres.c.category == "civil_servant")
            rows = (await conn.execute(
                sa.select(cadre_events.c.cadre_id, cadre_events.c.version, cadre_events.c.type,
                          cadre_events.c.data)
                .where(cadre_events.c.cadre_id.in_(ids), cadre_events.c.effective_on <= on))).all()
            names = await self._unit_names(conn)
            quotas = {r.unit_id: r for r in await conn.execute(
                sa.select(unit_ranks).where(unit_ranks.c.rank == target_rank))}
        by_cadre: dict[str, list] = defaultdict(list)
        for r in rows:
            by_cadre[r.cadre_id].append((r.version, registry.decode(r.type, r.data)))
        found = []
        for events in by_cadre.values():
            state = fold_cadre(events, on)
            if state is None or state["status"] != "active":
                continue
            if unit_id and state["unit_id"] != unit_id:
                continue
            facts = RankFacts(
                category=state["category"], rank=state["rank"], rank_since=state["rank_since"],
                posts=tuple((p["level"], date.fromisoformat(p["since"])) for p in state["posts"]),
                joined_work_on=state["joined_work_on"], recruited_on=state["recruited_on"],
                degrees=tuple((e["degree"], e["kind"]) for e in state["education"]))
            met = [b for b in bases if self.rules.promotion_problem(facts, target_rank, b, on) is None]
            if not met:
                continue
            quota = quotas.get(state["unit_id"])
            found.append(Candidate(
                cadre=CadreRef(id=state["cadre_id"], name=state["name"], unit_id=state["unit_id"],
                               unit_name=names.get(state["unit_id"])),
                rank=state["rank"], rank_since=state["rank_since"],
                posts=[p["level"] for p in state["posts"]],
                years_in_rank=full_years(state["rank_since"], on) if state["rank_since"] else None,
                years_of_service=full_years(state["joined_work_on"], on), bases=met,
                quota=quota.quota if quota else None, quota_held=quota.held if quota else 0))
        found.sort(key=lambda c: (c.cadre.unit_name or "", c.cadre.name, c.cadre.id))
        return Eligibility(target_rank=target_rank, rank_name=RANK_NAMES[target_rank], on=on,
                           count=len(found), candidates=found)

    async def exchange_candidates(self, on: date | None = None, years: int | None = None,
                                  unit_id: str | None = None, leaders_only: bool = False,
                                  ) -> ExchangeCandidates:
        on = on or self.today()
        years = years or self.rules.exchange_candidate_years
        query = (sa.select(cadres, units.c.name.label("unit_name"))
                 .select_from(cadres.outerjoin(units, units.c.unit_id == cadres.c.unit_id))
                 .where(cadres.c.status == "active",
                        cadres.c.unit_since <= add_years(on, -years))
                 .order_by(cadres.c.unit_since, cadres.c.name, cadres.c.cadre_id))
        if unit_id:
            query = query.where(cadres.c.unit_id == unit_id)
        if leaders_only:
            query = query.where(cadres.c.post_level.is_not(None))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        chosen = [ExchangeCandidate(
            cadre=CadreRef(id=r.cadre_id, name=r.name, unit_id=r.unit_id, unit_name=r.unit_name),
            unit_since=r.unit_since, years_in_unit=full_years(r.unit_since, on),
            post_level=r.post_level, post_title=r.post_title)
            for r in rows if full_years(r.unit_since, on) >= years]
        return ExchangeCandidates(on=on, years=years, count=len(chosen), candidates=chosen)

    async def retirements(self, on: date | None = None, years: int = 5,
                          unit_id: str | None = None) -> Retirements:
        on = on or self.today()
        query = (sa.select(cadres.c.cadre_id, cadres.c.name, cadres.c.unit_id, cadres.c.gender,
                           cadres.c.birth_date, cadres.c.post_level,
                           units.c.name.label("unit_name"))
                 .select_from(cadres.outerjoin(units, units.c.unit_id == cadres.c.unit_id))
                 .where(cadres.c.status == "active"))
        if unit_id:
            query = query.where(cadres.c.unit_id == unit_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        dated = [(self.rules.retirement_date(r.birth_date, r.gender), r) for r in rows]

        def within(n: int) -> list:
            return [(d, r) for d, r in dated if on < d <= add_years(on, n)]

        listed = sorted(within(years), key=lambda item: (item[0], item[1].name, item[1].cadre_id))
        return Retirements(
            on=on, within_1=len(within(1)), within_3=len(within(3)), within_5=len(within(5)),
            overdue=sum(d <= on for d, _ in dated), years=years,
            cadres=[Retiree(cadre=CadreRef(id=r.cadre_id, name=r.name, unit_id=r.unit_id,
                                           unit_name=r.unit_name),
                            gender=r.gender, birth_date=r.birth_date, retirement_date=d,
                            post_level=r.post_level) for d, r in listed])

    async def movements(self, date_from: date, date_to: date) -> Movements:
        async with self.engine.connect() as conn:
            bounds = {"date_from": date_from, "date_to": date_to}
            rows = (await conn.execute(_MOVEMENTS, bounds)).all()
            pool_rows = (await conn.execute(_RESERVE_POOL, bounds)).all()
        nested: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        flat: dict[str, Counter] = defaultdict(Counter)
        amounts: Counter = Counter()
        for r in rows:
            nested[r.kind][r.label or ""][r.sublabel or ""] = r.n
            flat[r.kind][r.label or ""] += r.n
            amounts[r.kind] += r.amount

        def by_sublabel(kind: str) -> dict[str, Counter]:
            out: dict[str, Counter] = defaultdict(Counter)
            for r in rows:
                if r.kind == kind:
                    out[r.sublabel or ""][r.label or ""] += r.n
            return out

        return Movements(
            date_from=date_from, date_to=date_to,
            recruited={k: dict(v) for k, v in nested["recruited"].items()},
            recruited_total=sum(flat["recruited"].values()),
            promotions={k: dict(v) for k, v in nested["promoted"].items()},
            promotions_total=sum(flat["promoted"].values()),
            conversions=sum(flat["converted"].values()),
            conversion_posts_freed=amounts["converted"],
            conversions_by_reason={k: sum(v.values()) for k, v in by_sublabel("converted").items()},
            posts_freed={"conversion": amounts["converted"], "exchange": amounts["exchanged"],
                         "departure": amounts["departed"], "reappointment": amounts["appointed"]},
            appointments=dict(flat["appointed"]),
            exchanges=dict(flat["exchanged"]), exchanges_total=sum(flat["exchanged"].values()),
            departures=dict(flat["departed"]), departures_total=sum(flat["departed"].values()),
            reserve_entered=dict(flat["reserve_entered"]),
            reserve_exited={k: sum(v.values()) for k, v in by_sublabel("reserve_exited").items()},
            reserve_pool_at_end={r.label: r.n for r in pool_rows})
