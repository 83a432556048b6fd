"""Command bodies of the governance service (``/api/v1/governance/...``) and its route table.

``COMMANDS`` is the one list of command routes: the service binds a handler to each and the
gateway forwards each, so the two cannot drift apart. ``level`` says who may send it:
``township`` commands need ``governance:write`` and a township operator may send them only for
records of its own township; ``county`` commands need ``governance:administer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.api.personnel import CommandAccepted
from contracts.governance import (
    AccessListKind,
    AlertLevel,
    AlertType,
    ComplaintCategory,
    ComplaintChannel,
    CooperatingDuty,
    Duration,
    HandlingUnit,
    HireKind,
    RectificationCategory,
    ReserveSource,
    ReviewVotes,
    Satisfaction,
    SlaPolicy,
    Urgency,
)

__all__ = [
    "COMMANDS",
    "AcknowledgeAlert",
    "AddReserveCandidate",
    "AddReserveCandidates",
    "AddResponsibilityItem",
    "AdmitAccessEntry",
    "AdoptInstitutionalRule",
    "AdoptMeasure",
    "AdoptRectificationPlan",
    "AmendResponsibilityItem",
    "CloseComplaint",
    "CloseServiceStation",
    "CommandAccepted",
    "CommandRoute",
    "CompleteMeasure",
    "ConnectMonitoring",
    "DecideExtension",
    "DecideReturn",
    "DisconnectMonitoring",
    "DispatchAlert",
    "DispatchComplaint",
    "EvaluateTrial",
    "ExitReserve",
    "MarkFalseAlarm",
    "OpenRectificationCase",
    "OpenServiceStation",
    "PublishResponsibilityList",
    "QualifyReserve",
    "RaiseAlert",
    "ReceiveComplaint",
    "RecordFirstContact",
    "RecordFollowUp",
    "RecordHires",
    "RecordProblem",
    "RecordReserveTalk",
    "RecordSurvey",
    "RegisterCommunity",
    "RegisterCompound",
    "RegisterCompounds",
    "RegisterTownship",
    "RegisterVillage",
    "RegisterVillages",
    "RemoveAccessEntry",
    "ReopenComplaint",
    "ReopenRectification",
    "RepealResponsibilityItem",
    "ReportResult",
    "RequestExtension",
    "RequestReturn",
    "ResolveAlert",
    "ResolveProblem",
    "ReviewRectification",
    "SetSlaPolicy",
    "SetUpPartyBuildingOffice",
    "SignForComplaint",
    "SignOffRectification",
    "StartTrial",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
Code = Field(pattern=CODE, description="Administrative code, also the record's id.")


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(**_STRICT, json_schema_extra={"examples": list(examples)})


# --- geography and township capacity -----------------------------------------------------------

class RegisterTownship(BaseModel):
    """Register a township; its code becomes its id and the value of operators' `township` claim."""

    model_config = _examples({"code": "140624100", "name": "云中镇"})

    code: str = Code
    name: str = Field(min_length=1, max_length=100)
    effective_on: date | None = Field(None, description="Date established; omit if it predates us.")


class RegisterVillage(BaseModel):
    """Register a village of a township."""

    model_config = _examples({"code": "140624100201", "township_id": "140624100", "name": "东关村"})

    code: str = Code
    township_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)


class RegisterVillages(BaseModel):
    """Register a township's villages at once (all or none); answers the last one's id."""

    model_config = _examples({"villages": [{"code": "140624100201", "township_id": "140624100",
                                            "name": "东关村"}]})

    villages: list[RegisterVillage] = Field(min_length=1, max_length=1000)


class RegisterCommunity(BaseModel):
    """Register a community of a township."""

    model_config = _examples({"code": "140624100001", "township_id": "140624100", "name": "仁和社区"})

    code: str = Code
    township_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)


class RegisterCompound(BaseModel):
    """Register a residential compound of a community."""

    model_config = _examples({"community_id": "140624100001", "name": "仁和小区", "households": 640})

    community_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    households: int = Field(ge=0, le=100_000)
    effective_on: date | None = Field(None, description="Hand-over date; omit if it predates us.")


