"""Events published by the personnel service (干部人事)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent, registry

__all__ = [
    "POST_LEVELS",
    "POST_LEVEL_NAMES",
    "RANKS",
    "RANK_NAMES",
    "AssessmentRating",
    "CadreAppointed",
    "CadreCategory",
    "CadreDeparted",
    "CadreEnteredReserve",
    "CadreExchanged",
    "CadreExitedReserve",
    "CadreRecruited",
    "CadreRegistered",
    "ConversionReason",
    "Degree",
    "DepartureKind",
    "EducationKind",
    "EducationLevel",
    "EducationRecorded",
    "Establishment",
    "EstablishmentAdjusted",
    "EstablishmentSlotOccupied",
    "EstablishmentSlotReleased",
    "ExchangeKind",
    "HeldPost",
    "LeaderConvertedToRank",
    "LeadershipPostFilled",
    "LeadershipPostFreed",
    "LeadershipPostsApproved",
    "PostFreedReason",
    "PostLevel",
    "PromotionBasis",
    "Rank",
    "RankPromoted",
    "RankQuotaTaken",
    "RankQuotasApproved",
    "RecruitmentChannel",
    "ReserveEntryReviewed",
    "ReserveExitReason",
    "ReserveLevel",
    "ReserveSource",
    "SlotReleaseReason",
    "UnitKind",
    "UnitRegistered",
]

UnitKind = Literal["party_government_organ", "institution", "township"]
CadreCategory = Literal["civil_servant", "institution_staff"]
RecruitmentChannel = Literal["exam_recruitment", "institution_hiring", "transfer_in"]

Rank = Literal[
    "clerk_2", "clerk_1",
    "principal_staff_4", "principal_staff_3", "principal_staff_2", "principal_staff_1",
    "researcher_4", "researcher_3", "researcher_2", "researcher_1",
    "inspector_2", "inspector_1",
]
"""Ranks (职级) of the 2019 ladder for general-management civil servants, low to high."""
RANKS: tuple[str, ...] = (
    "clerk_2", "clerk_1",
    "principal_staff_4", "principal_staff_3", "principal_staff_2", "principal_staff_1",
    "researcher_4", "researcher_3", "researcher_2", "researcher_1",
    "inspector_2", "inspector_1",
)
RANK_NAMES: dict[str, str] = {
    "clerk_2": "二级科员", "clerk_1": "一级科员",
    "principal_staff_4": "四级主任科员", "principal_staff_3": "三级主任科员",
    "principal_staff_2": "二级主任科员", "principal_staff_1": "一级主任科员",
    "researcher_4": "四级调研员", "researcher_3": "三级调研员",
    "researcher_2": "二级调研员", "researcher_1": "一级调研员",
    "inspector_2": "二级巡视员", "inspector_1": "一级巡视员",
}

PostLevel = Literal["deputy_section_chief", "section_chief", "deputy_division_chief",
                    "division_chief"]
"""Levels of leadership posts (领导职务层次), low to high: 乡科级副职, 乡科级正职, 县处级副职, 县处级正职."""
POST_LEVELS: tuple[str, ...] = ("deputy_section_chief", "section_chief", "deputy_division_chief",
                                "division_chief")
POST_LEVEL_NAMES: dict[str, str] = {
    "deputy_section_chief": "副科", "section_chief": "正科",
    "deputy_division_chief": "副处", "division_chief": "正处"}

ReserveLevel = Literal["section_chief", "deputy_section_chief"]
"""Level a young cadre is held in reserve for (储备年轻干部: 正科 / 副科)."""
ReserveSource = Literal["democratic_recommendation", "organisational_recommendation", "inspection"]
ReserveExitReason = Literal["promoted", "over_age", "assessment", "discipline", "left"]
PromotionBasis = Literal["years_in_rank", "years_of_service", "graduate_degree"]
"""Basis of a rank promotion: the ladder's minimum years in the previous rank; years of service
(a local rule on top of the ladder); a graduate degree (定级 by degree)."""
ConversionReason = Literal["age", "health", "capability", "work_needs"]
ExchangeKind = Literal["grassroots_training", "rank_promotion_exchange", "adjacent_field"]
DepartureKind = Literal["retirement", "resignation", "transfer_out", "death"]
EducationKind = Literal["full_time", "in_service"]
EducationLevel = Literal["secondary", "associate", "bachelor", "postgraduate"]
"""Qualification (学历): 中专及以下, 大专, 本科, 研究生."""
Degree = Literal["none", "bachelor", "master", "doctorate"]
AssessmentRating = Literal["excellent", "competent", "basically_competent", "incompetent"]
SlotReleaseReason = Literal["exchange", "departure"]
PostFreedReason = Literal["conversion", "exchange", "departure", "reappointment"]


class Establishment(BaseModel):
    """Approved establishment (编制) slots of a unit, per category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    administrative: int = Field(ge=0, le=100_000, description="Administrative slots (行政编制).")
    institution: int = Field(ge=0, le=100_000, description="Institution slots (事业编制).")


