"""Events published by the governance service (基层治理).

Every event of a record that belongs to a township carries ``township_id`` so that township
platforms can filter a topic without a lookup. Business dates are ``effective_on``; actions
with a clock (complaints, alerts) carry the business instant ``at`` (UTC, may be backdated).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent, registry

__all__ = [
    "DEFAULT_SLA_POLICY",
    "AccessEntryAdmitted",
    "AccessEntryRemoved",
    "AccessListKind",
    "AlertLevel",
    "AlertSlaRule",
    "AlertType",
    "CommunityRegistered",
    "ComplainantContacted",
    "ComplaintCategory",
    "ComplaintChannel",
    "ComplaintClosed",
    "ComplaintDispatched",
    "ComplaintExtensionDecided",
    "ComplaintExtensionRequested",
    "ComplaintFollowedUp",
    "ComplaintOverdueFlagged",
    "ComplaintReceived",
    "ComplaintReopened",
    "ComplaintResultReported",
    "ComplaintReturnDecided",
    "ComplaintReturnRequested",
    "ComplaintSignedFor",
    "ComplaintSla",
    "ComplaintSlaRule",
    "CompoundRegistered",
    "CooperatingDuty",
    "Duration",
    "HandlingUnit",
    "HireKind",
    "InstitutionalRuleAdopted",
    "MonitoringConnected",
    "MonitoringDisconnected",
    "PartyBuildingOfficeSetUp",
    "PropertyAlertAcknowledged",
    "PropertyAlertDispatched",
    "PropertyAlertFalseAlarm",
    "PropertyAlertRaised",
    "PropertyAlertResolved",
    "RectificationCaseOpened",
    "RectificationCategory",
    "RectificationMeasureAdopted",
    "RectificationMeasureCompleted",
    "RectificationProblemRecorded",
    "RectificationProblemResolved",
    "RectificationReopened",
    "RectificationReviewed",
    "RectificationSignedOff",
    "ReserveCandidateAdded",
    "ReserveCandidateExited",
    "ReserveCandidateQualified",
    "ReserveSource",
    "ReserveSurveyRecorded",
    "ReserveTalkRecorded",
    "ReserveTrialEvaluated",
    "ReserveTrialStarted",
    "ResponsibilityItem",
    "ResponsibilityItemAdded",
    "ResponsibilityItemAmended",
    "ResponsibilityItemRepealed",
    "ResponsibilityListPublished",
    "ReviewVotes",
    "Satisfaction",
    "ServiceStationClosed",
    "ServiceStationOpened",
    "SlaPolicy",
    "SlaPolicySet",
    "StaffHired",
    "TownshipRegistered",
    "Urgency",
    "VillageRegistered",
    "WorkCalendar",
]

HireKind = Literal["institution_staff", "community_assistant", "grid_worker"]


# --- geography and township capacity -----------------------------------------------------------

class _TownshipEvent(DomainEvent):
    stream_kind = "township"
    township_id: str = Field(description="The township's code (its id).")


@registry.register
class TownshipRegistered(_TownshipEvent):
    """A township (乡镇/街道) was registered; its code is its id and the `township` token claim."""

    event_type = "zugong.governance.township_registered"
    name: str = Field(description="Official name of the township.")
    effective_on: date | None = Field(
        None, description="Date the township was established; null when it predates the platform.")


@registry.register
class PartyBuildingOfficeSetUp(_TownshipEvent):
    """The township set up its party-building office (党建办)."""

    event_type = "zugong.governance.party_building_office_set_up"
    staff_count: int = Field(ge=0, description="Staff assigned to the office when it was set up.")
    document_number: str | None = Field(None, description="Document that set it up (文号).")
    effective_on: date = Field(description="Date the office was set up.")


@registry.register
class StaffHired(_TownshipEvent):
    """Grassroots staff of one kind were hired for the township (one intake, a head-count)."""

    event_type = "zugong.governance.staff_hired"
    kind: HireKind = Field(description="Institution staff, community assistants or grid workers.")
    count: int = Field(ge=1, description="How many were hired in this intake.")
    note: str | None = Field(None, description="Free note, e.g. the recruitment notice.")
    effective_on: date = Field(description="Date the hires took up their posts.")


@registry.register
class VillageRegistered(DomainEvent):
    """A village (村) of a township was registered."""

    stream_kind = "village"
    event_type = "zugong.governance.village_registered"
    village_id: str = Field(description="The village's code (its id).")
    township_id: str = Field(description="The township the village belongs to.")
    name: str = Field(description="Name of the village.")


@registry.register
class CommunityRegistered(DomainEvent):
    """A community (社区) of a township was registered."""

    stream_kind = "community"
    event_type = "zugong.governance.community_registered"
    community_id: str = Field(description="The community's code (its id).")
    township_id: str = Field(description="The township the community belongs to.")
    name: str = Field(description="Name of the community.")


class _CompoundEvent(DomainEvent):
    stream_kind = "compound"
    compound_id: str = Field(description="The residential compound's id.")
    township_id: str = Field(description="The township of the compound's community.")


@registry.register
class CompoundRegistered(_CompoundEvent):
    """A residential compound (小区) of a community was registered."""

    event_type = "zugong.governance.compound_registered"
    community_id: str = Field(description="The community the compound belongs to.")
    name: str = Field(description="Name of the compound.")
    households: int = Field(ge=0, description="Households living in the compound.")
    effective_on: date | None = Field(
        None, description="Date the compound was handed over; null when it predates the platform.")


@registry.register
class InstitutionalRuleAdopted(DomainEvent):
    """An institutional rule (制度) for grassroots work was adopted, county-wide or by a township."""

    stream_kind = "institutional_rule"
    event_type = "zugong.governance.institutional_rule_adopted"
    rule_id: str = Field(description="The rule's id.")
    township_id: str | None = Field(None, description="Adopting township; null for a county rule.")
    title: str = Field(description="Title of the rule.")
    document_number: str | None = Field(None, description="Document number (文号).")
    effective_on: date = Field(description="Date the rule takes effect.")


# --- SLA policy --------------------------------------------------------------------------------

ComplaintChannel = Literal["hotline", "mini_program", "web", "walk_in"]
ComplaintCategory = Literal["consultation", "help", "complaint", "report", "suggestion"]
Urgency = Literal["normal", "complex", "urgent", "emergency"]
AlertLevel = Literal["critical", "major", "minor"]
Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied"]
_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Duration(BaseModel):
    """A time limit: minutes, hours, calendar days, or working days (the policy's calendar)."""

    model_config = _FROZEN

    amount: int = Field(ge=1, le=100_000, description="How many units.")
    unit: Literal["minutes", "hours", "days", "working_days"] = Field(description="The unit.")


class ComplaintSla(BaseModel):
    """The three clocks of a complaint, each from the dispatch (派单)."""

    model_config = _FROZEN

    sign_for: Duration = Field(description="From each dispatch to the handling unit's signature.")
    response: Duration = Field(description="From the first dispatch to the first contact with "
                               "the citizen (响应).")
    resolve: Duration = Field(description="From the first dispatch to the reported result (办结反馈).")


class ComplaintSlaRule(ComplaintSla):
    """The clocks for a category and urgency; null matches any (the most specific rule wins)."""

    category: ComplaintCategory | None = Field(None, description="Category, or null for any.")
    urgency: Urgency | None = Field(None, description="Urgency, or null for any.")


class AlertSlaRule(BaseModel):
    """The clocks of a property alert of one level, each from the moment it was raised."""

    model_config = _FROZEN

    level: AlertLevel = Field(description="Alert level.")
    acknowledge: Duration = Field(description="From raised to acknowledged.")
    resolve: Duration = Field(description="From raised to resolved.")


class WorkCalendar(BaseModel):
    """Working days: Monday to Friday, minus public holidays, plus make-up working days (调休)."""

    model_config = _FROZEN

    holidays: list[date] = Field(default_factory=list, description="Public holidays.")
    extra_working_days: list[date] = Field(
        default_factory=list, description="Weekend days that are working days (调休).")


class SlaPolicy(BaseModel):
    """Time limits for complaints (by category and urgency) and property alerts (by level)."""

    model_config = _FROZEN

    complaint_rules: list[ComplaintSlaRule] = Field(description="Complaint clocks.")
    alert_rules: list[AlertSlaRule] = Field(description="Property-alert clocks, one per level.")
    calendar: WorkCalendar = Field(default_factory=WorkCalendar, description="Working days.")


def _d(amount: int, unit: str) -> Duration:
    return Duration(amount=amount, unit=unit)


DEFAULT_SLA_POLICY = SlaPolicy(
    complaint_rules=[
        # REFERENCE.md §2.3: emergencies 2 h, urgent utilities 24 h, general 7 days, complex 15
        # days (Beijing, as reported); consultations and requests for help 3 working days
        # (bureau rule). Sign-for and response limits are proposals [D].
        ComplaintSlaRule(urgency="emergency", sign_for=_d(15, "minutes"),
                         response=_d(30, "minutes"), resolve=_d(2, "hours")),
        ComplaintSlaRule(urgency="urgent", sign_for=_d(1, "hours"), response=_d(2, "hours"),
                         resolve=_d(24, "hours")),
        ComplaintSlaRule(urgency="normal", sign_for=_d(4, "hours"), response=_d(24, "hours"),
                         resolve=_d(7, "days")),
        ComplaintSlaRule(urgency="complex", sign_for=_d(4, "hours"), response=_d(24, "hours"),
                         resolve=_d(15, "days")),
        ComplaintSlaRule(category="consultation", urgency="normal", sign_for=_d(4, "hours"),
                         response=_d(24, "hours"), resolve=_d(3, "working_days")),
        ComplaintSlaRule(category="help", urgency="normal", sign_for=_d(4, "hours"),
                         response=_d(24, "hours"), resolve=_d(3, "working_days")),
    ],
    alert_rules=[
        AlertSlaRule(level="critical", acknowledge=_d(5, "minutes"), resolve=_d(1, "hours")),
        AlertSlaRule(level="major", acknowledge=_d(15, "minutes"), resolve=_d(4, "hours")),
        AlertSlaRule(level="minor", acknowledge=_d(1, "hours"), resolve=_d(24, "hours")),
    ],
)
"""The policy in force until one is set (REFERENCE.md §2.3; proposals marked [D] there)."""


@registry.register
class SlaPolicySet(DomainEvent):
    """The county set the SLA policy; it governs complaints dispatched and alerts raised after."""

    stream_kind = "sla_policy"
    event_type = "zugong.governance.sla_policy_set"
    policy_id: str = Field(description="Always `county`: one policy per platform.")
    policy: SlaPolicy = Field(description="The whole policy now in force.")
    at: datetime = Field(description="When it was set.")


# --- citizen complaints (接诉即办) ---------------------------------------------------------------

class HandlingUnit(BaseModel):
    """Who handles a complaint (承办单位): the township it belongs to, or a county department."""

    model_config = _FROZEN

    kind: Literal["township", "department"] = Field(description="Township or department.")
    id: str = Field(description="Township code, or the department's code.")
    name: str = Field(description="Display name.")


class _ComplaintEvent(DomainEvent):
    stream_kind = "complaint"
    complaint_id: str = Field(description="The complaint (work order) id.")
    township_id: str = Field(description="Township of the complaint's community.")
    at: datetime = Field(description="When it happened (UTC; may be backdated).")


@registry.register
class ComplaintReceived(_ComplaintEvent):
    """A citizen's demand was received (受理)."""

    event_type = "zugong.governance.complaint_received"
    channel: ComplaintChannel = Field(description="How it came in.")
    category: ComplaintCategory = Field(description="Kind of demand.")
    urgency: Urgency = Field(description="Urgency; with the category it selects the SLA clocks.")
    community_id: str = Field(description="Community the demand is about.")
    description: str = Field(description="What the citizen asks for.")
    contact_phone: SealedPersonalData = Field(description="The citizen's phone, sealed.")


@registry.register
class ComplaintDispatched(_ComplaintEvent):
    """The order was dispatched (派单) to a handling unit; carries the clocks now running."""

    event_type = "zugong.governance.complaint_dispatched"
    handling_unit: HandlingUnit = Field(description="The unit that must handle it.")
    dispatch_number: int = Field(ge=1, description="1 for the first dispatch, 2 after a return…")
    sla: ComplaintSla = Field(description="The limits applied (from the policy at first dispatch).")
    sign_for_due: datetime = Field(description="Sign-for deadline of this dispatch.")
    response_due: datetime = Field(description="First-contact deadline.")
    resolve_due: datetime = Field(description="Result deadline.")
    paused_seconds: int = Field(
        ge=0, description="Time the clocks were paused before this dispatch (a granted return), "
        "already added to the deadlines.")


@registry.register
class ComplaintSignedFor(_ComplaintEvent):
    """The handling unit signed for the order (签收)."""

    event_type = "zugong.governance.complaint_signed_for"
    on_time: bool = Field(description="Signed by the sign-for deadline.")


@registry.register
class ComplaintReturnRequested(_ComplaintEvent):
    """The handling unit asked to return the order (退单申请)."""

    event_type = "zugong.governance.complaint_return_requested"
    reason: str = Field(description="Why the unit says it is not theirs.")


@registry.register
class ComplaintReturnDecided(_ComplaintEvent):
    """The dispatch centre decided a return: granted (clocks pause until the next dispatch, from
    the request) or refused (the unit keeps it: forced dispatch)."""

    event_type = "zugong.governance.complaint_return_decided"
    granted: bool = Field(description="Granted or refused.")
    note: str | None = Field(None, description="The centre's note.")


@registry.register
class ComplaintExtensionRequested(_ComplaintEvent):
    """The handling unit asked, before the deadline, for more time (延期申请)."""

    event_type = "zugong.governance.complaint_extension_requested"
    requested: Duration = Field(description="How much more time.")
    reason: str = Field(description="Why.")


@registry.register
class ComplaintExtensionDecided(_ComplaintEvent):
    """The dispatch centre decided an extension; if granted, the result deadline moved."""

    event_type = "zugong.governance.complaint_extension_decided"
    granted: bool = Field(description="Granted or refused.")
    granted_duration: Duration | None = Field(None, description="Time granted, when granted.")
    resolve_due: datetime = Field(description="The result deadline after the decision.")


@registry.register
class ComplainantContacted(_ComplaintEvent):
    """The handling unit first contacted the citizen (响应)."""

    event_type = "zugong.governance.complainant_contacted"
    on_time: bool = Field(description="By the response deadline.")


@registry.register
class ComplaintResultReported(_ComplaintEvent):
    """The handling unit reported the result (办理结果反馈)."""

    event_type = "zugong.governance.complaint_result_reported"
    result: str = Field(description="What was done.")
    on_time: bool = Field(description="By the result deadline.")


@registry.register
class ComplaintFollowedUp(_ComplaintEvent):
    """The centre called the citizen back (回访) and recorded the rating."""

    event_type = "zugong.governance.complaint_followed_up"
    resolved: bool = Field(description="The citizen says it is resolved.")
    satisfaction: Satisfaction = Field(description="The citizen's rating.")
    note: str | None = Field(None, description="Notes of the call.")


@registry.register
class ComplaintReopened(_ComplaintEvent):
    """The order went back to its handling unit (重办) with a new result deadline."""

    event_type = "zugong.governance.complaint_reopened"
    reason: str = Field(description="Why.")
    reopen_count: int = Field(ge=1, description="How many times it has been reopened.")
    resolve_due: datetime = Field(description="The new result deadline.")


@registry.register
class ComplaintClosed(_ComplaintEvent):
    """The order was closed: completed (办结), not accepted (不予受理) or merged as a duplicate."""

    event_type = "zugong.governance.complaint_closed"
    outcome: Literal["completed", "not_accepted", "duplicate"] = Field(description="How.")
    note: str | None = Field(None, description="Closing note.")


@registry.register
class ComplaintOverdueFlagged(_ComplaintEvent):
    """A deadline of an open order passed without the step: supervision (督办) is due."""

    event_type = "zugong.governance.complaint_overdue_flagged"
    deadline: Literal["sign_for", "response", "resolve"] = Field(description="Which clock ran out.")
    due_at: datetime = Field(description="The deadline that passed.")


# --- compounds: service stations, monitoring, property alerts ----------------------------------

AlertType = Literal["video", "smoke", "water_pressure", "elevator", "access_control", "fire_lane",
                    "falling_object", "e_bike_in_elevator"]


@registry.register
class ServiceStationOpened(_CompoundEvent):
    """A Party-mass service station (党群服务站点) opened in the compound."""

    event_type = "zugong.governance.service_station_opened"
    address: str | None = Field(None, description="Where in the compound.")
    effective_on: date = Field(description="Opening date.")


@registry.register
class ServiceStationClosed(_CompoundEvent):
    """The compound's service station closed."""

    event_type = "zugong.governance.service_station_closed"
    reason: str = Field(description="Why.")
    effective_on: date = Field(description="Closing date (not open from that day).")


@registry.register
class MonitoringConnected(_CompoundEvent):
    """The compound's monitoring was connected to the county platform."""

    event_type = "zugong.governance.monitoring_connected"
    devices: int = Field(ge=0, description="Devices connected (cameras, smoke sensors…).")
    effective_on: date = Field(description="Connection date.")


@registry.register
class MonitoringDisconnected(_CompoundEvent):
    """The compound's monitoring was disconnected from the county platform."""

    event_type = "zugong.governance.monitoring_disconnected"
    reason: str = Field(description="Why.")
    effective_on: date = Field(description="Disconnection date (not connected from that day).")


class _AlertEvent(DomainEvent):
    stream_kind = "property_alert"
    alert_id: str = Field(description="The alert's id.")
    compound_id: str = Field(description="The compound it was raised in.")
    township_id: str = Field(description="The compound's township.")
    at: datetime = Field(description="When it happened (UTC; may be backdated).")


@registry.register
class PropertyAlertRaised(_AlertEvent):
    """A monitoring device of the compound raised an alert; carries its SLA deadlines."""

    event_type = "zugong.governance.property_alert_raised"
    type: AlertType = Field(description="What the device detected.")
    level: AlertLevel = Field(description="Alert level; selects the SLA.")
    device: str | None = Field(None, description="Device id or location.")
    acknowledge_due: datetime = Field(description="Acknowledge by.")
    resolve_due: datetime = Field(description="Resolve by.")


@registry.register
class PropertyAlertAcknowledged(_AlertEvent):
    """Someone on duty acknowledged the alert (已确认)."""

    event_type = "zugong.governance.property_alert_acknowledged"
    on_time: bool = Field(description="By the acknowledge deadline.")


@registry.register
class PropertyAlertDispatched(_AlertEvent):
    """The alert was dispatched to the property company, a grid worker or a department."""

    event_type = "zugong.governance.property_alert_dispatched"
    assignee_kind: Literal["property_company", "grid_worker", "department"] = Field(
        description="Who must act.")
    assignee: str = Field(description="Name of the company, worker or department.")


@registry.register
class PropertyAlertResolved(_AlertEvent):
    """The cause of the alert was dealt with (已恢复)."""

    event_type = "zugong.governance.property_alert_resolved"
    on_time: bool = Field(description="By the resolve deadline.")
    note: str | None = Field(None, description="What was done.")


@registry.register
class PropertyAlertFalseAlarm(_AlertEvent):
    """The alert turned out to be a false alarm (误报)."""

    event_type = "zugong.governance.property_alert_false_alarm"
    note: str | None = Field(None, description="Why it is false.")


# --- rectification of weak and lax village Party organisations (软弱涣散村党组织整顿) ------------

RectificationCategory = Literal["weak_organisation", "poor_service", "low_capability",
                                "lax_management"]
"""组织软 weak_organisation, 服务弱 poor_service, 能力差 low_capability, 管理散 lax_management."""


class _RectificationEvent(DomainEvent):
    stream_kind = "rectification_case"
    case_id: str = Field(description="The rectification case (one per village and year).")
    township_id: str = Field(description="The village's township.")


@registry.register
class RectificationCaseOpened(_RectificationEvent):
    """A village Party organisation was listed for rectification for a year."""

    event_type = "zugong.governance.rectification_case_opened"
    village_id: str = Field(description="The village.")
    year: int = Field(description="The rectification year.")
    categories: list[RectificationCategory] = Field(description="Problem categories (multi).")
    criteria: list[str] = Field(default_factory=list,
                                description="Identification criteria the village met.")
    effective_on: date = Field(description="Date the case was opened (认定).")


@registry.register
class RectificationProblemRecorded(_RectificationEvent):
    """A problem was recorded on the case (问题清单)."""

    event_type = "zugong.governance.rectification_problem_recorded"
    problem_id: str = Field(description="P1, P2… within the case.")
    category: RectificationCategory = Field(description="One of the case's categories.")
    description: str = Field(description="The problem.")
    effective_on: date = Field(description="Date found.")


@registry.register
class RectificationMeasureAdopted(_RectificationEvent):
    """A measure against a problem was adopted (措施清单), with its owner and due date."""

    event_type = "zugong.governance.rectification_measure_adopted"
    measure_id: str = Field(description="M1, M2… within the case.")
    problem_id: str = Field(description="The problem it addresses.")
    action: str = Field(description="What will be done.")
    owner: str = Field(description="Who answers for it (责任主体).")
    due_on: date = Field(description="Deadline (时限).")
    effective_on: date = Field(description="Date adopted.")


@registry.register
class RectificationMeasureCompleted(_RectificationEvent):
    """A measure was carried out."""

    event_type = "zugong.governance.rectification_measure_completed"
    measure_id: str = Field(description="The measure.")
    on_time: bool = Field(description="Completed by its due date.")
    effective_on: date = Field(description="Date completed.")


@registry.register
class RectificationProblemResolved(_RectificationEvent):
    """A problem was solved (all its measures completed)."""

    event_type = "zugong.governance.rectification_problem_resolved"
    problem_id: str = Field(description="The problem.")
    effective_on: date = Field(description="Date solved.")


class ReviewVotes(BaseModel):
    """Democratic appraisal (民主测评) votes of Party members and residents."""

    model_config = _FROZEN

    satisfied: int = Field(ge=0, description="满意.")
    basically_satisfied: int = Field(ge=0, description="基本满意.")
    dissatisfied: int = Field(ge=0, description="不满意.")


@registry.register
class RectificationReviewed(_RectificationEvent):
    """The acceptance review (考核验收) passed or failed; a failure means rectifying again."""

    event_type = "zugong.governance.rectification_reviewed"
    passed: bool = Field(description="Accepted or failed.")
    score: int = Field(ge=0, le=100, description="Review score.")
    votes: ReviewVotes | None = Field(None, description="Appraisal votes, when taken.")
    note: str | None = Field(None, description="Reviewers' note.")
    effective_on: date = Field(description="Date of the review.")


@registry.register
class RectificationSignedOff(_RectificationEvent):
    """The accepted case was signed off (销号)."""

    event_type = "zugong.governance.rectification_signed_off"
    document_number: str | None = Field(None, description="Sign-off document (文号).")
    effective_on: date = Field(description="Date signed off.")


@registry.register
class RectificationReopened(_RectificationEvent):
    """An accepted or signed-off case was reopened (rectifying again)."""

    event_type = "zugong.governance.rectification_reopened"
    reason: str = Field(description="Why.")
    effective_on: date = Field(description="Date reopened.")


# --- village-leader reserve pipeline (村党组织带头人后备力量) --------------------------------------

ReserveSource = Literal["wealth_creator", "returning_graduate", "veteran", "migrant_returnee",
                        "party_member_backbone", "other"]
"""致富能手, 返乡大学生, 退役军人, 外出务工经商人员, 农村党员骨干, other."""


class _ReserveEvent(DomainEvent):
    stream_kind = "reserve_candidate"
    candidate_id: str = Field(description="The reserve candidate.")
    village_id: str = Field(description="The candidate's village.")
    township_id: str = Field(description="The village's township.")


@registry.register
class ReserveCandidateAdded(_ReserveEvent):
    """A person was added to a village's leader reserve (摸排 found them)."""

    event_type = "zugong.governance.reserve_candidate_added"
    name: str = Field(description="Full name.")
    source: ReserveSource = Field(description="Where the candidate comes from.")
    leader_candidate: bool = Field(description="Reserve for the village Party secretary (带头人).")
    target_post: Literal["secretary", "director", "member"] | None = Field(
        None, description="Post the candidate is groomed for.")
    birth_year: int | None = Field(None, description="Year of birth.")
    education: str | None = Field(None, description="Highest education.")
    party_member: bool = Field(description="Member of the Party.")
    effective_on: date = Field(description="Date added.")


@registry.register
class ReserveSurveyRecorded(_ReserveEvent):
    """The 五谈五看 survey of the candidate was recorded (a configurable checklist)."""

    event_type = "zugong.governance.reserve_survey_recorded"
    items: list[str] = Field(description="Checklist items done (talks held, aspects looked at).")
    notes: str | None = Field(None, description="Conclusion.")
    effective_on: date = Field(description="Date of the survey.")


@registry.register
class ReserveTalkRecorded(_ReserveEvent):
    """The one-to-one talk (一对一谈话) was held; records the candidate's willingness."""

    event_type = "zugong.governance.reserve_talk_recorded"
    willing: bool = Field(description="The candidate is willing to serve.")
    notes: str | None = Field(None, description="Notes of the talk.")
    effective_on: date = Field(description="Date of the talk.")


@registry.register
class ReserveTrialStarted(_ReserveEvent):
    """The candidate started a trial appointment (试岗)."""

    event_type = "zugong.governance.reserve_trial_started"
    post: Literal["deputy_secretary", "director_assistant"] = Field(description="Trial post.")
    planned_end_on: date = Field(description="Planned end of the trial.")
    effective_on: date = Field(description="Start of the trial.")


@registry.register
class ReserveTrialEvaluated(_ReserveEvent):
    """The trial ended with an evaluation."""

    event_type = "zugong.governance.reserve_trial_evaluated"
    evaluation: Literal["excellent", "competent", "incompetent"] = Field(description="Result.")
    notes: str | None = Field(None, description="Evaluation notes.")
    effective_on: date = Field(description="End of the trial.")


@registry.register
class ReserveCandidateQualified(_ReserveEvent):
    """The candidate qualified as a reserve (储备合格)."""

    event_type = "zugong.governance.reserve_candidate_qualified"
    effective_on: date = Field(description="Date qualified.")


@registry.register
class ReserveCandidateExited(_ReserveEvent):
    """The candidate left the reserve (调整出库)."""

    event_type = "zugong.governance.reserve_candidate_exited"
    reason: str = Field(description="Why.")
    from_stage: str = Field(description="The stage the candidate left from.")
    effective_on: date = Field(description="Date of exit.")


# --- territorial responsibility list (属地管理事项责任清单) ----------------------------------------

class CooperatingDuty(BaseModel):
    """A cooperating department and its duty on an item."""

    model_config = _FROZEN

    department: str = Field(description="The department.")
    duty: str = Field(description="Its duty (配合责任).")


class ResponsibilityItem(BaseModel):
    """An item of the list: the matter, who leads, and what the township does."""

    model_config = _FROZEN

    code: str = Field(description="Item code, unique in the list.")
    matter: str = Field(description="The matter (事项).")
    domain: str = Field(description="Domain, e.g. 生态环境, 安全生产, 市场监管.")
    lead_department: str = Field(description="Department with the main responsibility (主体责任).")
    lead_duty: str = Field(description="Its duty.")
    township_duty: str = Field(description="The township's duty (配合责任: 发现报告、劝阻、协助…).")
    cooperating: list[CooperatingDuty] = Field(default_factory=list,
                                               description="Cooperating departments and duties.")
    legal_basis: str = Field(description="Legal basis (法律法规、三定、权责清单).")


class _ListEvent(DomainEvent):
    stream_kind = "responsibility_list"
    list_id: str = Field(description="Always `county`: one list per county.")


@registry.register
class ResponsibilityItemAdded(_ListEvent):
    """An item was drafted into the list; it is in force from the next published version."""

    event_type = "zugong.governance.responsibility_item_added"
    item: ResponsibilityItem = Field(description="The item.")


@registry.register
class ResponsibilityItemAmended(_ListEvent):
    """An item was amended in the draft; carries the whole amended item."""

    event_type = "zugong.governance.responsibility_item_amended"
    item: ResponsibilityItem = Field(description="The item as amended.")
    reason: str = Field(description="Why (the department's or township's request).")


@registry.register
class ResponsibilityItemRepealed(_ListEvent):
    """An item was repealed in the draft; it leaves the list with the next version."""

    event_type = "zugong.governance.responsibility_item_repealed"
    code: str = Field(description="The item's code.")
    reason: str = Field(description="Why.")


@registry.register
class ResponsibilityListPublished(_ListEvent):
    """A numbered version of the list was published; carries every item in force from then."""

    event_type = "zugong.governance.responsibility_list_published"
    version_number: int = Field(ge=1, description="1, 2, 3…")
    document_number: str = Field(description="Approval document (文号).")
    items: list[ResponsibilityItem] = Field(description="The whole list in this version.")
    added: list[str] = Field(description="Codes added since the previous version.")
    amended: list[str] = Field(description="Codes amended since the previous version.")
    repealed: list[str] = Field(description="Codes repealed since the previous version.")
    effective_on: date = Field(description="Date the version takes effect.")


# --- village access lists (村级组织工作事项、机制牌子、证明事项准入) ----------------------------------

AccessListKind = Literal["statutory_duty", "assistance", "negative", "certificate", "signboard"]
"""依法履行职责事项, 协助工作事项, 负面清单, 出具证明事项, 机制牌子."""


class _AccessEvent(DomainEvent):
    stream_kind = "village_access_list"
    list_id: str = Field(description="Always `county`.")
    entry_id: str = Field(description="The entry.")
    kind: AccessListKind = Field(description="Which list.")
    name: str = Field(description="The work item, certificate or signboard.")


@registry.register
class AccessEntryAdmitted(_AccessEvent):
    """An entry was admitted to a village access list (准入)."""

    event_type = "zugong.governance.access_entry_admitted"
    basis: str = Field(description="Basis of the admission (document, law).")
    requesting_organ: str | None = Field(None, description="Organ that asked for it.")
    effective_on: date = Field(description="In force from.")


@registry.register
class AccessEntryRemoved(_AccessEvent):
    """An entry was removed from its list (调整/退出)."""

    event_type = "zugong.governance.access_entry_removed"
    basis: str = Field(description="Basis of the removal.")
    effective_on: date = Field(description="Not in force from this date.")