class SetUpPartyBuildingOffice(BaseModel):
    """Record that the township set up its party-building office (党建办)."""

    model_config = _examples({"effective_on": "2024-03-01", "staff_count": 3,
                              "document_number": "怀组发〔2024〕5号"})

    effective_on: date | None = Field(None, description="Date set up; default today.")
    staff_count: int = Field(ge=0, le=1000)
    document_number: str | None = Field(None, max_length=100)


class RecordHires(BaseModel):
    """Record one intake of grassroots staff of one kind for the township."""

    model_config = _examples({"kind": "grid_worker", "count": 4, "effective_on": "2024-07-01"})

    kind: HireKind
    count: int = Field(ge=1, le=5000)
    effective_on: date | None = Field(None, description="Date they took up posts; default today.")
    note: str | None = Field(None, max_length=500)


class AdoptInstitutionalRule(BaseModel):
    """Record an institutional rule adopted county-wide (no township) or by a township."""

    model_config = _examples({"title": "村级组织运转经费管理办法", "document_number": "怀组发〔2024〕9号",
                              "effective_on": "2024-05-01"})

    township_id: str | None = Field(None, max_length=40, description="Omit for a county rule.")
    title: str = Field(min_length=1, max_length=200)
    document_number: str | None = Field(None, max_length=100)
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")


# --- SLA policy and citizen complaints ---------------------------------------------------------

At = Field(None, description="When it happened (with a time zone); default now. May be "
           "backdated, never before the order's previous step nor ahead of the clock.")


class SetSlaPolicy(SlaPolicy):
    """Replace the SLA policy. Every urgency needs a rule for any category (category null);
    each alert level needs one rule. Complaints dispatched and alerts raised later use it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "complaint_rules": [
            {"urgency": "normal", "sign_for": {"amount": 4, "unit": "hours"},
             "response": {"amount": 24, "unit": "hours"}, "resolve": {"amount": 7, "unit": "days"}},
            {"category": "consultation", "urgency": "normal",
             "sign_for": {"amount": 4, "unit": "hours"}, "response": {"amount": 1, "unit": "days"},
             "resolve": {"amount": 3, "unit": "working_days"}}],
        "alert_rules": [{"level": "critical", "acknowledge": {"amount": 5, "unit": "minutes"},
                         "resolve": {"amount": 1, "unit": "hours"}}],
        "calendar": {"holidays": ["2024-10-01"], "extra_working_days": ["2024-10-12"]}}]})


class ReceiveComplaint(BaseModel):
    """Receive a citizen's demand (受理). The phone is sealed before it is recorded."""

    model_config = _examples({"channel": "hotline", "category": "complaint", "urgency": "normal",
                              "community_id": "140624100001", "description": "小区路灯不亮",
                              "contact_phone": "13912345678"})

    channel: ComplaintChannel
    category: ComplaintCategory
    urgency: Urgency = "normal"
    community_id: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=4000)
    contact_phone: str = Field(min_length=7, max_length=20, description="Mobile or landline.")
    at: AwareDatetime | None = At


class DispatchComplaint(BaseModel):
    """Dispatch (派单) to a handling unit: the complaint's own township, or a county department.
    The first dispatch starts the clocks; after a granted return the paused time is added."""

    model_config = _examples({"handling_unit": {"kind": "township", "id": "140624100",
                                                "name": "云中镇"}})

    handling_unit: HandlingUnit
    at: AwareDatetime | None = At


class SignForComplaint(BaseModel):
    """The handling unit signs for the order (签收)."""

    model_config = _examples({})

    at: AwareDatetime | None = At


class RequestReturn(BaseModel):
    """The handling unit asks to return the order (退单)."""

    model_config = _examples({"reason": "属县供水公司职责"})

    reason: str = Field(min_length=1, max_length=1000)
    at: AwareDatetime | None = At


