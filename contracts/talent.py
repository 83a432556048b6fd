"""Events published by the talent service (人才): studios, experts, internships, universities.

Sub-records (a grant, a visit, a placement, an agreement …) carry their own id, derived from
the stream and the version that recorded them, so that a retried command names the same one.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent, registry

__all__ = [
    "AgreementScope",
    "CooperationAgreementSigned",
    "CooperationAgreementTerminated",
    "ExpertKind",
    "ExpertRegistered",
    "ExpertVisited",
    "FollowUpClosed",
    "InternPlaced",
    "InternPlacementWithdrawn",
    "InternshipPositionCompleted",
    "InternshipPositionPublished",
    "InternshipSeason",
    "RaisedIssue",
    "RecruitmentPromotionHeld",
    "ReviewGrade",
    "SecondmentArranged",
    "SecondmentEnded",
    "StudioCertified",
    "StudioField",
    "StudioFundingGranted",
    "StudioLead",
    "StudioReviewed",
    "StudioRevoked",
    "UniversityRegistered",
    "VisitOccasion",
]

StudioField = Literal["teacher", "doctor", "expert", "craftsman"]
"""名师 / 名医 / 名家 / 名匠."""
ReviewGrade = Literal["excellent", "qualified", "unqualified"]
"""Annual review grade: 优秀 / 合格 / 不合格."""
ExpertKind = Literal["contact_expert", "native_elsewhere", "think_tank_expert",
                     "doctoral_service_group"]
"""联系专家 / 在外人才 / 智库专家 / 博士服务团."""
VisitOccasion = Literal["festival", "birthday", "hardship", "routine"]
"""节日慰问 / 生日 / 困难帮扶 / 日常走访."""
InternshipSeason = Literal["winter", "summer"]
"""寒假 / 暑假."""
AgreementScope = Literal["internship_base", "talent_supply", "research"]
"""实习基地 / 人才输送 / 科研合作."""


class StudioLead(BaseModel):
    """The person who leads a studio (领衔人)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Full name.")
    title: str | None = Field(None, max_length=100,
                              description="Professional title or honour, e.g. 特级教师.")


class RaisedIssue(BaseModel):
    """A problem an expert raised during a visit and the follow-up agreed for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    follow_up_id: str = Field(description="Id of the follow-up (closed later by this id).")
    description: str = Field(description="The problem as raised.")
    action: str = Field(description="What was agreed to do about it.")
    owner: str = Field(description="Unit or person responsible for the follow-up.")
    due_on: date = Field(description="Date by which the follow-up should be closed.")


class _StudioEvent(DomainEvent):
    stream_kind = "studio"
    studio_id: str = Field(description="The studio's id.")


class _ExpertEvent(DomainEvent):
    stream_kind = "expert"
    expert_id: str = Field(description="The expert's id.")


class _PositionEvent(DomainEvent):
    stream_kind = "internship"
    position_id: str = Field(description="The internship position's id.")


class _UniversityEvent(DomainEvent):
    stream_kind = "university"
    university_id: str = Field(description="The university's id.")


@registry.register
class StudioCertified(_StudioEvent):
    """A famous teacher/doctor/expert/craftsman studio was certified (授牌)."""

    event_type = "zugong.talent.studio_certified"
    name: str = Field(description="Name of the studio.")
    field: StudioField = Field(description="teacher (名师), doctor (名医), expert (名家), craftsman (名匠).")
    lead: StudioLead = Field(description="The person leading the studio.")
    host_unit: str = Field(description="Name of the unit hosting the studio.")
    document_number: str | None = Field(None, description="Certification document number (文号).")
    effective_on: date = Field(description="Certification date.")


@registry.register
class StudioFundingGranted(_StudioEvent):
    """Funding was granted to a studio (one tranche)."""

    event_type = "zugong.talent.studio_funding_granted"
    grant_id: str = Field(description="Id of this grant.")
    amount_yuan: int = Field(gt=0, description="Amount granted, integer yuan.")
    purpose: str | None = Field(None, description="What the money is for.")
    effective_on: date = Field(description="Date the funding was granted.")


@registry.register
class StudioReviewed(_StudioEvent):
    """A studio's annual review (年度考核) was recorded."""

    event_type = "zugong.talent.studio_reviewed"
    year: int = Field(description="The year under review.")
    grade: ReviewGrade = Field(description="excellent, qualified or unqualified.")
    comment: str | None = Field(None, description="Reviewers' comment.")
    effective_on: date = Field(description="Date of the review.")


@registry.register
class StudioRevoked(_StudioEvent):
    """A studio's certification was revoked (撤销); it receives no more funding."""

    event_type = "zugong.talent.studio_revoked"
    reason: str = Field(description="Why the certification was revoked.")
    effective_on: date = Field(description="Date of revocation.")


@registry.register
class ExpertRegistered(_ExpertEvent):
    """An expert was added to one of the talent rosters."""

    event_type = "zugong.talent.expert_registered"
    name: str = Field(description="Full name.")
    kind: ExpertKind = Field(description="Which roster: contact expert, native working elsewhere, "
                             "think-tank expert, doctoral service group member.")
    field: str | None = Field(None, description="Field of expertise.")
    affiliation: str | None = Field(None, description="Employer or institution.")
    hometown: str | None = Field(None, description="Township of origin (natives working elsewhere).")
    phone: SealedPersonalData | None = Field(None, description="Phone number, sealed.")
    term_ends_on: date | None = Field(
        None, description="End of the appointment term (think-tank experts), when fixed.")
    effective_on: date = Field(description="Date the expert joined the roster.")


