"""Command bodies of the personnel service (``/api/v1/personnel/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personnel import (
    AssessmentRating,
    CadreCategory,
    ConversionReason,
    Degree,
    DepartureKind,
    EducationKind,
    EducationLevel,
    Establishment,
    ExchangeKind,
    PostLevel,
    PromotionBasis,
    Rank,
    ReserveExitReason,
    ReserveLevel,
    ReserveSource,
    UnitKind,
)

__all__ = [
    "AdjustEstablishment",
    "AppointToPost",
    "ApproveLeadershipPosts",
    "ApproveRankQuotas",
    "CommandAccepted",
    "ConvertPostToRank",
    "Depart",
    "EnterReserve",
    "Exchange",
    "ExistingPost",
    "ExitReserve",
    "NewPost",
    "PromoteRank",
    "RecordEducation",
    "RecruitCadre",
    "RegisterUnit",
    "ReviewReserveEntry",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterUnit(BaseModel):
    """Register a unit with its approved establishment."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "name": "怀仁市委组织部", "kind": "party_government_organ",
        "establishment": {"administrative": 20, "institution": 5}}]})

    name: str = Field(min_length=1, max_length=200, description="Official name.")
    kind: UnitKind
    establishment: Establishment
    effective_on: date | None = Field(
        None, description="Date the unit was established; omit for a unit that existed before "
        "the platform (no date bound on its history).")


class AdjustEstablishment(BaseModel):
    """Set a unit's approved establishment to new totals."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "administrative": 22, "institution": 5, "document_number": "怀编发〔2024〕3号"}]})

    administrative: int = Field(ge=0, le=100_000)
    institution: int = Field(ge=0, le=100_000)
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")
    document_number: str | None = Field(None, max_length=100, description="Approval document.")


class ExistingPost(BaseModel):
    """A leadership post held at go-live."""

    model_config = _STRICT

    level: PostLevel
    title: str = Field(min_length=1, max_length=100)
    since: date = Field(description="Date the post was taken (not before joining the unit).")


class RecruitCadre(BaseModel):
    """Recruit a cadre into a unit with a vacant slot of the cadre's category."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "name": "张伟", "gender": "male", "birth_date": "1990-03-07",
        "national_id": "11010519900307001X", "category": "civil_servant",
        "unit_id": "5f0c…", "channel": "exam_recruitment", "effective_on": "2024-08-01"}, {
        "name": "王建国", "gender": "male", "birth_date": "1975-06-01",
        "national_id": "140624197506010013", "category": "civil_servant", "unit_id": "5f0c…",
        "channel": "go_live", "effective_on": "2016-03-01", "joined_work_on": "1997-07-01",
        "rank": "principal_staff_2", "rank_since": "2020-06-01",
        "posts": [{"level": "section_chief", "title": "局长", "since": "2018-01-05"}]}]})

    name: str = Field(min_length=1, max_length=100)
    gender: Literal["male", "female"]
    birth_date: date
    national_id: str = Field(min_length=18, max_length=18,
                             description="18-character resident ID number (GB 11643).")
    category: CadreCategory
    unit_id: str = Field(min_length=1, max_length=64)
    channel: Literal["exam_recruitment", "institution_hiring", "transfer_in", "go_live"] = Field(
        description="How the cadre joins; `go_live` registers a cadre already in service with "
        "their current rank, posts and dates (not counted as a recruitment).")
    effective_on: date = Field(description="Date the cadre joins the unit (for `go_live`: the date "
                               "they joined their current unit).")
    joined_work_on: date | None = Field(
        None, description="Date the cadre started working (参加工作时间); default `effective_on`.")
    rank: Rank | None = Field(
        None, description="Rank (civil servants only); default the initial rank of the rules.")
    rank_since: date | None = Field(None, description="`go_live` only: date of the current rank; "
                                    "default `effective_on`.")
    posts: list[ExistingPost] = Field(
        default_factory=list, max_length=5,
        description="`go_live` only: leadership posts held now, each counted against the unit's "
        "approved posts.")