class DecideReturn(BaseModel):
    """Grant (clocks pause until re-dispatch) or refuse (the unit keeps it) a return."""

    model_config = _examples({"granted": True, "note": "改派县水务局"})

    granted: bool
    note: str | None = Field(None, max_length=1000)
    at: AwareDatetime | None = At


class RequestExtension(BaseModel):
    """Ask, before the result deadline, for more time (延期)."""

    model_config = _examples({"requested": {"amount": 5, "unit": "working_days"},
                              "reason": "需协调物业公司"})

    requested: Duration
    reason: str = Field(min_length=1, max_length=1000)
    at: AwareDatetime | None = At


class DecideExtension(BaseModel):
    """Grant (the requested time, or `duration`) or refuse an extension."""

    model_config = _examples({"granted": True})

    granted: bool
    duration: Duration | None = Field(None, description="Time granted; default as requested.")
    at: AwareDatetime | None = At


class RecordFirstContact(BaseModel):
    """The handling unit first contacted the citizen (响应)."""

    model_config = _examples({})

    at: AwareDatetime | None = At


class ReportResult(BaseModel):
    """The handling unit reports the result (反馈); the citizen must have been contacted."""

    model_config = _examples({"result": "已更换路灯"})

    result: str = Field(min_length=1, max_length=4000)
    at: AwareDatetime | None = At


class RecordFollowUp(BaseModel):
    """The centre's call back to the citizen (回访)."""

    model_config = _examples({"resolved": True, "satisfaction": "satisfied"})

    resolved: bool
    satisfaction: Satisfaction
    note: str | None = Field(None, max_length=1000)
    at: AwareDatetime | None = At


class ReopenComplaint(BaseModel):
    """Send the order back to its unit (重办) with a new result deadline."""

    model_config = _examples({"reason": "群众反映问题未解决"})

    reason: str = Field(min_length=1, max_length=1000)
    at: AwareDatetime | None = At


class CloseComplaint(BaseModel):
    """Close: `completed` after a result; `not_accepted` or `duplicate` before any dispatch."""

    model_config = _examples({"outcome": "completed"})

    outcome: Literal["completed", "not_accepted", "duplicate"] | None = None
    note: str | None = Field(None, max_length=1000)
    at: AwareDatetime | None = At


# --- compounds: service stations, monitoring, property alerts ----------------------------------

class CompoundRosterEntry(RegisterCompound):
    """A compound of a roster, with its station and monitoring when it already has them."""

    model_config = _examples({"community_id": "140624100001", "name": "仁和小区", "households": 640,
                              "service_station_opened_on": "2024-05-01",
                              "monitoring_connected_on": "2024-06-01", "devices": 24})

    service_station_opened_on: date | None = None
    monitoring_connected_on: date | None = None
    devices: int = Field(0, ge=0, le=100_000, description="Devices connected, if connected.")


class RegisterCompounds(BaseModel):
    """Register a roster of compounds at once (all or none); answers the last one's id."""

    model_config = _examples({"compounds": [CompoundRosterEntry.model_config["json_schema_extra"][
        "examples"][0]]})

    compounds: list[CompoundRosterEntry] = Field(min_length=1, max_length=500)


class OpenServiceStation(BaseModel):
    """Open the compound's Party-mass service station (党群服务站点)."""

    model_config = _examples({"address": "3号楼一层", "effective_on": "2024-05-01"})

    address: str | None = Field(None, max_length=200)
    effective_on: date | None = Field(None, description="Opening date; default today.")


class CloseServiceStation(BaseModel):
    """Close the compound's service station."""

    model_config = _examples({"reason": "场地收回"})

    reason: str = Field(min_length=1, max_length=500)
    effective_on: date | None = Field(None, description="Closing date; default today.")


class ConnectMonitoring(BaseModel):
    """Connect the compound's monitoring to the county platform."""

    model_config = _examples({"devices": 24, "effective_on": "2024-06-01"})

    devices: int = Field(ge=0, le=100_000)
    effective_on: date | None = Field(None, description="Connection date; default today.")