class HeldPost(BaseModel):
    """A leadership post (领导职务) a cadre holds; ``post_id`` is unique within the cadre."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    post_id: str = Field(description="Id of the holding, unique within the cadre (e.g. `P1`).")
    level: PostLevel = Field(description="Level of the post; counts against the unit's approved "
                             "leadership posts of that level.")
    title: str = Field(description="Title of the post, e.g. `党委副书记`.")
    since: date = Field(description="Date the cadre took the post.")


class _UnitEvent(DomainEvent):
    stream_kind = "unit"
    unit_id: str = Field(description="The unit's id.")


class _CadreEvent(DomainEvent):
    stream_kind = "cadre"
    cadre_id: str = Field(description="The cadre's id.")


@registry.register
class UnitRegistered(_UnitEvent):
    """A unit (机关 / 事业单位 / 乡镇) was registered with its approved establishment."""

    event_type = "zugong.personnel.unit_registered"
    name: str = Field(description="Official name of the unit.")
    kind: UnitKind = Field(description="Kind of unit.")
    establishment: Establishment = Field(description="Approved establishment at registration.")
    effective_on: date | None = Field(
        None, description="Date the unit was established, when known; null for a unit that "
        "existed before the platform.")


@registry.register
class EstablishmentAdjusted(_UnitEvent):
    """The unit's approved establishment was changed; carries the new totals."""

    event_type = "zugong.personnel.establishment_adjusted"
    establishment: Establishment = Field(description="Approved establishment after the change.")
    previous: Establishment = Field(description="Approved establishment before the change.")
    effective_on: date = Field(description="Date the adjustment takes effect.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class EstablishmentSlotOccupied(_UnitEvent):
    """A slot of the unit's establishment was taken by a cadre (入编)."""

    event_type = "zugong.personnel.establishment_slot_occupied"
    cadre_id: str = Field(description="The cadre who occupies the slot.")
    category: CadreCategory = Field(description="Category of the slot.")
    effective_on: date = Field(description="Date the slot is taken.")
    rank: Rank | None = Field(
        None, description="Rank the cadre brings, counted against the unit's rank quota; null "
        "for institution staff, unranked cadres and events recorded before ranks were tracked.")


@registry.register
class EstablishmentSlotReleased(_UnitEvent):
    """A cadre left the unit (exchange or departure): their slot and rank place are free."""

    event_type = "zugong.personnel.establishment_slot_released"
    cadre_id: str = Field(description="The cadre who released the slot.")
    category: CadreCategory = Field(description="Category of the slot.")
    rank: Rank | None = Field(None, description="Rank whose quota place is released, if any.")
    reason: SlotReleaseReason = Field(description="Why the slot was released.")
    effective_on: date = Field(description="Date the slot is free.")


@registry.register
class LeadershipPostsApproved(_UnitEvent):
    """The unit's approved leadership posts (核定领导职数) per level were set."""

    event_type = "zugong.personnel.leadership_posts_approved"
    approved: dict[PostLevel, int] = Field(description="Approved posts per level after the change; "
                                           "a level not listed has none.")
    previous: dict[PostLevel, int] = Field(description="Approved posts per level before.")
    effective_on: date = Field(description="Date the approval takes effect.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class RankQuotasApproved(_UnitEvent):
    """The unit's rank quotas (职级职数) were set; a rank not listed has no quota limit."""

    event_type = "zugong.personnel.rank_quotas_approved"
    quotas: dict[Rank, int] = Field(description="Places per rank after the change.")
    previous: dict[Rank, int] = Field(description="Places per rank before.")
    effective_on: date = Field(description="Date the quotas take effect.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class LeadershipPostFilled(_UnitEvent):
    """A cadre took one of the unit's approved leadership posts."""

    event_type = "zugong.personnel.leadership_post_filled"
    cadre_id: str = Field(description="The cadre who holds the post.")
    post: HeldPost = Field(description="The post taken.")
    effective_on: date = Field(description="Date the post is taken.")


@registry.register
class LeadershipPostFreed(_UnitEvent):
    """A leadership post of the unit became vacant (conversion to rank, exchange, departure,
    or the holder's appointment to another post)."""

    event_type = "zugong.personnel.leadership_post_freed"
    cadre_id: str = Field(description="The cadre who held the post.")
    post_id: str = Field(description="The holding, as in `LeadershipPostFilled.post.post_id`.")
    level: PostLevel = Field(description="Level of the freed post.")
    reason: PostFreedReason = Field(description="Why the post was freed.")
    effective_on: date = Field(description="Date the post is vacant.")


@registry.register
class RankQuotaTaken(_UnitEvent):
    """A cadre of the unit took a place in the quota of a rank (promotion or conversion),
    releasing the place of their previous rank."""

    event_type = "zugong.personnel.rank_quota_taken"
    cadre_id: str = Field(description="The cadre.")
    rank: Rank = Field(description="The rank whose place is taken.")
    released_rank: Rank | None = Field(description="The rank whose place is released, if any.")
    effective_on: date = Field(description="Date the rank takes effect.")


@registry.register
class CadreRecruited(_CadreEvent):
    """A cadre joined a unit by exam recruitment, institution hiring or transfer-in."""

    event_type = "zugong.personnel.cadre_recruited"
    name: str = Field(description="Full name.")
    gender: Literal["male", "female"] = Field(description="Gender as on the national ID.")
    birth_date: date = Field(description="Birth date as on the national ID.")
    national_id: SealedPersonalData = Field(description="National ID number, sealed.")
    category: CadreCategory = Field(description="Civil servant or institution staff.")
    unit_id: str = Field(description="The unit the cadre joins.")
    channel: RecruitmentChannel = Field(description="How the cadre was recruited.")
    effective_on: date = Field(description="Date the cadre joins the unit.")
    rank: Rank | None = Field(None, description="Rank on joining (civil servants); null for "
                              "institution staff and events recorded before ranks were tracked.")
    joined_work_on: date | None = Field(
        None, description="Date the cadre started working (参加工作时间), when earlier than "
        "`effective_on` (transfer-in); null means `effective_on`.")


@registry.register
class CadreRegistered(_CadreEvent):
    """A cadre already in service was registered at go-live with their current rank, posts and
    dates. Not a recruitment: movement figures do not count it."""

    event_type = "zugong.personnel.cadre_registered"
    name: str = Field(description="Full name.")
    gender: Literal["male", "female"] = Field(description="Gender as on the national ID.")
    birth_date: date = Field(description="Birth date as on the national ID.")
    national_id: SealedPersonalData = Field(description="National ID number, sealed.")
    category: CadreCategory = Field(description="Civil servant or institution staff.")
    unit_id: str = Field(description="The cadre's current unit.")
    effective_on: date = Field(description="Date the cadre joined the current unit; nothing later "
                               "may be dated before it.")
    joined_work_on: date = Field(description="Date the cadre started working (参加工作时间).")
    rank: Rank | None = Field(None, description="Current rank (civil servants).")
    rank_since: date | None = Field(None, description="Date the current rank was conferred.")
    posts: list[HeldPost] = Field(default_factory=list, description="Leadership posts held now.")


@registry.register
class EducationRecorded(_CadreEvent):
    """A completed education (学历/学位), full-time or in-service, was recorded."""

    event_type = "zugong.personnel.education_recorded"
    kind: EducationKind = Field(description="Full-time (全日制) or in-service (在职).")
    level: EducationLevel = Field(description="Qualification (学历).")
    degree: Degree = Field(description="Degree (学位); `none` when no degree was awarded.")
    school: str = Field(description="School (毕业院校).")
    major: str | None = Field(None, description="Major (专业).")
    completed_on: date = Field(description="Graduation date.")


@registry.register
class RankPromoted(_CadreEvent):
    """A civil servant was promoted to a higher rank (职级晋升)."""

    event_type = "zugong.personnel.rank_promoted"
    unit_id: str = Field(description="The cadre's unit (whose rank quota is used).")
    from_rank: Rank | None = Field(description="Rank before the promotion.")
    to_rank: Rank = Field(description="Rank after the promotion.")
    basis: PromotionBasis = Field(description="Basis of the promotion.")
    effective_on: date = Field(description="Date the rank takes effect.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class CadreAppointed(_CadreEvent):
    """A cadre was appointed to a leadership post of their unit (任职)."""

    event_type = "zugong.personnel.cadre_appointed"
    unit_id: str = Field(description="The unit whose approved post is taken.")
    post: HeldPost = Field(description="The post.")
    relieved_posts: list[HeldPost] = Field(
        default_factory=list, description="Posts the cadre leaves with this appointment (freed).")
    effective_on: date = Field(description="Date of the appointment.")
    document_number: str | None = Field(None, description="Appointment document number (任职文号).")


@registry.register
class LeaderConvertedToRank(_CadreEvent):
    """A leader left their leadership posts for a rank (领导职务转任职级); the posts are free."""

    event_type = "zugong.personnel.leader_converted_to_rank"
    unit_id: str = Field(description="The cadre's unit.")
    freed_posts: list[HeldPost] = Field(description="The posts left, each now vacant.")
    from_rank: Rank | None = Field(description="Rank before the conversion.")
    to_rank: Rank = Field(description="Rank after the conversion.")
    reason: ConversionReason = Field(description="Why the leader was converted.")
    effective_on: date = Field(description="Date of the conversion.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class CadreExchanged(_CadreEvent):
    """A cadre was exchanged (交流轮岗) to another unit; the establishment slot moved with them."""

    event_type = "zugong.personnel.cadre_exchanged"
    from_unit_id: str = Field(description="The unit the cadre left.")
    to_unit_id: str = Field(description="The unit the cadre joined.")
    kind: ExchangeKind = Field(description="Kind of exchange.")
    freed_posts: list[HeldPost] = Field(
        default_factory=list, description="Posts left in the old unit (now vacant).")
    post: HeldPost | None = Field(None, description="Post taken in the new unit, if any.")
    effective_on: date = Field(description="Date of the move.")
    document_number: str | None = Field(None, description="Document number (文号).")


@registry.register
class CadreDeparted(_CadreEvent):
    """A cadre left the service; nothing more can be recorded for them."""

    event_type = "zugong.personnel.cadre_departed"
    kind: DepartureKind = Field(description="Retirement, resignation, transfer out or death.")
    unit_id: str = Field(description="The unit the cadre left.")
    freed_posts: list[HeldPost] = Field(default_factory=list, description="Posts left (vacant).")
    effective_on: date = Field(description="Date of the departure.")
    document_number: str | None = Field(None, description="Document number (文号).")


@registry.register
class CadreEnteredReserve(_CadreEvent):
    """A young cadre was entered into the reserve pool (储备年轻干部入库) at a level."""

    event_type = "zugong.personnel.cadre_entered_reserve"
    entry_id: str = Field(description="Id of the reserve entry.")
    level: ReserveLevel = Field(description="Level the cadre is reserved for.")
    source: ReserveSource | None = Field(None, description="How the cadre was put forward.")
    effective_on: date = Field(description="Date of entry (入库).")


@registry.register
class ReserveEntryReviewed(_CadreEvent):
    """A reserve entry had its (annual) review."""

    event_type = "zugong.personnel.reserve_entry_reviewed"
    entry_id: str = Field(description="The reserve entry.")
    rating: AssessmentRating = Field(description="Assessment in the review.")
    comment: str | None = Field(None, description="Reviewer's comment.")
    effective_on: date = Field(description="Date of the review.")


@registry.register
class CadreExitedReserve(_CadreEvent):
    """A reserve entry was closed (出库) with a reason."""

    event_type = "zugong.personnel.cadre_exited_reserve"
    entry_id: str = Field(description="The reserve entry.")
    level: ReserveLevel = Field(description="Level the entry was for.")
    reason: ReserveExitReason = Field(description="Why the entry was closed.")
    effective_on: date = Field(description="Date of exit.")