class ApproveLeadershipPosts(BaseModel):
    """Set the unit's approved leadership posts (核定领导职数) per level."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "approved": {"section_chief": 1, "deputy_section_chief": 3},
        "document_number": "怀编发〔2025〕7号"}]})

    approved: dict[PostLevel, Annotated[int, Field(ge=0, le=1000)]] = Field(
        description="Posts per level; a level left out has none.")
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")
    document_number: str | None = Field(None, max_length=100)


class ApproveRankQuotas(BaseModel):
    """Set the unit's rank quotas (职级职数); a rank left out has no limit."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "quotas": {"principal_staff_1": 1, "principal_staff_2": 2, "principal_staff_4": 6}}]})

    quotas: dict[Rank, Annotated[int, Field(ge=0, le=1000)]]
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")
    document_number: str | None = Field(None, max_length=100)


class RecordEducation(BaseModel):
    """Record a completed education (学历 and 学位), full-time or in-service."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "kind": "full_time", "level": "postgraduate", "degree": "master", "school": "山西大学",
        "major": "行政管理", "completed_on": "2019-07-01"}]})

    kind: EducationKind
    level: EducationLevel
    degree: Degree = "none"
    school: str = Field(min_length=1, max_length=200)
    major: str | None = Field(None, max_length=200)
    completed_on: date = Field(description="Graduation date (may precede recruitment).")


class PromoteRank(BaseModel):
    """Promote a civil servant to a higher rank."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "target_rank": "principal_staff_4", "basis": "years_of_service",
        "effective_on": "2025-06-01", "document_number": "怀组干〔2025〕12号"}]})

    target_rank: Rank
    basis: PromotionBasis = "years_in_rank"
    effective_on: date
    document_number: str | None = Field(None, max_length=100)


class AppointToPost(BaseModel):
    """Appoint a cadre to a leadership post of their unit, within its approved posts."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "level": "deputy_section_chief", "title": "副局长", "effective_on": "2025-04-01"}]})

    level: PostLevel
    title: str = Field(min_length=1, max_length=100)
    effective_on: date
    concurrent: bool = Field(False, description="Hold the post in addition to the current ones "
                             "(兼任); otherwise the current posts are left and freed.")
    document_number: str | None = Field(None, max_length=100)


class ConvertPostToRank(BaseModel):
    """Convert a leader to a rank (领导职务转任职级); every post held is freed at once."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "target_rank": "principal_staff_2", "reason": "age", "effective_on": "2025-03-01"}]})

    target_rank: Rank
    reason: ConversionReason
    effective_on: date
    document_number: str | None = Field(None, max_length=100)


class NewPost(BaseModel):
    """A leadership post to take in the unit the cadre moves to."""

    model_config = _STRICT

    level: PostLevel
    title: str = Field(min_length=1, max_length=100)


class Exchange(BaseModel):
    """Exchange a cadre to another unit: the establishment slot moves with them."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "to_unit_id": "9a1e…", "kind": "grassroots_training", "effective_on": "2025-09-01",
        "post": {"level": "deputy_section_chief", "title": "副镇长"}}]})

    to_unit_id: str = Field(min_length=1, max_length=64)
    kind: ExchangeKind
    effective_on: date
    post: NewPost | None = Field(None, description="Post taken in the new unit, if any; posts in "
                                 "the old unit are freed.")
    document_number: str | None = Field(None, max_length=100)


class Depart(BaseModel):
    """Record a cadre's departure; their slot and posts are released."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "kind": "retirement", "effective_on": "2025-05-31"}]})

    kind: DepartureKind
    effective_on: date
    document_number: str | None = Field(None, max_length=100)


class EnterReserve(BaseModel):
    """Enter a young cadre into the reserve pool at a level."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "cadre_id": "0b7c…", "level": "deputy_section_chief", "effective_on": "2025-07-01",
        "source": "democratic_recommendation"}]})

    cadre_id: str = Field(min_length=1, max_length=64)
    level: ReserveLevel
    effective_on: date
    source: ReserveSource | None = None


class ReviewReserveEntry(BaseModel):
    """Record the (annual) review of a reserve entry."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "rating": "excellent", "effective_on": "2025-12-20"}]})

    rating: AssessmentRating
    effective_on: date
    comment: str | None = Field(None, max_length=2000)


class ExitReserve(BaseModel):
    """Close a reserve entry with a reason."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "reason": "promoted", "effective_on": "2025-11-01"}]})

    reason: ReserveExitReason
    effective_on: date


class CommandAccepted(BaseModel):
    """The answer to every accepted command."""

    id: str = Field(description="Id of the aggregate the command created or changed.")
    version: int = Field(description="Its version after the command; use it as If-Match.")
    consistency_token: str = Field(
        description="Send as X-Consistency-Token to read your own write.")