class DisconnectMonitoring(BaseModel):
    """Disconnect the compound's monitoring from the county platform."""

    model_config = _examples({"reason": "设备更换"})

    reason: str = Field(min_length=1, max_length=500)
    effective_on: date | None = Field(None, description="Disconnection date; default today.")


class RaiseAlert(BaseModel):
    """A connected compound's device raised an alert; the level picks its SLA."""

    model_config = _examples({"compound_id": "5f0c…", "type": "smoke", "level": "critical",
                              "device": "3号楼烟感-02"})

    compound_id: str = Field(min_length=1, max_length=64)
    type: AlertType
    level: AlertLevel
    device: str | None = Field(None, max_length=100)
    at: AwareDatetime | None = At


class AcknowledgeAlert(BaseModel):
    """Acknowledge the alert (已确认)."""

    model_config = _examples({})

    at: AwareDatetime | None = At


class DispatchAlert(BaseModel):
    """Dispatch the alert to whoever must act."""

    model_config = _examples({"assignee_kind": "property_company", "assignee": "仁和物业"})

    assignee_kind: Literal["property_company", "grid_worker", "department"]
    assignee: str = Field(min_length=1, max_length=100)
    at: AwareDatetime | None = At


class ResolveAlert(BaseModel):
    """The cause was dealt with (已恢复)."""

    model_config = _examples({"note": "已清理楼道"})

    note: str | None = Field(None, max_length=1000)
    at: AwareDatetime | None = At


class MarkFalseAlarm(BaseModel):
    """The alert was false (误报)."""

    model_config = _examples({"note": "炊烟误报"})

    note: str | None = Field(None, max_length=1000)
    at: AwareDatetime | None = At


# --- rectification of weak and lax village Party organisations --------------------------------

EffectiveOn = Field(None, description="Business date; default today.")


class OpenRectificationCase(BaseModel):
    """List a village for rectification in a year (one case per village and year)."""

    model_config = _examples({"village_id": "140624100201", "year": 2024,
                              "categories": ["weak_organisation", "lax_management"],
                              "criteria": ["书记出缺超过3个月"], "effective_on": "2024-03-15"})

    village_id: str = Field(min_length=1, max_length=40)
    year: int = Field(ge=2000, le=2100)
    categories: list[RectificationCategory] = Field(min_length=1, max_length=4)
    criteria: list[str] = Field(default_factory=list, max_length=20)
    effective_on: date | None = EffectiveOn


class RecordProblem(BaseModel):
    """Record a problem (问题清单) in one of the case's categories; ids run P1, P2…"""

    model_config = _examples({"category": "lax_management", "description": "三会一课不规范"})

    category: RectificationCategory
    description: str = Field(min_length=1, max_length=2000)
    effective_on: date | None = EffectiveOn


class MeasureInput(BaseModel):
    """A measure against a problem."""

    model_config = _STRICT

    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=100)
    due_on: date


class AdoptMeasure(MeasureInput):
    """Adopt a measure (措施清单) against a problem of the case; ids run M1, M2…"""

    model_config = _examples({"problem_id": "P1", "action": "每月开展主题党日", "owner": "镇党委书记",
                              "due_on": "2024-06-30"})

    problem_id: str = Field(min_length=1, max_length=20)
    effective_on: date | None = EffectiveOn


class PlannedProblem(BaseModel):
    """A problem with its measures, for a one-village plan."""

    model_config = _STRICT

    category: RectificationCategory
    description: str = Field(min_length=1, max_length=2000)
    measures: list[MeasureInput] = Field(default_factory=list, max_length=50)


class AdoptRectificationPlan(BaseModel):
    """Adopt a village's plan (一村一策) at once: problems and their measures, all or none."""

    model_config = _examples({"problems": [{"category": "weak_organisation",
                                            "description": "班子不团结",
                                            "measures": [{"action": "调整班子", "owner": "镇党委",
                                                          "due_on": "2024-05-31"}]}]})

    problems: list[PlannedProblem] = Field(min_length=1, max_length=100)
    effective_on: date | None = EffectiveOn