@registry.register
class ExpertVisited(_ExpertEvent):
    """An expert was visited (走访慰问); problems raised become follow-ups."""

    event_type = "zugong.talent.expert_visited"
    visit_id: str = Field(description="Id of the visit.")
    visitors: list[str] = Field(description="Who visited (leaders, officials).")
    occasion: VisitOccasion = Field(description="Why the visit took place.")
    issues: list[RaisedIssue] = Field(description="Problems raised, each with its follow-up.")
    effective_on: date = Field(description="Date of the visit.")


@registry.register
class FollowUpClosed(_ExpertEvent):
    """The follow-up of a problem an expert raised was closed (闭环)."""

    event_type = "zugong.talent.follow_up_closed"
    follow_up_id: str = Field(description="The follow-up closed.")
    resolution: str = Field(description="What was done.")
    effective_on: date = Field(description="Date it was closed.")


@registry.register
class SecondmentArranged(_ExpertEvent):
    """An expert was seconded (挂职) to a local unit for a fixed period."""

    event_type = "zugong.talent.secondment_arranged"
    secondment_id: str = Field(description="Id of the secondment.")
    host_unit: str = Field(description="Unit receiving the expert.")
    post: str = Field(description="Post held during the secondment.")
    starts_on: date = Field(description="First day.")
    ends_on: date = Field(description="Planned last day.")
    effective_on: date = Field(description="Same as starts_on.")


@registry.register
class SecondmentEnded(_ExpertEvent):
    """A secondment ended (at its planned end or early)."""

    event_type = "zugong.talent.secondment_ended"
    secondment_id: str = Field(description="The secondment that ended.")
    evaluation: str | None = Field(None, description="Evaluation or outcome.")
    effective_on: date = Field(description="Actual last day.")


@registry.register
class InternshipPositionPublished(_PositionEvent):
    """Internship positions for returning university students were published."""

    event_type = "zugong.talent.internship_position_published"
    host_unit: str = Field(description="Unit offering the positions.")
    post: str = Field(description="What the interns will do.")
    slots: int = Field(gt=0, description="Number of interns the unit takes (positions).")
    season: InternshipSeason = Field(description="winter or summer holiday.")
    starts_on: date = Field(description="First day of the internship.")
    ends_on: date = Field(description="Last day of the internship.")
    effective_on: date = Field(description="Date of publication.")


@registry.register
class InternPlaced(_PositionEvent):
    """A student was placed in an internship position."""

    event_type = "zugong.talent.intern_placed"
    placement_id: str = Field(description="Id of the placement.")
    student_name: str = Field(description="Student's full name.")
    school: str = Field(description="University the student attends.")
    major: str | None = Field(None, description="Field of study.")
    effective_on: date = Field(description="Date of placement.")


@registry.register
class InternPlacementWithdrawn(_PositionEvent):
    """A placement was withdrawn (the student left or declined); the slot is free again."""

    event_type = "zugong.talent.intern_placement_withdrawn"
    placement_id: str = Field(description="The placement withdrawn.")
    reason: str | None = Field(None, description="Why.")
    effective_on: date = Field(description="Date of withdrawal.")


@registry.register
class InternshipPositionCompleted(_PositionEvent):
    """The internship ended; every student still placed completed it."""

    event_type = "zugong.talent.internship_position_completed"
    completed_placements: int = Field(description="Placements that completed.")
    effective_on: date = Field(description="Date of completion.")


@registry.register
class UniversityRegistered(_UniversityEvent):
    """A university the county works with was registered."""

    event_type = "zugong.talent.university_registered"
    name: str = Field(description="Name of the university.")
    city: str | None = Field(None, description="Where it is.")


@registry.register
class RecruitmentPromotionHeld(_UniversityEvent):
    """A recruitment promotion event (招才引智宣讲会) was held at a university."""

    event_type = "zugong.talent.recruitment_promotion_held"
    promotion_id: str = Field(description="Id of the event.")
    title: str = Field(description="Title of the event.")
    attendees: int = Field(ge=0, description="Head-count of students attending.")
    positions_offered: int = Field(ge=0, description="Jobs or internships presented.")
    effective_on: date = Field(description="Date of the event.")


@registry.register
class CooperationAgreementSigned(_UniversityEvent):
    """A cooperation agreement (校地合作协议) was signed with a university."""

    event_type = "zugong.talent.cooperation_agreement_signed"
    agreement_id: str = Field(description="Id of the agreement.")
    title: str = Field(description="Title of the agreement.")
    scope: list[AgreementScope] = Field(description="What the cooperation covers.")
    term_ends_on: date = Field(description="Last day of the agreement's term.")
    effective_on: date = Field(description="Signing date.")


@registry.register
class CooperationAgreementTerminated(_UniversityEvent):
    """A cooperation agreement ended before its term."""

    event_type = "zugong.talent.cooperation_agreement_terminated"
    agreement_id: str = Field(description="The agreement terminated.")
    reason: str = Field(description="Why.")
    effective_on: date = Field(description="Date of termination.")
