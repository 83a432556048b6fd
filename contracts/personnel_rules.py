"""Personnel rules both the personnel service (deciding commands) and the gateway (eligibility,
exchange and retirement lists) apply, with their defaults.

Rules REFERENCE.md marks [V] (the 2019 rank ladder) are defaults that follow the regulation;
rules marked local or unverified ([S]/[D]) are defaults to confirm with the client. All are
settings: ``ZUGONG_PERSONNEL__<FIELD>`` (JSON for the tables), see ``Settings.personnel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from contracts.personnel import POST_LEVELS, RANK_NAMES, RANKS, Degree, PostLevel, Rank, ReserveLevel

__all__ = ["DEFAULT_LADDER", "LadderStep", "PersonnelRules", "RankFacts", "RuleProblem",
           "add_years", "age_on", "full_years"]


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def full_years(since: date, on: date) -> int:
    """Full years from the month of ``since`` to ``on``: 12 months are one year, days ignored."""
    return max(0, ((on.year - since.year) * 12 + on.month - since.month) // 12)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class LadderStep(BaseModel):
    """How a rank is reached: from one of ``from_ranks`` or while holding a post of one of
    ``from_posts``, after at least ``min_years`` in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_ranks: list[Rank] = Field(description="Ranks it is reached from.")
    from_posts: list[PostLevel] = Field(default_factory=list,
                                        description="Post levels it is reached from.")
    min_years: int = Field(ge=0, description="Minimum full years in the rank or post.")


def _step(ranks: list[str], min_years: int, posts: list[str] | None = None) -> LadderStep:
    return LadderStep(from_ranks=ranks, from_posts=posts or [], min_years=min_years)


DEFAULT_LADDER: dict[str, LadderStep] = {
    # 《公务员职务与职级并行规定》 Art. 18 (综合管理类) [V]
    "clerk_1": _step(["clerk_2"], 2),
    "principal_staff_4": _step(["clerk_1"], 2),
    "principal_staff_3": _step(["principal_staff_4"], 2, ["deputy_section_chief"]),
    "principal_staff_2": _step(["principal_staff_3"], 2),
    "principal_staff_1": _step(["principal_staff_2"], 2, ["section_chief"]),
    "researcher_4": _step(["principal_staff_1"], 2),
    "researcher_3": _step(["researcher_4"], 2, ["deputy_division_chief"]),
    "researcher_2": _step(["researcher_3"], 2),
    "researcher_1": _step(["researcher_2"], 3, ["division_chief"]),
    "inspector_2": _step(["researcher_1"], 4),
    "inspector_1": _step(["inspector_2"], 4),
}


@dataclass(frozen=True)
class RuleProblem:
    """Why a rule refuses: a stable code, the field it concerns and a sentence."""

    code: str
    pointer: str
    detail: str


@dataclass(frozen=True)
class RankFacts:
    """What the rank rules need to know about a cadre on a given day."""

    category: str
    rank: str | None
    rank_since: date | None
    posts: tuple[tuple[str, date], ...]
    """(level, since) of each leadership post held."""
    joined_work_on: date
    recruited_on: date
    degrees: tuple[tuple[str, str], ...] = field(default=())
    """(degree, kind) of each recorded education."""


def _name(rank: str | None) -> str:
    return f"{RANK_NAMES[rank]} ({rank})" if rank else "no rank"