class CompleteMeasure(BaseModel):
    """A measure was carried out."""

    model_config = _examples({"effective_on": "2024-06-20"})

    effective_on: date | None = EffectiveOn


class ResolveProblem(BaseModel):
    """A problem was solved; every measure against it must be completed."""

    model_config = _examples({"effective_on": "2024-07-01"})

    effective_on: date | None = EffectiveOn


class ReviewRectification(BaseModel):
    """Record the acceptance review. A pass needs every problem solved, a score of at least 70
    and no majority of dissatisfied votes; a failure sends the case back to rectifying."""

    model_config = _examples({"passed": True, "score": 86,
                              "votes": {"satisfied": 12, "basically_satisfied": 2, "dissatisfied": 1}})

    passed: bool
    score: int = Field(ge=0, le=100)
    votes: ReviewVotes | None = None
    note: str | None = Field(None, max_length=2000)
    effective_on: date | None = EffectiveOn


class SignOffRectification(BaseModel):
    """Sign off (销号) an accepted case."""

    model_config = _examples({"document_number": "怀组发〔2024〕30号"})

    document_number: str | None = Field(None, max_length=100)
    effective_on: date | None = EffectiveOn


class ReopenRectification(BaseModel):
    """Reopen an accepted or signed-off case."""

    model_config = _examples({"reason": "问题反弹"})

    reason: str = Field(min_length=1, max_length=1000)
    effective_on: date | None = EffectiveOn


# --- village-leader reserve pipeline ------------------------------------------------------------

class AddReserveCandidate(BaseModel):
    """Add a person to a village's leader reserve; a negative-list hit is refused."""

    model_config = _examples({"village_id": "140624100201", "name": "李强", "source": "veteran",
                              "leader_candidate": True, "party_member": True, "birth_year": 1990})

    village_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    source: ReserveSource
    leader_candidate: bool = Field(description="Reserve for the Party secretary (带头人).")
    target_post: Literal["secretary", "director", "member"] | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100)
    education: str | None = Field(None, max_length=50)
    party_member: bool = False
    negative_list_hit: bool = Field(False, description="Result of the negative-list check (联审).")
    effective_on: date | None = EffectiveOn


class RosterCandidate(AddReserveCandidate):
    """A candidate of a roster, with the survey that found them when it was done."""

    model_config = _STRICT

    surveyed_on: date | None = Field(None, description="Date of the 五谈五看 survey, if done.")
    survey_items: list[str] = Field(default_factory=list, max_length=10)


class AddReserveCandidates(BaseModel):
    """Add a township's roster of candidates at once (all or none); answers the last one's id."""

    model_config = _examples({"candidates": [{
        "village_id": "140624100201", "name": "李强", "source": "veteran",
        "leader_candidate": True, "party_member": True, "surveyed_on": "2024-04-01",
        "survey_items": ["谈思想", "看品行"]}]})

    candidates: list[RosterCandidate] = Field(min_length=1, max_length=1000)


class RecordSurvey(BaseModel):
    """Record the 五谈五看 survey: the checklist items done."""

    model_config = _examples({"items": ["谈思想", "谈经历", "看品行", "看能力"], "notes": "表现突出"})

    items: list[str] = Field(default_factory=list, max_length=10)
    notes: str | None = Field(None, max_length=2000)
    effective_on: date | None = EffectiveOn


class RecordReserveTalk(BaseModel):
    """Record the one-to-one talk and the candidate's willingness."""

    model_config = _examples({"willing": True})

    willing: bool
    notes: str | None = Field(None, max_length=2000)
    effective_on: date | None = EffectiveOn


class StartTrial(BaseModel):
    """Start a trial appointment (试岗) as deputy secretary or director assistant."""

    model_config = _examples({"post": "deputy_secretary", "planned_end_on": "2024-12-31",
                              "effective_on": "2024-07-01"})

    post: Literal["deputy_secretary", "director_assistant"]
    planned_end_on: date
    effective_on: date | None = EffectiveOn


