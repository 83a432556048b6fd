"""Command bodies of the talent service (``/api/v1/talent/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.api.personnel import CommandAccepted
from contracts.talent import (
    AgreementScope,
    ExpertKind,
    InternshipSeason,
    ReviewGrade,
    StudioField,
    StudioLead,
    VisitOccasion,
)

__all__ = [
    "ArrangeSecondment",
    "CertifyStudio",
    "CloseFollowUp",
    "CommandAccepted",
    "CompleteInternshipPosition",
    "EndSecondment",
    "GrantStudioFunding",
    "IssueRaised",
    "PlaceIntern",
    "PublishInternshipPosition",
    "RecordPromotionEvent",
    "RecordVisit",
    "RegisterExpert",
    "RegisterUniversity",
    "ReviewStudio",
    "RevokeStudio",
    "SignCooperationAgreement",
    "TerminateCooperationAgreement",
    "WithdrawPlacement",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Yuan = Annotated[int, Field(strict=True, gt=0, le=100_000_000,
                            description="Integer yuan; fractions and strings are refused.")]


def _example(body: dict) -> ConfigDict:
    return ConfigDict(**_STRICT, json_schema_extra={"examples": [body]})


class CertifyStudio(BaseModel):
    """Certify (授牌) a famous teacher/doctor/expert/craftsman studio."""

    model_config = _example({
        "name": "李红名师工作室", "field": "teacher", "lead": {"name": "李红", "title": "特级教师"},
        "host_unit": "怀仁市第一中学", "certified_on": "2024-05-20",
        "document_number": "怀人才发〔2024〕2号"})

    name: Text
    field: StudioField
    lead: StudioLead
    host_unit: Text
    certified_on: date = Field(description="Certification date; not in the future.")
    document_number: str | None = Field(None, max_length=100, description="Document (文号).")


class GrantStudioFunding(BaseModel):
    """Grant a tranche of funding to a certified studio."""

    model_config = _example({"amount_yuan": 50000, "granted_on": "2024-06-01",
                             "purpose": "工作室启动经费"})

    amount_yuan: Yuan
    granted_on: date = Field(description="Date granted; not before certification.")
    purpose: str | None = Field(None, max_length=500)


class ReviewStudio(BaseModel):
    """Record a studio's annual review (年度考核)."""

    model_config = _example({"year": 2024, "grade": "excellent", "reviewed_on": "2024-12-20"})

    year: int = Field(ge=2000, le=2100, description="Year under review.")
    grade: ReviewGrade
    reviewed_on: date = Field(description="Date of the review; in or after the year reviewed.")
    comment: str | None = Field(None, max_length=2000)


class RevokeStudio(BaseModel):
    """Revoke a studio's certification."""

    model_config = _example({"reason": "年度考核不合格", "revoked_on": "2025-01-10"})

    reason: LongText
    revoked_on: date


class RegisterExpert(BaseModel):
    """Add an expert to a talent roster. The phone number is sealed before it is recorded."""

    model_config = _example({
        "name": "王建国", "kind": "think_tank_expert", "field": "产业经济",
        "affiliation": "山西大学", "phone": "13912345678", "registered_on": "2024-03-01",
        "term_ends_on": "2027-02-28"})

    name: Annotated[str, Field(min_length=1, max_length=100)]
    kind: ExpertKind
    field: str | None = Field(None, max_length=200, description="Required for think-tank experts.")
    affiliation: str | None = Field(None, max_length=200)
    hometown: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=30,
                              description="Mobile (11 digits) or landline (area code, number).")
    registered_on: date = Field(description="Date the expert joined the roster.")
    term_ends_on: date | None = Field(None, description="End of the appointment term, if any.")


class IssueRaised(BaseModel):
    """A problem raised during a visit and its follow-up."""

    model_config = ConfigDict(**_STRICT)

    description: LongText
    action: LongText = Field(description="What was agreed to do.")
    owner: Text = Field(description="Responsible unit or person.")
    due_on: date = Field(description="Deadline; not before the visit.")


