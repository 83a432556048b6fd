"""The city dashboard: the article's figures for a period, each with a stable key, a value and
a one-line definition. Figures the services' report queries already compute are taken from
them; the rest are counted from the read models by effective date within the period."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import date, datetime, time

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.queries_governance import GovernanceQueries
from gateway.queries_personnel import PersonnelReports
from gateway.queries_talent import TalentQueries
from gateway.queries_training import TrainingQueries
from gateway.readmodels.governance import LOCAL_TZ, rect_measures, rect_problems, reserve_candidates
from gateway.readmodels.personnel import cadre_events, units
from services.kernel.subscription import dead_letters_table, projection_positions_table

__all__ = ["ORG_DEPARTMENT_SUFFIX", "Dashboard", "DashboardQueries", "Figure"]

ORG_DEPARTMENT_SUFFIX = "组织部"
"""The organisation department is the party organ whose name ends so (e.g. 市委组织部)."""


class Figure(BaseModel):
    key: str = Field(description="Stable key, e.g. `personnel.recruited.exam`.")
    area: str = Field(description="training, personnel, governance, talent or org_department.")
    label: str = Field(description="What the figure is, in the article's words.")
    value: int | float | None
    unit: str | None = Field(default=None, description="count, yuan, share, …")
    definition: str = Field(description="How the value is computed.")


class Dashboard(BaseModel):
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    figures: list[Figure]

    model_config = {"populate_by_name": True}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


_READ_MODEL_STATE = sa.union_all(  # built once: every dashboard request reads it
    sa.select(projection_positions_table.c.projection, projection_positions_table.c.source,
              sa.cast(projection_positions_table.c.position, sa.String),
              sa.cast(projection_positions_table.c.updated_at, sa.String)),
    sa.select(sa.literal("dead_letters"), dead_letters_table.c.status,
              sa.cast(sa.func.count(), sa.String),
              sa.cast(sa.func.max(dead_letters_table.c.id), sa.String))
    .group_by(dead_letters_table.c.status))


# the dashboard's own statements, built once with the period as parameters (building a select
# and its cache key cost more than running it)
_START, _END = sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
_MEASURES_ADOPTED = sa.select(sa.func.count()).select_from(rect_measures).where(
    rect_measures.c.adopted_on.between(_START, _END))
_PROBLEMS_SOLVED = sa.select(sa.func.count()).select_from(rect_problems).where(
    rect_problems.c.resolved_on.between(_START, _END))
_RESERVE_ADDED = sa.select(
    sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case(
        (reserve_candidates.c.leader_candidate.is_(True), 1), else_=0)), 0)).where(
    reserve_candidates.c.added_on.between(_START, _END))
_RECRUITED_INTO_ORG = sa.select(cadre_events.c.label, sa.func.count()).where(
    cadre_events.c.kind == "recruited", cadre_events.c.effective_on.between(_START, _END),
    cadre_events.c.unit_id.in_(sa.select(units.c.unit_id).where(
        units.c.name.like(f"%{ORG_DEPARTMENT_SUFFIX}")))).group_by(cadre_events.c.label)


class DashboardQueries:
    """The figures, and a cache of their JSON per period that lives as long as the read models
    do not change.

    The dashboard runs some forty statements, several of them counts over a whole table; the
    same periods are asked for again and again. An answer is cached with the read models'
    *state* it was computed from: every projection's checkpoint (position and when it was
    written, which a batch, a rebuild's swap and a dead-letter replay each change) and the
    dead letters' statuses. Each request reads that state (one statement) and recomputes
    when it differs, so an answer is never older than what a fresh computation at the same
    moment would read."""

    CACHE_SIZE = 64

    def __init__(self, engine: AsyncEngine, personnel: PersonnelReports, training: TrainingQueries,
                 talent: TalentQueries, governance: GovernanceQueries) -> None:
        self.engine = engine
        self.personnel, self.training = personnel, training
        self.talent, self.governance = talent, governance
        self._cache: OrderedDict[tuple[date, date], tuple[tuple, bytes]] = OrderedDict()
        self._computing: dict[tuple[date, date], asyncio.Future] = {}
        self.computed = 0
        """Answers computed (not served from the cache): for tests and metrics."""

    async def read_model_state(self) -> tuple:
        async with self.engine.connect() as conn:
            return tuple(sorted(tuple(r) for r in (await conn.execute(_READ_MODEL_STATE)).all()))

    async def dashboard_json(self, start: date, end: date) -> bytes:
        """The dashboard for the period as JSON (``Dashboard`` by alias), from the cache when
        the read models have not changed since it was computed."""
        key = (start, end)
        while True:
            state = await self.read_model_state()
            cached = self._cache.get(key)
            if cached is not None and cached[0] == state:
                self._cache.move_to_end(key)
                return cached[1]
            pending = self._computing.get(key)
            if pending is None:
                break
            # the same period is being computed: wait for it, then check the state again
            await asyncio.shield(pending)
        future = self._computing[key] = asyncio.get_running_loop().create_future()
        try:
            body = (await self.dashboard(start, end)).model_dump_json(by_alias=True).encode()
            self.computed += 1
            self._cache[key] = (state, body)
            self._cache.move_to_end(key)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return body
        finally:
            del self._computing[key]
            future.set_result(None)

    async def dashboard(self, start: date, end: date) -> Dashboard:
        figures: list[Figure] = []

        def add(key: str, label: str, value, definition: str, unit: str | None = "count") -> None:
            figures.append(Figure(key=key, area=key.split(".")[0], label=label, value=value,
                                  unit=unit, definition=definition))

        # -- training ------------------------------------------------------------------------
        held = await self.training.classes_held(start, end)
        add("training.classes_held", "training classes held (中青班, 进修班, 主体班)",
            sum(held.by_kind.get(k, 0) for k in ("young_cadre", "advanced", "main_body")),
            "Classes of kind young_cadre, advanced or main_body starting in the period, opened or "
            "completed (cancelled excluded).")
        add("training.classes_held_all_kinds", "training classes held, every kind", held.total,
            "Classes of any kind starting in the period, opened or completed.")
        add("training.invited_lectures", "invited provincial Party-school lectures",
            len(held.invited_lectures),
            "Sessions held in the period by an invited lecturer, in classes not cancelled.")
        mass = await self.training.mass_events(period_from=start, period_to=end,
                                               kind="art_party_lecture", limit=1, cursor=None)
        add("training.art_party_lecture_attendees", "attendees of the art Party lectures",
            mass.total_head_count,
            "Head-count of mass events of kind art_party_lecture held in the period.", "persons")

        # -- personnel -----------------------------------------------------------------------
        m = await self.personnel.movements(start, end)
        p4 = m.promotions.get("principal_staff_4", {})
        for key, label, value, definition in [
            ("personnel.conversions.posts_freed", "leadership posts freed by converting leaders "
             "to ranks", m.conversion_posts_freed,
             "Leadership posts released by post-to-rank conversions effective in the period."),
            ("personnel.recruited.exam", "civil servants recruited by exam",
             m.recruited.get("exam_recruitment", {}).get("civil_servant", 0),
             "Civil servants recruited through exam_recruitment, effective in the period."),
            ("personnel.recruited.institution", "institution staff recruited",
             m.recruited.get("institution_hiring", {}).get("institution_staff", 0),
             "Institution staff recruited through institution_hiring, effective in the period."),
            ("personnel.recruited.transfer_in", "civil servants transferred in (调配)",
             m.recruited.get("transfer_in", {}).get("civil_servant", 0),
             "Civil servants recruited through transfer_in, effective in the period."),
            ("personnel.promoted.principal_staff_4.graduate_degree",
             "promoted to 四级主任科员 on a graduate degree", p4.get("graduate_degree", 0),
             "Rank promotions to principal_staff_4 with basis graduate_degree in the period."),
            ("personnel.promoted.principal_staff_4.years_of_service",
             "promoted to 四级主任科员 on 5+ years of service", p4.get("years_of_service", 0),
             "Rank promotions to principal_staff_4 with basis years_of_service in the period."),
            ("personnel.reserve.total", "young-cadre reserve: entered",
             sum(m.reserve_entered.values()),
             "Entries into the young-cadre reserve effective in the period, every level."),
            ("personnel.reserve.section_chief", "young-cadre reserve: 正科",
             m.reserve_entered.get("section_chief", 0),
             "Reserve entries at section_chief level effective in the period."),
            ("personnel.reserve.deputy_section_chief", "young-cadre reserve: 副科",
             m.reserve_entered.get("deputy_section_chief", 0),
             "Reserve entries at deputy_section_chief level effective in the period."),
            ("personnel.exchanges", "section-level leaders exchanged", m.exchanges_total,
             "Exchanges (交流) of cadres effective in the period, every kind."),
            ("personnel.conversions", "leaders converted to ranks", m.conversions,
             "Post-to-rank conversions effective in the period."),
        ]:
            add(key, label, value, definition)

        # -- governance ----------------------------------------------------------------------
        period = {"start": start, "end": end}
        async with self.engine.connect() as conn:
            measures = await conn.scalar(_MEASURES_ADOPTED, period) or 0
            solved = await conn.scalar(_PROBLEMS_SOLVED, period) or 0
            reserve = (await conn.execute(_RESERVE_ADDED, period)).one()
        add("governance.rectification.measures_adopted", "rectification measures adopted", measures,
            "Measures of weak-village rectification plans adopted in the period.")
        add("governance.rectification.problems_solved", "rectification problems solved", solved,
            "Problems of rectification cases resolved in the period.")
        add("governance.village_reserve.candidates", "village reserve candidates", reserve[0],
            "Village-leader reserve candidates added in the period.", "persons")
        add("governance.village_reserve.leader_candidates", "of them leader candidates (带头人)",
            int(reserve[1]), "Of those, candidates flagged as leader candidates.", "persons")
        capacity = await self.governance.capacity_overview(None, start, end)
        add("governance.townships.with_party_building_office",
            "townships with a party-building office", capacity.townships_with_office,
            "Townships whose party-building office was set up on or before `to`.")
        add("governance.townships.total", "townships", capacity.townships, "Townships registered.")
        for kind, label in (("institution_staff", "grassroots institution staff hired"),
                            ("community_assistant", "community assistants hired"),
                            ("grid_worker", "grid workers hired")):
            add(f"governance.hires.{kind}", label, getattr(capacity.hires, kind),
                f"Head-count of {kind} hires effective in the period, all townships.", "persons")
        add("governance.institutional_rules", "institutional rules adopted", capacity.rules,
            "Rules (county-wide and townships') effective within the period.")
        as_of = datetime.combine(end, time(23, 59, 59), LOCAL_TZ)
        compounds = await self.governance.compound_metrics(None, as_of=as_of, period_from=start,
                                                           period_to=end)
        add("governance.compounds.service_station_share", "compounds with a service station",
            compounds.coverage_rate.rate,
            "Compounds with an open Party-mass service station on `to` ÷ compounds registered "
            "by then (target ≥ 0.7).", "share")
        add("governance.compounds.with_service_station", "compounds with a service station",
            compounds.with_service_station, "Compounds with an open service station on `to`.")
        add("governance.compounds.total", "compounds", compounds.compounds,
            "Compounds registered on or before `to`.")
        add("governance.compounds.monitoring_connected", "compounds whose monitoring is connected",
            compounds.monitoring_connected,
            "Compounds whose monitoring is connected to the central platform on `to`.")

        # -- talent --------------------------------------------------------------------------
        two_years_from = date(end.year - 1, 1, 1)
        studios = await self.talent.studio_report(two_years_from, end)
        add("talent.studios.certified_two_years", "studios certified (over two years)",
            studios.total.certified,
            "Studios certified from 1 January of the year before `to`'s year through `to`.")
        add("talent.studios.funding_each", "funding per studio",
            studios.total.funding_yuan // studios.total.funded_studios
            if studios.total.funded_studios else None,
            "Funding granted over the same two years ÷ studios funded then (integer yuan).",
            "yuan")
        in_period = await self.talent.studio_report(start, end)
        add("talent.studios.certified", "studios certified in the period",
            in_period.total.certified, "Studios certified in the period.")
        visits = {k.kind: k for k in (await self.talent.visit_report(start, end)).by_kind}
        add("talent.visits.contact_experts", "contact experts visited",
            visits["contact_expert"].experts_visited,
            "Distinct contact experts visited in the period.", "persons")
        add("talent.visits.natives_elsewhere", "natives working elsewhere visited",
            visits["native_elsewhere"].experts_visited,
            "Distinct natives working elsewhere visited in the period.", "persons")
        internships = await self.talent.internship_report(start, end, None)
        add("talent.internships.positions", "internship positions", internships.total.slots,
            "Internship slots of postings published in the period.", "positions")
        think_tank = await self.talent.experts(kind="think_tank_expert", q=None, on_roster=end,
                                               limit=1, cursor=None, reveal=False)
        add("talent.think_tank_experts", "think-tank experts", think_tank.total,
            "Think-tank experts on the roster on `to` (registered by then, term not ended).",
            "persons")
        seconded = await self.talent.secondments(start=start, end=end,
                                                 expert_kind="doctoral_service_group", limit=1,
                                                 cursor=None)
        add("talent.doctoral_secondments", "doctoral secondments", seconded.total,
            "Secondments of doctoral service-group experts overlapping the period.")
        universities = await self.talent.university_report(start, end)
        add("talent.university_agreements", "university cooperation agreements",
            universities.agreements_signed, "Cooperation agreements signed in the period.")

        # -- the organisation department itself -----------------------------------------------
        async with self.engine.connect() as conn:
            into_org = dict((await conn.execute(_RECRUITED_INTO_ORG, period)).all())
        add("org_department.transferred_in", "cadres transferred into the department",
            into_org.get("transfer_in", 0),
            f"Cadres recruited by transfer_in into the unit named *{ORG_DEPARTMENT_SUFFIX} in "
            "the period.")
        add("org_department.institution_recruited", "institution staff recruited by the department",
            into_org.get("institution_hiring", 0),
            f"Institution staff hired into the unit named *{ORG_DEPARTMENT_SUFFIX} in the period.")
        return Dashboard(period_from=start, period_to=end, figures=figures)