class EvaluateTrial(BaseModel):
    """End the trial with an evaluation."""

    model_config = _examples({"evaluation": "competent"})

    evaluation: Literal["excellent", "competent", "incompetent"]
    notes: str | None = Field(None, max_length=2000)
    effective_on: date | None = EffectiveOn


class QualifyReserve(BaseModel):
    """Qualify the candidate (储备合格): needs a completed, not incompetent trial."""

    model_config = _examples({})

    effective_on: date | None = EffectiveOn


class ExitReserve(BaseModel):
    """Take the candidate out of the reserve (调整出库)."""

    model_config = _examples({"reason": "外出务工"})

    reason: str = Field(min_length=1, max_length=1000)
    effective_on: date | None = EffectiveOn


# --- territorial responsibility list and village access lists -----------------------------------

class ItemContent(BaseModel):
    """What an item of the responsibility list says."""

    model_config = _STRICT

    matter: str = Field(min_length=1, max_length=500)
    domain: str = Field(min_length=1, max_length=50)
    lead_department: str = Field(min_length=1, max_length=100)
    lead_duty: str = Field(min_length=1, max_length=2000)
    township_duty: str = Field(min_length=1, max_length=2000)
    cooperating: list[CooperatingDuty] = Field(default_factory=list, max_length=30)
    legal_basis: str = Field(min_length=1, max_length=2000)


class AddResponsibilityItem(ItemContent):
    """Draft an item into the list; it is in force from the next published version."""

    model_config = _examples({
        "code": "STHJ-001", "matter": "秸秆露天焚烧", "domain": "生态环境",
        "lead_department": "市生态环境局", "lead_duty": "监督检查、立案查处",
        "township_duty": "日常巡查、发现报告、劝阻", "legal_basis": "《大气污染防治法》第七十七条",
        "cooperating": [{"department": "市农业农村局", "duty": "秸秆综合利用指导"}]})

    code: str = Field(pattern=CODE, description="Item code, unique in the list.")


class AmendResponsibilityItem(ItemContent):
    """Replace an item's content in the draft (the whole item, with the reason)."""

    model_config = _examples({
        "matter": "秸秆露天焚烧", "domain": "生态环境", "lead_department": "市生态环境局",
        "lead_duty": "监督检查、立案查处", "township_duty": "网格巡查、发现报告、劝阻",
        "legal_basis": "《大气污染防治法》第七十七条", "reason": "乡镇申请调整配合责任"})

    reason: str = Field(min_length=1, max_length=1000)


class RepealResponsibilityItem(BaseModel):
    """Repeal an item in the draft; it leaves the list with the next version."""

    model_config = _examples({"reason": "职责划转"})

    reason: str = Field(min_length=1, max_length=1000)


class PublishResponsibilityList(BaseModel):
    """Publish the draft as the next numbered version, in force from `effective_on`."""

    model_config = _examples({"effective_on": "2024-07-01", "document_number": "怀办发〔2024〕12号"})

    effective_on: date
    document_number: str = Field(min_length=1, max_length=100)


class AdmitAccessEntry(BaseModel):
    """Admit an entry to a village access list (work items, assistance items, the negative list,
    certificates a village may issue, signboards it may hang)."""

    model_config = _examples({"kind": "certificate", "name": "居住证明",
                              "basis": "怀办发〔2023〕8号", "effective_on": "2023-06-01"})

    kind: AccessListKind
    name: str = Field(min_length=1, max_length=200)
    basis: str = Field(min_length=1, max_length=500)
    requesting_organ: str | None = Field(None, max_length=100)
    effective_on: date | None = EffectiveOn


class RemoveAccessEntry(BaseModel):
    """Remove an entry from its list, with the basis."""

    model_config = _examples({"basis": "年度评估后取消", "effective_on": "2024-07-01"})

    basis: str = Field(min_length=1, max_length=500)
    effective_on: date | None = EffectiveOn


# --- the route table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandRoute:
    """One command route: ``path`` under ``/api/v1/governance``; ``location`` is where the
    record can be read, with ``{id}`` for the id the command answers."""

    name: str
    path: str
    body: type[BaseModel] | None
    level: Literal["township", "county"]
    location: str
    summary: str


