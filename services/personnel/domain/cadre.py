"""The Cadre aggregate (干部): recruitment or go-live registration, education, ranks, posts,
exchanges, departure and the young-cadre reserve.

A cadre's movements (promotions, appointments, conversions, exchanges) are recorded in
effective-date order and never before recruitment; a departure is the last thing recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.personal_data import SealedPersonalData
from contracts.personnel import (
    POST_LEVELS,
    CadreAppointed,
    CadreCategory,
    CadreDeparted,
    CadreEnteredReserve,
    CadreExchanged,
    CadreExitedReserve,
    CadreRecruited,
    CadreRegistered,
    EducationRecorded,
    HeldPost,
    LeaderConvertedToRank,
    RankPromoted,
    RecruitmentChannel,
    ReserveEntryReviewed,
)
from contracts.personnel_rules import PersonnelRules, RankFacts, RuleProblem, add_years, age_on
from contracts.registry import DomainEvent
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.personnel.domain.national_id import NationalId

__all__ = ["CHANNEL_CATEGORIES", "DEGREES_OF_LEVEL", "MAX_AGE_AT_RECRUITMENT",
           "MIN_AGE_AT_RECRUITMENT", "MIN_AGE_AT_WORK", "Cadre", "NewPostSpec", "age_on"]

MIN_AGE_AT_RECRUITMENT = 18
MAX_AGE_AT_RECRUITMENT = 60
MIN_AGE_AT_WORK = 16
CHANNEL_CATEGORIES: dict[str, set[str]] = {
    "exam_recruitment": {"civil_servant"},
    "institution_hiring": {"institution_staff"},
    "transfer_in": {"civil_servant", "institution_staff"},
}
DEGREES_OF_LEVEL: dict[str, set[str]] = {
    "secondary": {"none"}, "associate": {"none"}, "bachelor": {"none", "bachelor"},
    "postgraduate": {"none", "master", "doctorate"},
}


@dataclass(frozen=True)
class NewPostSpec:
    level: str
    title: str
    since: date | None = None


def _violation(problem: RuleProblem) -> DomainRuleViolation:
    return DomainRuleViolation(problem.detail, pointer=problem.pointer, code=problem.code)


class Cadre(Aggregate):
    stream_type = "cadre"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None
        self.name = ""
        self.gender = ""
        self.birth_date: date | None = None
        self.category = ""
        self.unit_id: str | None = None
        self.unit_since: date | None = None
        self.recruited_on: date | None = None
        self.joined_work_on: date | None = None
        self.rank: str | None = None
        self.rank_since: date | None = None
        self.posts: dict[str, HeldPost] = {}
        self.appointments = 0
        self.education: list[tuple[str, str, date]] = []
        self.reserve: CadreEnteredReserve | None = None
        self.reserve_entries = 0
        self.reserve_closed_on: date | None = None
        self.last_movement_on: date | None = None
        self.last_effective_on: date | None = None
        self.departure: CadreDeparted | None = None

    # -- folding events ------------------------------------------------------------------
    def apply(self, event: DomainEvent) -> None:
        match event:
            case CadreRecruited():
                self._joined(event, event.joined_work_on or event.effective_on)
                self.rank = event.rank
                self.rank_since = event.effective_on if event.rank else None
            case CadreRegistered():
                self._joined(event, event.joined_work_on)
                self.rank, self.rank_since = event.rank, event.rank_since
                self.posts = {p.post_id: p for p in event.posts}
                self.appointments = len(event.posts)
            case EducationRecorded():
                self.education.append((event.degree, event.kind, event.completed_on))
            case RankPromoted():
                self.rank, self.rank_since = event.to_rank, event.effective_on
            case CadreAppointed():
                for post in event.relieved_posts:
                    self.posts.pop(post.post_id, None)
                self.posts[event.post.post_id] = event.post
                self.appointments += 1
            case LeaderConvertedToRank():
                self.posts = {}
                if event.to_rank != self.rank:
                    self.rank, self.rank_since = event.to_rank, event.effective_on
            case CadreExchanged():
                self.unit_id, self.unit_since = event.to_unit_id, event.effective_on
                self.posts = {event.post.post_id: event.post} if event.post else {}
                self.appointments += 1 if event.post else 0
            case CadreDeparted():
                self.status, self.departure, self.posts = "departed", event, {}
            case CadreEnteredReserve():
                self.reserve = event
                self.reserve_entries += 1
            case CadreExitedReserve():
                self.reserve, self.reserve_closed_on = None, event.effective_on
        effective_on = getattr(event, "effective_on", None)
        if isinstance(event, CadreRegistered):
            # what a go-live cadre already holds dates their latest movement
            effective_on = max([event.effective_on, *([event.rank_since] if event.rank_since else []),
                                *(p.since for p in event.posts)])
        if effective_on is not None:
            self.last_effective_on = max(self.last_effective_on or effective_on, effective_on)
            if isinstance(event, RankPromoted | CadreAppointed | LeaderConvertedToRank
                          | CadreExchanged | CadreRecruited | CadreRegistered):
                self.last_movement_on = max(self.last_movement_on or effective_on, effective_on)

    def _joined(self, event: CadreRecruited | CadreRegistered, joined_work_on: date) -> None:
        self.status = "active"
        self.name, self.gender, self.birth_date = event.name, event.gender, event.birth_date
        self.category, self.unit_id = event.category, event.unit_id
        self.unit_since = self.recruited_on = event.effective_on
        self.joined_work_on = joined_work_on

    # -- checks shared by the commands ---------------------------------------------------
    def _active(self) -> None:
        if self.status == "departed" and self.departure is not None:
            raise Conflict(f"cadre {self.name} departed on {self.departure.effective_on} "
                           f"({self.departure.kind}); nothing more can be recorded for them")

    @staticmethod
    def _not_too_far_ahead(effective_on: date, today: date, pointer: str = "#/effective_on") -> None:
        if effective_on > add_years(today, 1):
            raise DomainRuleViolation(f"{effective_on} is more than a year in the future",
                                      pointer=pointer, code="date_range")

    def _dated(self, effective_on: date, today: date, *, movement: bool = False) -> None:
        self._active()
        self._not_too_far_ahead(effective_on, today)
        if self.recruited_on and effective_on < self.recruited_on:
            raise DomainRuleViolation(
                f"{effective_on} precedes the cadre's recruitment ({self.recruited_on})",
                pointer="#/effective_on", code="before_recruitment")
        if movement and self.last_movement_on and effective_on < self.last_movement_on:
            raise DomainRuleViolation(
                f"the cadre's record already has a change effective {self.last_movement_on}; "
                f"changes are recorded in date order", pointer="#/effective_on", code="date_order")

    def facts(self, on: date) -> RankFacts:
        assert self.joined_work_on and self.recruited_on
        return RankFacts(
            category=self.category, rank=self.rank, rank_since=self.rank_since,
            posts=tuple((p.level, p.since) for p in self.posts.values()),
            joined_work_on=self.joined_work_on, recruited_on=self.recruited_on,
            degrees=tuple((d, k) for d, k, done in self.education if done <= on))

    def _new_post(self, spec: NewPostSpec, since: date, offset: int = 1) -> HeldPost:
        return HeldPost(post_id=f"P{self.appointments + offset}", level=spec.level,  # type: ignore[arg-type]
                        title=spec.title, since=spec.since or since)

    @staticmethod
    def _check_identity(national_id: NationalId, birth_date: date, gender: str) -> None:
        if national_id.birth_date != birth_date:
            raise DomainRuleViolation(
                f"birth_date {birth_date} does not match the national ID "
                f"({national_id.birth_date})", pointer="#/birth_date", code="id_mismatch")
        if national_id.gender != gender:
            raise DomainRuleViolation(
                f"gender {gender} does not match the national ID ({national_id.gender})",
                pointer="#/gender", code="id_mismatch")

    @staticmethod
    def _check_work_start(birth_date: date, joined_work_on: date, effective_on: date) -> None:
        if joined_work_on > effective_on:
            raise DomainRuleViolation("joined_work_on cannot be after effective_on",
                                      pointer="#/joined_work_on", code="date_order")
        if age_on(birth_date, joined_work_on) < MIN_AGE_AT_WORK:
            raise DomainRuleViolation(f"the cadre would have started work before the age of "
                                      f"{MIN_AGE_AT_WORK}", pointer="#/joined_work_on",
                                      code="age_range")

    @staticmethod
    def _check_rank_category(category: str, rank: str | None) -> None:
        if rank and category != "civil_servant":
            raise DomainRuleViolation("only civil servants hold a rank of the ladder",
                                      pointer="#/rank", code="rank_category")

    # -- commands ------------------------------------------------------------------------
    def recruit(
        self, *, name: str, gender: str, birth_date: date, national_id: NationalId,
        sealed_id: SealedPersonalData, category: CadreCategory, unit_id: str,
        channel: RecruitmentChannel, effective_on: date, today: date, rank: str | None = None,
        joined_work_on: date | None = None,
    ) -> None:
        if self.exists:
            raise Conflict(f"a cadre with this national ID is already registered ({self.id})")
        self._check_identity(national_id, birth_date, gender)
        if category not in CHANNEL_CATEGORIES[channel]:
            raise DomainRuleViolation(
                f"channel {channel} does not recruit {category}", pointer="#/channel",
                code="channel_category")
        self._not_too_far_ahead(effective_on, today)
        age = age_on(birth_date, effective_on)
        if not MIN_AGE_AT_RECRUITMENT <= age <= MAX_AGE_AT_RECRUITMENT:
            raise DomainRuleViolation(
                f"age at effective_on would be {age}; must be between "
                f"{MIN_AGE_AT_RECRUITMENT} and {MAX_AGE_AT_RECRUITMENT}",
                pointer="#/effective_on", code="age_range")
        self._check_rank_category(category, rank)
        if joined_work_on is not None:
            self._check_work_start(birth_date, joined_work_on, effective_on)
        self._record(CadreRecruited(
            cadre_id=self.id, name=name, gender=gender, birth_date=birth_date,
            national_id=sealed_id, category=category, unit_id=unit_id, channel=channel,
            effective_on=effective_on, rank=rank,
            joined_work_on=joined_work_on if joined_work_on != effective_on else None))

    def register_existing(
        self, *, name: str, gender: str, birth_date: date, national_id: NationalId,
        sealed_id: SealedPersonalData, category: CadreCategory, unit_id: str, effective_on: date,
        joined_work_on: date, rank: str | None, rank_since: date | None,
        posts: list[NewPostSpec], today: date,
    ) -> None:
        """Go-live: a cadre already in service, with current rank, posts and dates."""
        if self.exists:
            raise Conflict(f"a cadre with this national ID is already registered ({self.id})")
        self._check_identity(national_id, birth_date, gender)
        if effective_on > today:
            raise DomainRuleViolation("a cadre in service joined their unit before today",
                                      pointer="#/effective_on", code="date_range")
        if age_on(birth_date, effective_on) < MIN_AGE_AT_RECRUITMENT:
            raise DomainRuleViolation(f"the cadre was under {MIN_AGE_AT_RECRUITMENT} on joining",
                                      pointer="#/effective_on", code="age_range")
        self._check_work_start(birth_date, joined_work_on, effective_on)
        self._check_rank_category(category, rank)
        if rank_since and not rank:
            raise DomainRuleViolation("rank_since without a rank", pointer="#/rank_since",
                                      code="rank_category")
        if rank_since and not joined_work_on <= rank_since <= today:
            raise DomainRuleViolation("rank_since must fall between joined_work_on and today",
                                      pointer="#/rank_since", code="date_order")
        held = []
        for i, spec in enumerate(posts):
            assert spec.since is not None
            if not effective_on <= spec.since <= today:
                raise DomainRuleViolation(
                    "a post's since must fall between effective_on (joining the unit) and today",
                    pointer=f"#/posts/{i}/since", code="date_order")
            held.append(self._new_post(spec, spec.since, offset=i + 1))
        self._record(CadreRegistered(
            cadre_id=self.id, name=name, gender=gender, birth_date=birth_date,
            national_id=sealed_id, category=category, unit_id=unit_id, effective_on=effective_on,
            joined_work_on=joined_work_on, rank=rank,
            rank_since=(rank_since or effective_on) if rank else None, posts=held))

    def record_education(self, *, kind: str, level: str, degree: str, school: str,
                         major: str | None, completed_on: date, today: date) -> None:
        self._active()
        if completed_on > today:
            raise DomainRuleViolation("completed_on is in the future", pointer="#/completed_on",
                                      code="date_range")
        assert self.birth_date
        if age_on(self.birth_date, completed_on) < 14:
            raise DomainRuleViolation("completed_on is before the cadre's 14th birthday",
                                      pointer="#/completed_on", code="age_range")
        if degree not in DEGREES_OF_LEVEL[level]:
            raise DomainRuleViolation(
                f"a {level} education does not award a {degree} degree "
                f"(one of {sorted(DEGREES_OF_LEVEL[level])})", pointer="#/degree",
                code="degree_level")
        self._record(EducationRecorded(cadre_id=self.id, kind=kind, level=level, degree=degree,
                                       school=school, major=major, completed_on=completed_on))

    def promote(self, *, target_rank: str, basis: str, effective_on: date,
                document_number: str | None, rules: PersonnelRules, today: date) -> None:
        self._dated(effective_on, today, movement=True)
        problem = rules.promotion_problem(self.facts(effective_on), target_rank, basis, effective_on)
        if problem:
            raise _violation(problem)
        assert self.unit_id
        self._record(RankPromoted(
            cadre_id=self.id, unit_id=self.unit_id, from_rank=self.rank, to_rank=target_rank,
            basis=basis, effective_on=effective_on, document_number=document_number))

    def appoint(self, *, level: str, title: str, effective_on: date, concurrent: bool,
                document_number: str | None, today: date) -> tuple[HeldPost, list[HeldPost]]:
        """Returns the new post and the posts relieved by the appointment."""
        self._dated(effective_on, today, movement=True)
        if any(p.level == level and p.title == title for p in self.posts.values()):
            raise Conflict(f"the cadre already holds the post {title} ({level})")
        relieved = [] if concurrent else list(self.posts.values())
        post = self._new_post(NewPostSpec(level, title), effective_on)
        assert self.unit_id
        self._record(CadreAppointed(cadre_id=self.id, unit_id=self.unit_id, post=post,
                                    relieved_posts=relieved, effective_on=effective_on,
                                    document_number=document_number))
        return post, relieved

    def convert_to_rank(self, *, target_rank: str, reason: str, effective_on: date,
                        document_number: str | None, rules: PersonnelRules,
                        today: date) -> list[HeldPost]:
        """Returns the posts freed."""
        self._dated(effective_on, today, movement=True)
        problem = rules.conversion_problem(self.facts(effective_on), target_rank)
        if problem:
            raise _violation(problem)
        freed = list(self.posts.values())
        assert self.unit_id
        self._record(LeaderConvertedToRank(
            cadre_id=self.id, unit_id=self.unit_id, freed_posts=freed, from_rank=self.rank,
            to_rank=target_rank, reason=reason, effective_on=effective_on,
            document_number=document_number))
        return freed

    def exchange(self, *, to_unit_id: str, kind: str, effective_on: date,
                 post: NewPostSpec | None, document_number: str | None,
                 today: date) -> tuple[list[HeldPost], HeldPost | None]:
        """Returns the posts freed in the old unit and the post taken in the new one."""
        self._dated(effective_on, today, movement=True)
        if to_unit_id == self.unit_id:
            raise DomainRuleViolation("the cadre is already in this unit", pointer="#/to_unit_id",
                                      code="same_unit")
        freed = list(self.posts.values())
        new_post = self._new_post(post, effective_on) if post else None
        assert self.unit_id
        self._record(CadreExchanged(
            cadre_id=self.id, from_unit_id=self.unit_id, to_unit_id=to_unit_id, kind=kind,
            freed_posts=freed, post=new_post, effective_on=effective_on,
            document_number=document_number))
        return freed, new_post

    def depart(self, *, kind: str, effective_on: date, document_number: str | None,
               today: date) -> tuple[str, list[HeldPost]]:
        """Returns the unit left and the posts freed; an open reserve entry is closed."""
        self._dated(effective_on, today)
        if self.last_effective_on and effective_on < self.last_effective_on:
            raise DomainRuleViolation(
                f"the cadre's record has a change effective {self.last_effective_on}; a departure "
                f"cannot precede it", pointer="#/effective_on", code="date_order")
        assert self.unit_id
        unit_id, freed = self.unit_id, list(self.posts.values())
        reserve = self.reserve
        self._record(CadreDeparted(cadre_id=self.id, kind=kind, unit_id=unit_id,
                                   freed_posts=freed, effective_on=effective_on,
                                   document_number=document_number))
        if reserve is not None:
            self._record(CadreExitedReserve(cadre_id=self.id, entry_id=reserve.entry_id,
                                            level=reserve.level, reason="left",
                                            effective_on=effective_on))
        return unit_id, freed

    # -- the young-cadre reserve ---------------------------------------------------------
    def enter_reserve(self, *, level: str, effective_on: date, source: str | None,
                      rules: PersonnelRules, today: date) -> str:
        """Returns the new entry's id."""
        self._dated(effective_on, today)
        if self.reserve is not None:
            raise DomainRuleViolation(
                f"the cadre already has an active reserve entry ({self.reserve.entry_id}, "
                f"{self.reserve.level})", pointer="#/cadre_id", code="already_in_reserve")
        if self.reserve_closed_on and effective_on < self.reserve_closed_on:
            raise DomainRuleViolation(
                f"the cadre's previous reserve entry was open until {self.reserve_closed_on}; "
                "entries cannot overlap", pointer="#/effective_on", code="date_order")
        assert self.birth_date
        age, limit = age_on(self.birth_date, effective_on), rules.reserve_max_age[level]  # type: ignore[index]
        if age > limit:
            raise DomainRuleViolation(
                f"the {level} reserve takes cadres aged {limit} or under at entry; the cadre is "
                f"{age} on {effective_on}", pointer="#/level", code="over_age")
        held = [p.level for p in self.posts.values()]
        if any(POST_LEVELS.index(lv) >= POST_LEVELS.index(level) for lv in held):
            raise DomainRuleViolation(
                f"the cadre already holds a post at or above {level}", pointer="#/level",
                code="already_at_level")
        entry_id = f"{self.id}.{self.reserve_entries + 1}"
        self._record(CadreEnteredReserve(cadre_id=self.id, entry_id=entry_id, level=level,
                                         source=source, effective_on=effective_on))
        return entry_id

    def _open_entry(self, entry_id: str, effective_on: date, today: date) -> CadreEnteredReserve:
        self._active()
        if self.reserve is None or self.reserve.entry_id != entry_id:
            number = entry_id.rsplit(".", 1)[-1]
            if number.isdigit() and 1 <= int(number) <= self.reserve_entries:
                raise Conflict(f"reserve entry {entry_id} is closed")
            raise NotFound(f"reserve entry {entry_id} does not exist")
        self._dated(effective_on, today)
        if effective_on < self.reserve.effective_on:
            raise DomainRuleViolation(
                f"{effective_on} precedes the entry into the reserve ({self.reserve.effective_on})",
                pointer="#/effective_on", code="date_order")
        return self.reserve

    def review_reserve(self, *, entry_id: str, rating: str, comment: str | None,
                       effective_on: date, today: date) -> None:
        self._open_entry(entry_id, effective_on, today)
        self._record(ReserveEntryReviewed(cadre_id=self.id, entry_id=entry_id, rating=rating,
                                          comment=comment, effective_on=effective_on))

    def exit_reserve(self, *, entry_id: str, reason: str, effective_on: date, today: date) -> None:
        entry = self._open_entry(entry_id, effective_on, today)
        self._record(CadreExitedReserve(cadre_id=self.id, entry_id=entry_id, level=entry.level,
                                        reason=reason, effective_on=effective_on))