class RecordVisit(BaseModel):
    """Record a visit to an expert (走访慰问)."""

    model_config = _example({
        "visited_on": "2024-02-05", "visitors": ["市委组织部部长"], "occasion": "festival",
        "issues": [{"description": "子女入学", "action": "协调教育局", "owner": "市教育局",
                    "due_on": "2024-03-31"}]})

    visited_on: date
    visitors: list[Text] = Field(min_length=1, max_length=20)
    occasion: VisitOccasion = "routine"
    issues: list[IssueRaised] = Field(default_factory=list, max_length=50)


class CloseFollowUp(BaseModel):
    """Close the follow-up of a raised problem."""

    model_config = _example({"resolution": "已协调入学", "closed_on": "2024-03-10"})

    resolution: LongText
    closed_on: date


class ArrangeSecondment(BaseModel):
    """Second an expert (挂职) to a local unit."""

    model_config = _example({"host_unit": "怀仁市发展和改革局", "post": "副局长（挂职）",
                             "starts_on": "2024-07-01", "ends_on": "2025-06-30"})

    host_unit: Text
    post: Text
    starts_on: date
    ends_on: date = Field(description="Planned last day; after starts_on.")


class EndSecondment(BaseModel):
    """End a secondment (at or before its planned end)."""

    model_config = _example({"ended_on": "2025-06-30", "evaluation": "优秀"})

    ended_on: date
    evaluation: str | None = Field(None, max_length=2000)


class PublishInternshipPosition(BaseModel):
    """Publish internship positions for returning university students."""

    model_config = _example({
        "host_unit": "怀仁市人民医院", "post": "医务助理", "slots": 12, "season": "summer",
        "starts_on": "2024-07-08", "ends_on": "2024-08-23", "published_on": "2024-06-15"})

    host_unit: Text
    post: Text
    slots: int = Field(strict=True, gt=0, le=1000, description="Number of interns taken.")
    season: InternshipSeason
    starts_on: date
    ends_on: date
    published_on: date = Field(description="Date of publication; not after ends_on.")


class PlaceIntern(BaseModel):
    """Place a student in an internship position."""

    model_config = _example({"student_name": "赵敏", "school": "太原理工大学", "major": "计算机",
                             "placed_on": "2024-07-01"})

    student_name: Annotated[str, Field(min_length=1, max_length=100)]
    school: Text
    major: str | None = Field(None, max_length=100)
    placed_on: date


class WithdrawPlacement(BaseModel):
    """Withdraw a placement, freeing its slot."""

    model_config = _example({"withdrawn_on": "2024-07-15", "reason": "学生返校"})

    withdrawn_on: date
    reason: str | None = Field(None, max_length=500)


class CompleteInternshipPosition(BaseModel):
    """Close an internship: the students still placed completed it."""

    model_config = _example({"completed_on": "2024-08-23"})

    completed_on: date


class RegisterUniversity(BaseModel):
    """Register a university the county works with."""

    model_config = _example({"name": "山西大学", "city": "太原"})

    name: Text
    city: str | None = Field(None, max_length=100)


class RecordPromotionEvent(BaseModel):
    """Record a recruitment promotion event (宣讲会) held at a university."""

    model_config = _example({"title": "怀仁市2024年引才宣讲会", "held_on": "2024-04-18",
                             "attendees": 320, "positions_offered": 150})

    title: Text
    held_on: date
    attendees: int = Field(strict=True, ge=0, le=100_000)
    positions_offered: int = Field(0, strict=True, ge=0, le=100_000)


class SignCooperationAgreement(BaseModel):
    """Record a cooperation agreement (校地合作协议) signed with a university."""

    model_config = _example({"title": "校地合作框架协议", "scope": ["internship_base", "talent_supply"],
                             "signed_on": "2024-09-10", "term_ends_on": "2027-09-09"})

    title: Text
    scope: list[AgreementScope] = Field(min_length=1, max_length=3)
    signed_on: date
    term_ends_on: date = Field(description="Last day of the term; after signed_on.")


class TerminateCooperationAgreement(BaseModel):
    """End a cooperation agreement before its term."""

    model_config = _example({"reason": "双方协商终止", "terminated_on": "2025-12-31"})

    reason: LongText
    terminated_on: date
