"""Personnel command handlers: load, decide, append. Dependencies come in as arguments."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from contracts import registry
from contracts.api.personnel import (
    AdjustEstablishment,
    AppointToPost,
    ApproveLeadershipPosts,
    ApproveRankQuotas,
    ConvertPostToRank,
    Depart,
    EnterReserve,
    Exchange,
    ExitReserve,
    PromoteRank,
    RecordEducation,
    RecruitCadre,
    RegisterUnit,
    ReviewReserveEntry,
)
from contracts.personnel import Establishment
from contracts.personnel_rules import PersonnelRules
from services.kernel.aggregate import Aggregate, Repository
from services.kernel.commands import CommandOutcome, Decision, execute_command
from services.kernel.errors import DomainRuleViolation, NotFound
from services.kernel.eventstore import CommandMetadata, EventStore
from services.kernel.ids import random_uuid
from services.kernel.personal_data import PersonalDataVault
from services.personnel.domain.cadre import Cadre, NewPostSpec
from services.personnel.domain.national_id import NationalId
from services.personnel.domain.unit import Unit

__all__ = [
    "PersonnelDeps",
    "adjust_establishment",
    "appoint",
    "approve_leadership_posts",
    "approve_rank_quotas",
    "convert_post_to_rank",
    "depart",
    "enter_reserve",
    "exchange",
    "exit_reserve",
    "promote_rank",
    "record_education",
    "recruit_cadre",
    "register_unit",
    "review_reserve_entry",
]

_CADRE_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f59-9a57-0d7b8e3c2a10")


@dataclass
class PersonnelDeps:
    store: EventStore
    vault: PersonalDataVault
    today: Callable[[], date]
    rules: PersonnelRules = field(default_factory=PersonnelRules)

    def __post_init__(self) -> None:
        self.units = Repository(self.store, Unit, registry)
        self.cadres = Repository(self.store, Cadre, registry)

    def cadre_id_for(self, national_id: NationalId) -> str:
        """Deterministic id from the keyed digest: one cadre per person, no ID in the clear."""
        return str(uuid.uuid5(_CADRE_NAMESPACE, self.vault.digest(national_id.value)))


async def register_unit(cmd: RegisterUnit, meta: CommandMetadata, deps: PersonnelDeps,
                        ) -> CommandOutcome:
    unit_id = random_uuid()

    async def decide() -> Decision:
        unit = deps.units.new(unit_id)
        unit.register(cmd.name, cmd.kind, cmd.establishment, cmd.effective_on)
        return Decision([unit], unit)

    return await execute_command(deps.store, decide, meta)


async def _unit_command(unit_id: str, meta: CommandMetadata, deps: PersonnelDeps,
                        act: Callable[[Unit], None], if_match: int | None) -> CommandOutcome:
    async def decide() -> Decision:
        unit = await deps.units.get(unit_id)
        act(unit)
        return Decision([unit], unit)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def adjust_establishment(unit_id: str, cmd: AdjustEstablishment, meta: CommandMetadata,
                               deps: PersonnelDeps, *, if_match: int | None) -> CommandOutcome:
    return await _unit_command(unit_id, meta, deps, lambda unit: unit.adjust_establishment(
        Establishment(administrative=cmd.administrative, institution=cmd.institution),
        cmd.effective_on or deps.today(), cmd.document_number), if_match)


async def approve_leadership_posts(unit_id: str, cmd: ApproveLeadershipPosts,
                                   meta: CommandMetadata, deps: PersonnelDeps, *,
                                   if_match: int | None) -> CommandOutcome:
    return await _unit_command(unit_id, meta, deps, lambda unit: unit.approve_posts(
        dict(cmd.approved), cmd.effective_on or deps.today(), cmd.document_number), if_match)


async def approve_rank_quotas(unit_id: str, cmd: ApproveRankQuotas, meta: CommandMetadata,
                              deps: PersonnelDeps, *, if_match: int | None) -> CommandOutcome:
    return await _unit_command(unit_id, meta, deps, lambda unit: unit.approve_rank_quotas(
        dict(cmd.quotas), cmd.effective_on or deps.today(), cmd.document_number), if_match)


def _parse_national_id(raw: str) -> NationalId:
    try:
        return NationalId.parse(raw)
    except ValueError as error:
        raise DomainRuleViolation(f"national_id: {error}", pointer="#/national_id",
                                  code="national_id") from None


async def _existing_unit(deps: PersonnelDeps, unit_id: str, pointer: str) -> Unit:
    unit = await deps.units.load(unit_id)
    if not unit.exists:
        raise DomainRuleViolation(f"unit {unit_id} does not exist", pointer=pointer,
                                  code="unknown_unit")
    return unit


async def recruit_cadre(cmd: RecruitCadre, meta: CommandMetadata, deps: PersonnelDeps,
                        ) -> CommandOutcome:
    national_id = _parse_national_id(cmd.national_id)
    go_live = cmd.channel == "go_live"
    if not go_live:
        for name in ("rank_since", "posts"):
            if getattr(cmd, name):
                raise DomainRuleViolation(f"{name} is only for channel go_live (a cadre already "
                                          "in service)", pointer=f"#/{name}", code="go_live_only")
    elif cmd.category == "civil_servant" and cmd.rank is None:
        raise DomainRuleViolation("a civil servant registered at go-live needs their current rank",
                                  pointer="#/rank", code="rank_required")
    rank = cmd.rank
    if rank is None and cmd.category == "civil_servant":
        rank = deps.rules.initial_rank
    cadre_id = deps.cadre_id_for(national_id)
    sealed = deps.vault.seal("national_id", national_id.value)
    today = deps.today()

    async def decide() -> Decision:
        unit = await _existing_unit(deps, cmd.unit_id, "#/unit_id")
        cadre = await deps.cadres.load(cadre_id)
        identity = dict(name=cmd.name, gender=cmd.gender, birth_date=cmd.birth_date,
                        national_id=national_id, sealed_id=sealed, category=cmd.category,
                        unit_id=unit.id, effective_on=cmd.effective_on, today=today)
        if go_live:
            cadre.register_existing(
                **identity, joined_work_on=cmd.joined_work_on or cmd.effective_on, rank=rank,
                rank_since=cmd.rank_since,
                posts=[NewPostSpec(p.level, p.title, p.since) for p in cmd.posts])
        else:
            cadre.recruit(**identity, channel=cmd.channel,  # type: ignore[arg-type]
                          rank=rank, joined_work_on=cmd.joined_work_on)
        unit.occupy_slot(cadre.id, cmd.category, cmd.effective_on, rank=rank,
                         enforce_rank_quota=deps.rules.enforce_rank_quotas)
        for i, post in enumerate(cadre.posts.values()):
            unit.fill_post(cadre.id, post, post.since, pointer=f"#/posts/{i}/level")
        return Decision([cadre, unit], cadre)

    return await execute_command(deps.store, decide, meta)


async def _cadre_command(cadre_id: str, meta: CommandMetadata, deps: PersonnelDeps,
                         act: Callable[[Cadre], Awaitable[list[Aggregate]]],
                         if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        cadre = await deps.cadres.get(cadre_id)
        others = await act(cadre)
        return Decision([cadre, *others], cadre)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def record_education(cadre_id: str, cmd: RecordEducation, meta: CommandMetadata,
                           deps: PersonnelDeps, *, if_match: int | None = None) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        cadre.record_education(kind=cmd.kind, level=cmd.level, degree=cmd.degree,
                               school=cmd.school, major=cmd.major, completed_on=cmd.completed_on,
                               today=deps.today())
        return []

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def promote_rank(cadre_id: str, cmd: PromoteRank, meta: CommandMetadata,
                       deps: PersonnelDeps, *, if_match: int | None = None) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        cadre.promote(target_rank=cmd.target_rank, basis=cmd.basis, effective_on=cmd.effective_on,
                      document_number=cmd.document_number, rules=deps.rules, today=deps.today())
        unit = await deps.units.get(cadre.unit_id or "")
        unit.take_rank(cadre.id, cmd.target_rank, cmd.effective_on,
                       enforce=deps.rules.enforce_rank_quotas)
        return [unit]

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def appoint(cadre_id: str, cmd: AppointToPost, meta: CommandMetadata, deps: PersonnelDeps,
                  *, if_match: int | None = None) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        post, relieved = cadre.appoint(level=cmd.level, title=cmd.title,
                                       effective_on=cmd.effective_on, concurrent=cmd.concurrent,
                                       document_number=cmd.document_number, today=deps.today())
        unit = await deps.units.get(cadre.unit_id or "")
        for old in relieved:
            unit.free_post(cadre.id, old, "reappointment", cmd.effective_on)
        unit.fill_post(cadre.id, post, cmd.effective_on)
        return [unit]

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def convert_post_to_rank(cadre_id: str, cmd: ConvertPostToRank, meta: CommandMetadata,
                               deps: PersonnelDeps, *, if_match: int | None = None,
                               ) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        previous_rank = cadre.rank
        freed = cadre.convert_to_rank(
            target_rank=cmd.target_rank, reason=cmd.reason, effective_on=cmd.effective_on,
            document_number=cmd.document_number, rules=deps.rules, today=deps.today())
        unit = await deps.units.get(cadre.unit_id or "")
        for post in freed:
            unit.free_post(cadre.id, post, "conversion", cmd.effective_on)
        if cmd.target_rank != previous_rank:
            unit.take_rank(cadre.id, cmd.target_rank, cmd.effective_on,
                           enforce=deps.rules.enforce_rank_quotas)
        return [unit]

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def exchange(cadre_id: str, cmd: Exchange, meta: CommandMetadata, deps: PersonnelDeps,
                   *, if_match: int | None = None) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        old_unit = await deps.units.get(cadre.unit_id or "")
        new_unit = await _existing_unit(deps, cmd.to_unit_id, "#/to_unit_id")
        spec = NewPostSpec(cmd.post.level, cmd.post.title) if cmd.post else None
        freed, post = cadre.exchange(to_unit_id=new_unit.id, kind=cmd.kind,
                                     effective_on=cmd.effective_on, post=spec,
                                     document_number=cmd.document_number, today=deps.today())
        for old in freed:
            old_unit.free_post(cadre.id, old, "exchange", cmd.effective_on)
        old_unit.release_slot(cadre.id, "exchange", cmd.effective_on)
        new_unit.occupy_slot(cadre.id, cadre.category, cmd.effective_on,  # type: ignore[arg-type]
                             rank=cadre.rank, enforce_rank_quota=deps.rules.enforce_rank_quotas,
                             pointer="#/to_unit_id", rank_pointer="#/to_unit_id")
        if post is not None:
            new_unit.fill_post(cadre.id, post, cmd.effective_on, pointer="#/post/level")
        return [old_unit, new_unit]

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def depart(cadre_id: str, cmd: Depart, meta: CommandMetadata, deps: PersonnelDeps,
                 *, if_match: int | None = None) -> CommandOutcome:
    async def act(cadre: Cadre) -> list[Aggregate]:
        unit_id, freed = cadre.depart(kind=cmd.kind, effective_on=cmd.effective_on,
                                      document_number=cmd.document_number, today=deps.today())
        unit = await deps.units.get(unit_id)
        for post in freed:
            unit.free_post(cadre.id, post, "departure", cmd.effective_on)
        unit.release_slot(cadre.id, "departure", cmd.effective_on)
        return [unit]

    return await _cadre_command(cadre_id, meta, deps, act, if_match)


async def enter_reserve(cmd: EnterReserve, meta: CommandMetadata, deps: PersonnelDeps,
                        ) -> CommandOutcome:
    async def decide() -> Decision:
        cadre = await deps.cadres.load(cmd.cadre_id)
        if not cadre.exists:
            raise DomainRuleViolation(f"cadre {cmd.cadre_id} does not exist",
                                      pointer="#/cadre_id", code="unknown_cadre")
        entry_id = cadre.enter_reserve(level=cmd.level, effective_on=cmd.effective_on,
                                       source=cmd.source, rules=deps.rules, today=deps.today())
        return Decision([cadre], cadre, result_id=entry_id)

    return await execute_command(deps.store, decide, meta)


def _cadre_of_entry(entry_id: str) -> str:
    cadre_id, _, number = entry_id.rpartition(".")
    if not cadre_id or not number.isdigit():
        raise NotFound(f"reserve entry {entry_id} does not exist")
    return cadre_id


async def _entry_command(entry_id: str, meta: CommandMetadata, deps: PersonnelDeps,
                         act: Callable[[Cadre], None]) -> CommandOutcome:
    cadre_id = _cadre_of_entry(entry_id)

    async def decide() -> Decision:
        cadre = await deps.cadres.load(cadre_id)
        if not cadre.exists:
            raise NotFound(f"reserve entry {entry_id} does not exist")
        act(cadre)
        return Decision([cadre], cadre, result_id=entry_id)

    return await execute_command(deps.store, decide, meta)


async def review_reserve_entry(entry_id: str, cmd: ReviewReserveEntry, meta: CommandMetadata,
                               deps: PersonnelDeps) -> CommandOutcome:
    return await _entry_command(entry_id, meta, deps, lambda cadre: cadre.review_reserve(
        entry_id=entry_id, rating=cmd.rating, comment=cmd.comment, effective_on=cmd.effective_on,
        today=deps.today()))


async def exit_reserve(entry_id: str, cmd: ExitReserve, meta: CommandMetadata,
                       deps: PersonnelDeps) -> CommandOutcome:
    return await _entry_command(entry_id, meta, deps, lambda cadre: cadre.exit_reserve(
        entry_id=entry_id, reason=cmd.reason, effective_on=cmd.effective_on, today=deps.today()))