class PersonnelRules(BaseModel):
    """The personnel rule table. Defaults: REFERENCE.md part (a)."""

    model_config = ConfigDict(extra="forbid")

    ladder: dict[Rank, LadderStep] = Field(
        default_factory=lambda: dict(DEFAULT_LADDER),
        description="The 2019 rank ladder [V]: per target rank, where it is reached from and the "
        "minimum full years there.")
    initial_rank: Rank = Field(
        "clerk_1", description="Rank of a civil servant recruited without a stated rank [D].")
    years_of_service_basis_min_years: int = Field(
        5, ge=0, description="Basis `years_of_service`: full years since starting work, on top of "
        "the ladder's minimum in the rank (local reading of the article) [D].")
    graduate_degree_ranks: dict[Degree, Rank] = Field(
        default_factory=lambda: {"master": "principal_staff_4", "doctorate": "principal_staff_2"},
        description="Basis `graduate_degree`: the highest rank a degree leads to (硕士 → 四级主任科员, "
        "博士 → 二级主任科员) [D].")
    graduate_degree_full_time_only: bool = Field(
        False, description="Basis `graduate_degree` counts only full-time degrees [D].")
    graduate_degree_min_years: int = Field(
        1, ge=0, description="Basis `graduate_degree`: full years since recruitment (probation) [D].")
    enforce_rank_quotas: bool = Field(
        True, description="Refuse a promotion, conversion or exchange that exceeds the unit's quota "
        "for the rank, where the unit has one [D].")
    conversion_ranks: dict[PostLevel, list[Rank]] = Field(
        default_factory=lambda: {
            "section_chief": ["principal_staff_2", "principal_staff_1"],
            "deputy_section_chief": ["principal_staff_4", "principal_staff_3"],
            "division_chief": ["researcher_2", "researcher_1"],
            "deputy_division_chief": ["researcher_4", "researcher_3"]},
        description="Ranks a leader of each post level may be converted to "
        "(一/二级主任科员 ≈ 正科, 三/四级主任科员 ≈ 副科, …) [S/D].")
    reserve_max_age: dict[ReserveLevel, int] = Field(
        default_factory=lambda: {"section_chief": 40, "deputy_section_chief": 35},
        description="Oldest age at entry into the young-cadre reserve, per level [D].")
    exchange_candidate_years: int = Field(
        5, ge=1, description="Full years in the same unit that make a cadre an exchange candidate "
        "(local stricter variant of the 10-year rule) [S].")
    retirement_ages: dict[str, int] = Field(
        default_factory=lambda: {"male": 60, "female": 55},
        description="Retirement age per gender (before the 2025 gradual reform) [D].")

    def rank_index(self, rank: str | None) -> int:
        return -1 if rank is None else RANKS.index(rank)

    def retirement_date(self, birth_date: date, gender: str) -> date:
        return add_years(birth_date, self.retirement_ages[gender])

    def promotion_problem(self, facts: RankFacts, target: str, basis: str,
                          on: date) -> RuleProblem | None:
        """Why ``facts`` do not allow a promotion to ``target`` on ``on`` by ``basis``; None if
        they do. Eligibility never promotes: it only lists candidates."""
        if facts.category != "civil_servant":
            return RuleProblem("category", "#/target_rank",
                               "ranks of the ladder apply to civil servants only")
        if self.rank_index(target) <= self.rank_index(facts.rank):
            return RuleProblem("rank_step", "#/target_rank",
                               f"{_name(target)} is not above the current rank, {_name(facts.rank)}")
        if basis == "graduate_degree":
            return self._degree_problem(facts, target, on)
        step = self.ladder.get(target)  # type: ignore[call-overload]
        sources: list[tuple[str, date]] = []
        if step is not None:
            if facts.rank in step.from_ranks and facts.rank_since is not None:
                sources.append((_name(facts.rank), facts.rank_since))
            sources += [(f"a {level} post", since) for level, since in facts.posts
                        if level in step.from_posts]
        if step is None or not sources:
            return RuleProblem("rank_step", "#/target_rank",
                               f"the ladder does not lead to {_name(target)} from {_name(facts.rank)}"
                               + (" or the posts held" if facts.posts else ""))
        best, since = max(sources, key=lambda s: full_years(s[1], on))
        years = full_years(since, on)
        if years < step.min_years:
            return RuleProblem("min_years", "#/effective_on",
                               f"{_name(target)} needs {step.min_years} full years in {best}; "
                               f"{years} on {on}")
        if basis == "years_of_service":
            service = full_years(facts.joined_work_on, on)
            if service < self.years_of_service_basis_min_years:
                return RuleProblem("min_service", "#/basis",
                                   f"basis years_of_service needs {self.years_of_service_basis_min_years}"
                                   f" full years of service; {service} on {on}")
        return None

    def _degree_problem(self, facts: RankFacts, target: str, on: date) -> RuleProblem | None:
        granted = [self.graduate_degree_ranks[d] for d, kind in facts.degrees
                   if d in self.graduate_degree_ranks
                   and (kind == "full_time" or not self.graduate_degree_full_time_only)]
        if not granted:
            return RuleProblem("no_graduate_degree", "#/basis",
                               "basis graduate_degree needs a recorded master's or doctoral degree")
        top = max(granted, key=self.rank_index)
        if self.rank_index(target) > self.rank_index(top):
            return RuleProblem("rank_step", "#/target_rank",
                               f"the degree leads at most to {_name(top)}, not {_name(target)}")
        years = full_years(facts.recruited_on, on)
        if years < self.graduate_degree_min_years:
            return RuleProblem("min_years", "#/effective_on",
                               f"basis graduate_degree needs {self.graduate_degree_min_years} full "
                               f"years since recruitment; {years} on {on}")
        return None

    def conversion_problem(self, facts: RankFacts, target: str) -> RuleProblem | None:
        if facts.category != "civil_servant":
            return RuleProblem("category", "#/target_rank",
                               "conversion to a rank applies to civil servants only")
        if not facts.posts:
            return RuleProblem("not_a_leader", "#/", "the cadre holds no leadership post")
        level = max((lv for lv, _ in facts.posts), key=POST_LEVELS.index)
        allowed = self.conversion_ranks.get(level, [])  # type: ignore[call-overload]
        if target not in allowed:
            return RuleProblem("rank_step", "#/target_rank",
                               f"a {level} leader converts to one of {allowed}, not {target}")
        if self.rank_index(target) < self.rank_index(facts.rank):
            return RuleProblem("rank_step", "#/target_rank",
                               f"{_name(target)} is below the current rank, {_name(facts.rank)}")
        return None
