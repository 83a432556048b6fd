"""Talent command handlers: load, decide, append. Dependencies come in as arguments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from contracts import registry
from contracts.api.talent import (
    ArrangeSecondment,
    CertifyStudio,
    CloseFollowUp,
    CompleteInternshipPosition,
    EndSecondment,
    GrantStudioFunding,
    PlaceIntern,
    PublishInternshipPosition,
    RecordPromotionEvent,
    RecordVisit,
    RegisterExpert,
    RegisterUniversity,
    ReviewStudio,
    RevokeStudio,
    SignCooperationAgreement,
    TerminateCooperationAgreement,
    WithdrawPlacement,
)
from services.kernel.aggregate import Aggregate, Repository
from services.kernel.commands import CommandOutcome, Decision, execute_command
from services.kernel.errors import DomainRuleViolation
from services.kernel.eventstore import CommandMetadata, EventStore
from services.kernel.personal_data import PersonalDataVault
from services.talent.domain.expert import Expert, IssueInput, normalise_phone
from services.talent.domain.internship import InternshipPosition
from services.talent.domain.studio import Studio
from services.talent.domain.university import University

__all__ = [
    "TalentDeps",
    "arrange_secondment",
    "certify_studio",
    "close_follow_up",
    "complete_internship",
    "end_secondment",
    "grant_studio_funding",
    "place_intern",
    "publish_internship",
    "record_promotion_event",
    "record_visit",
    "register_expert",
    "register_university",
    "review_studio",
    "revoke_studio",
    "sign_agreement",
    "terminate_agreement",
    "withdraw_placement",
]


@dataclass
class TalentDeps:
    store: EventStore
    vault: PersonalDataVault
    today: Callable[[], date]

    def __post_init__(self) -> None:
        self.studios = Repository(self.store, Studio, registry)
        self.experts = Repository(self.store, Expert, registry)
        self.positions = Repository(self.store, InternshipPosition, registry)
        self.universities = Repository(self.store, University, registry)


async def _create(deps: TalentDeps, repository: Repository, meta: CommandMetadata,
                  act: Callable[[Aggregate], None]) -> CommandOutcome:
    new_id = str(uuid.uuid4())

    async def decide() -> Decision:
        aggregate = repository.new(new_id)
        act(aggregate)
        return Decision([aggregate], aggregate)

    return await execute_command(deps.store, decide, meta)


async def _change(deps: TalentDeps, repository: Repository, aggregate_id: str, what: str,
                  meta: CommandMetadata, act: Callable[[Aggregate], object], *,
                  if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        aggregate = await repository.get(aggregate_id, what=what)
        act(aggregate)
        return Decision([aggregate], aggregate)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def certify_studio(cmd: CertifyStudio, meta: CommandMetadata, deps: TalentDeps) -> CommandOutcome:
    return await _create(deps, deps.studios, meta, lambda s: s.certify(
        name=cmd.name, field=cmd.field, lead=cmd.lead, host_unit=cmd.host_unit,
        certified_on=cmd.certified_on, document_number=cmd.document_number, today=deps.today()))


async def grant_studio_funding(studio_id: str, cmd: GrantStudioFunding, meta: CommandMetadata,
                         deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.studios, studio_id, "studio", meta, lambda s: s.grant_funding(
        amount_yuan=cmd.amount_yuan, granted_on=cmd.granted_on, purpose=cmd.purpose,
        today=deps.today()))


async def review_studio(studio_id: str, cmd: ReviewStudio, meta: CommandMetadata, deps: TalentDeps,
                  ) -> CommandOutcome:
    return await _change(deps, deps.studios, studio_id, "studio", meta, lambda s: s.review(
        year=cmd.year, grade=cmd.grade, reviewed_on=cmd.reviewed_on, comment=cmd.comment,
        today=deps.today()))


async def revoke_studio(studio_id: str, cmd: RevokeStudio, meta: CommandMetadata, deps: TalentDeps, *,
                  if_match: int | None = None) -> CommandOutcome:
    return await _change(deps, deps.studios, studio_id, "studio", meta, lambda s: s.revoke(
        reason=cmd.reason, revoked_on=cmd.revoked_on, today=deps.today()), if_match=if_match)


async def register_expert(cmd: RegisterExpert, meta: CommandMetadata, deps: TalentDeps) -> CommandOutcome:
    sealed = None
    if cmd.phone:
        try:
            sealed = deps.vault.seal("phone", normalise_phone(cmd.phone))
        except ValueError as error:
            raise DomainRuleViolation(f"phone: {error}", pointer="#/phone", code="phone") from None
    return await _create(deps, deps.experts, meta, lambda e: e.register(
        name=cmd.name, kind=cmd.kind, field=cmd.field, affiliation=cmd.affiliation,
        hometown=cmd.hometown, phone=sealed, registered_on=cmd.registered_on,
        term_ends_on=cmd.term_ends_on, today=deps.today()))


async def record_visit(expert_id: str, cmd: RecordVisit, meta: CommandMetadata, deps: TalentDeps,
                 ) -> CommandOutcome:
    issues = [IssueInput(i.description, i.action, i.owner, i.due_on) for i in cmd.issues]
    return await _change(deps, deps.experts, expert_id, "expert", meta, lambda e: e.record_visit(
        visited_on=cmd.visited_on, visitors=cmd.visitors, occasion=cmd.occasion, issues=issues,
        today=deps.today()))


async def close_follow_up(expert_id: str, follow_up_id: str, cmd: CloseFollowUp,
                    meta: CommandMetadata, deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.experts, expert_id, "expert", meta, lambda e: e.close_follow_up(
        follow_up_id, resolution=cmd.resolution, closed_on=cmd.closed_on, today=deps.today()))


async def arrange_secondment(expert_id: str, cmd: ArrangeSecondment, meta: CommandMetadata,
                       deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.experts, expert_id, "expert", meta, lambda e: e.arrange_secondment(
        host_unit=cmd.host_unit, post=cmd.post, starts_on=cmd.starts_on, ends_on=cmd.ends_on))


async def end_secondment(expert_id: str, secondment_id: str, cmd: EndSecondment,
                   meta: CommandMetadata, deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.experts, expert_id, "expert", meta, lambda e: e.end_secondment(
        secondment_id, ended_on=cmd.ended_on, evaluation=cmd.evaluation, today=deps.today()))


async def publish_internship(cmd: PublishInternshipPosition, meta: CommandMetadata, deps: TalentDeps,
                       ) -> CommandOutcome:
    return await _create(deps, deps.positions, meta, lambda p: p.publish(
        host_unit=cmd.host_unit, post=cmd.post, slots=cmd.slots, season=cmd.season,
        starts_on=cmd.starts_on, ends_on=cmd.ends_on, published_on=cmd.published_on,
        today=deps.today()))


async def place_intern(position_id: str, cmd: PlaceIntern, meta: CommandMetadata, deps: TalentDeps,
                 ) -> CommandOutcome:
    return await _change(deps, deps.positions, position_id, "internship position", meta,
                   lambda p: p.place(student_name=cmd.student_name, school=cmd.school,
                                     major=cmd.major, placed_on=cmd.placed_on,
                                     today=deps.today()))


async def withdraw_placement(position_id: str, placement_id: str, cmd: WithdrawPlacement,
                       meta: CommandMetadata, deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.positions, position_id, "internship position", meta,
                   lambda p: p.withdraw(placement_id, withdrawn_on=cmd.withdrawn_on,
                                        reason=cmd.reason, today=deps.today()))


async def complete_internship(position_id: str, cmd: CompleteInternshipPosition, meta: CommandMetadata,
                        deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.positions, position_id, "internship position", meta,
                   lambda p: p.complete(completed_on=cmd.completed_on, today=deps.today()))


async def register_university(cmd: RegisterUniversity, meta: CommandMetadata, deps: TalentDeps,
                        ) -> CommandOutcome:
    return await _create(deps, deps.universities, meta,
                   lambda u: u.register(name=cmd.name, city=cmd.city))


async def record_promotion_event(university_id: str, cmd: RecordPromotionEvent, meta: CommandMetadata,
                           deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.universities, university_id, "university", meta,
                   lambda u: u.hold_promotion(title=cmd.title, held_on=cmd.held_on,
                                              attendees=cmd.attendees,
                                              positions_offered=cmd.positions_offered,
                                              today=deps.today()))


async def sign_agreement(university_id: str, cmd: SignCooperationAgreement, meta: CommandMetadata,
                   deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.universities, university_id, "university", meta,
                   lambda u: u.sign_agreement(title=cmd.title, scope=cmd.scope,
                                              signed_on=cmd.signed_on,
                                              term_ends_on=cmd.term_ends_on, today=deps.today()))


async def terminate_agreement(university_id: str, agreement_id: str,
                        cmd: TerminateCooperationAgreement, meta: CommandMetadata,
                        deps: TalentDeps) -> CommandOutcome:
    return await _change(deps, deps.universities, university_id, "university", meta,
                   lambda u: u.terminate_agreement(agreement_id, reason=cmd.reason,
                                                   terminated_on=cmd.terminated_on,
                                                   today=deps.today()))