COMMANDS: list[CommandRoute] = [
    CommandRoute("register_township", "/townships", RegisterTownship, "county",
                 "/townships/{id}", "Register a township"),
    CommandRoute("set_up_party_building_office", "/townships/{township_id}/party-building-office",
                 SetUpPartyBuildingOffice, "township", "/townships/{id}",
                 "Record the township's party-building office"),
    CommandRoute("record_hires", "/townships/{township_id}/hires", RecordHires, "township",
                 "/townships/{id}", "Record an intake of grassroots staff"),
    CommandRoute("register_village", "/villages", RegisterVillage, "township", "/villages/{id}",
                 "Register a village"),
    CommandRoute("register_villages", "/villages/batch", RegisterVillages, "township",
                 "/villages/{id}", "Register a township's villages"),
    CommandRoute("register_community", "/communities", RegisterCommunity, "township",
                 "/communities/{id}", "Register a community"),
    CommandRoute("register_compound", "/compounds", RegisterCompound, "township", "/compounds/{id}",
                 "Register a residential compound"),
    CommandRoute("adopt_institutional_rule", "/institutional-rules", AdoptInstitutionalRule,
                 "township", "/institutional-rules/{id}", "Record an adopted institutional rule"),
    CommandRoute("set_sla_policy", "/sla-policy", SetSlaPolicy, "county", "/sla-policy",
                 "Set the SLA policy (complaints, alerts, working days)"),
    CommandRoute("receive_complaint", "/complaints", ReceiveComplaint, "county",
                 "/complaints/{id}", "Receive a citizen's demand"),
    *[CommandRoute(name, f"/complaints/{{complaint_id}}/{segment}", body, level,
                   "/complaints/{id}", summary) for name, segment, body, level, summary in [
        ("dispatch_complaint", "dispatch", DispatchComplaint, "county", "Dispatch to a unit"),
        ("sign_for_complaint", "sign-for", SignForComplaint, "township", "Sign for the order"),
        ("request_return", "return-requests", RequestReturn, "township", "Ask to return it"),
        ("decide_return", "return-decisions", DecideReturn, "county", "Decide a return"),
        ("request_extension", "extension-requests", RequestExtension, "township",
         "Ask for more time"),
        ("decide_extension", "extension-decisions", DecideExtension, "county",
         "Decide an extension"),
        ("record_first_contact", "first-contact", RecordFirstContact, "township",
         "Record the first contact with the citizen"),
        ("report_result", "result", ReportResult, "township", "Report the result"),
        ("record_follow_up", "follow-up", RecordFollowUp, "county", "Record the follow-up call"),
        ("reopen_complaint", "reopen", ReopenComplaint, "county", "Reopen (重办)"),
        ("close_complaint", "close", CloseComplaint, "county", "Close the order"),
        ("flag_overdue_complaint", "overdue-flags", None, "county",
         "Flag the order's passed deadlines for supervision (督办), on the service clock"),
    ]],
    CommandRoute("register_compounds", "/compounds/batch", RegisterCompounds, "township",
                 "/compounds/{id}", "Register a roster of compounds"),
    *[CommandRoute(name, f"/compounds/{{compound_id}}/{segment}", body, "township",
                   "/compounds/{id}", summary) for name, segment, body, summary in [
        ("open_service_station", "service-station/opening", OpenServiceStation,
         "Open the service station"),
        ("close_service_station", "service-station/closing", CloseServiceStation,
         "Close the service station"),
        ("connect_monitoring", "monitoring/connection", ConnectMonitoring,
         "Connect monitoring to the county platform"),
        ("disconnect_monitoring", "monitoring/disconnection", DisconnectMonitoring,
         "Disconnect monitoring"),
    ]],
    CommandRoute("raise_alert", "/alerts", RaiseAlert, "township", "/alerts/{id}",
                 "Raise a property alert"),
    *[CommandRoute(name, f"/alerts/{{alert_id}}/{segment}", body, "township", "/alerts/{id}",
                   summary) for name, segment, body, summary in [
        ("acknowledge_alert", "acknowledgement", AcknowledgeAlert, "Acknowledge an alert"),
        ("dispatch_alert", "dispatch", DispatchAlert, "Dispatch an alert"),
        ("resolve_alert", "resolution", ResolveAlert, "Resolve an alert"),
        ("mark_false_alarm", "false-alarm", MarkFalseAlarm, "Mark an alert a false alarm"),
    ]],
    CommandRoute("open_rectification_case", "/rectification-cases", OpenRectificationCase,
                 "township", "/rectification-cases/{id}", "List a village for rectification"),
    *[CommandRoute(name, f"/rectification-cases/{{case_id}}/{segment}", body, level,
                   "/rectification-cases/{id}", summary)
      for name, segment, body, level, summary in [
        ("record_problem", "problems", RecordProblem, "township", "Record a problem"),
        ("adopt_rectification_plan", "plan", AdoptRectificationPlan, "township",
         "Adopt the village's plan: problems and measures"),
        ("adopt_measure", "measures", AdoptMeasure, "township", "Adopt a measure"),
        ("complete_measure", "measures/{measure_id}/completion", CompleteMeasure, "township",
         "Record a measure carried out"),
        ("resolve_problem", "problems/{problem_id}/resolution", ResolveProblem, "township",
         "Record a problem solved"),
        ("review_rectification", "reviews", ReviewRectification, "county",
         "Record the acceptance review"),
        ("sign_off_rectification", "sign-off", SignOffRectification, "county", "Sign off (销号)"),
        ("reopen_rectification", "reopen", ReopenRectification, "county", "Reopen the case"),
    ]],
    CommandRoute("add_reserve_candidate", "/reserve-candidates", AddReserveCandidate, "township",
                 "/reserve-candidates/{id}", "Add a reserve candidate"),
    CommandRoute("add_reserve_candidates", "/reserve-candidates/batch", AddReserveCandidates,
                 "township", "/reserve-candidates/{id}", "Add a roster of reserve candidates"),
    *[CommandRoute(name, f"/reserve-candidates/{{candidate_id}}/{segment}", body, "township",
                   "/reserve-candidates/{id}", summary) for name, segment, body, summary in [
        ("record_survey", "survey", RecordSurvey, "Record the 五谈五看 survey"),
        ("record_reserve_talk", "talk", RecordReserveTalk, "Record the one-to-one talk"),
        ("start_trial", "trial", StartTrial, "Start a trial appointment"),
        ("evaluate_trial", "trial-evaluation", EvaluateTrial, "Evaluate the trial"),
        ("qualify_reserve", "qualification", QualifyReserve, "Qualify the candidate"),
        ("exit_reserve", "exit", ExitReserve, "Take the candidate out of the reserve"),
    ]],
    CommandRoute("add_responsibility_item", "/responsibility-list/items", AddResponsibilityItem,
                 "county", "/responsibility-list/items/{id}", "Draft an item into the list"),
    CommandRoute("amend_responsibility_item", "/responsibility-list/items/{code}/amendment",
                 AmendResponsibilityItem, "county", "/responsibility-list/items/{id}",
                 "Amend an item"),
    CommandRoute("repeal_responsibility_item", "/responsibility-list/items/{code}/repeal",
                 RepealResponsibilityItem, "county", "/responsibility-list/items/{id}",
                 "Repeal an item"),
    CommandRoute("publish_responsibility_list", "/responsibility-list/versions",
                 PublishResponsibilityList, "county", "/responsibility-list/versions",
                 "Publish the next numbered version"),
    CommandRoute("admit_access_entry", "/village-access/entries", AdmitAccessEntry, "county",
                 "/village-access/entries", "Admit an entry to a village access list"),
    CommandRoute("remove_access_entry", "/village-access/entries/{entry_id}/removal",
                 RemoveAccessEntry, "county", "/village-access/entries",
                 "Remove an entry from its list"),
]
