"""Governance command handlers: load, check scope, decide, append. Dependencies are arguments."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from contracts import registry
from contracts.api import governance as api
from contracts.governance import ResponsibilityItem, SlaPolicy
from services.governance.domain.alert import PropertyAlert
from services.governance.domain.common import local_date, utc
from services.governance.domain.complaint import Complaint
from services.governance.domain.geography import (
    Community,
    Compound,
    InstitutionalRule,
    Township,
    Village,
)
from services.governance.domain.lists import LIST_ID, AccessLists, ResponsibilityList
from services.governance.domain.phone import normalise_phone
from services.governance.domain.policy import POLICY_ID, SlaPolicyRecord
from services.governance.domain.rectification import RectificationCase, case_id_for
from services.governance.domain.reserve import ReserveCandidate
from services.kernel.aggregate import Aggregate, Repository
from services.kernel.auth import Forbidden
from services.kernel.commands import CommandOutcome, Decision, execute_command
from services.kernel.errors import DomainRuleViolation, NotFound
from services.kernel.eventstore import CommandMetadata, EventStore
from services.kernel.personal_data import PersonalDataVault

__all__ = ["HANDLERS", "Actor", "GovernanceDeps"]


@dataclass(frozen=True)
class Actor:
    """Who sends the command and what they may touch: ``township`` scopes a township operator
    to its own records; ``county`` says the sender may send county-level commands."""

    meta: CommandMetadata
    township: str | None = None
    county: bool = True
    if_match: int | None = None

    def sees(self, township_id: str | None) -> bool:
        return self.township is None or township_id == self.township

    def ensure_visible(self, township_id: str | None, what: str, record_id: str) -> None:
        """A record of another township does not exist for a township operator."""
        if not self.sees(township_id):
            raise NotFound(f"{what} {record_id} does not exist")

    def ensure_may_use(self, township_id: str | None, pointer: str) -> None:
        if not self.sees(township_id):
            raise Forbidden(f"a township operator of {self.township} may not act for "
                            f"township {township_id}",
                            errors=[{"pointer": pointer, "detail": "another township's record",
                                     "code": "out_of_scope"}])

    def ensure_county(self, what: str) -> None:
        if self.township is not None or not self.county:
            raise Forbidden(f"{what} is a county-level action")


@dataclass
class GovernanceDeps:
    store: EventStore
    vault: PersonalDataVault
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.townships = Repository(self.store, Township, registry)
        self.villages = Repository(self.store, Village, registry)
        self.communities = Repository(self.store, Community, registry)
        self.compounds = Repository(self.store, Compound, registry)
        self.rules = Repository(self.store, InstitutionalRule, registry)
        self.policies = Repository(self.store, SlaPolicyRecord, registry)
        self.complaints = Repository(self.store, Complaint, registry)
        self.alerts = Repository(self.store, PropertyAlert, registry)
        self.cases = Repository(self.store, RectificationCase, registry)
        self.candidates = Repository(self.store, ReserveCandidate, registry)
        self.responsibility_lists = Repository(self.store, ResponsibilityList, registry)
        self.access_lists = Repository(self.store, AccessLists, registry)

    def now(self) -> datetime:
        return utc(self.clock())

    def today(self) -> date:
        return local_date(self.now())

    async def get(self, repo: Repository, record_id: str, what: str, actor: Actor) -> Aggregate:
        """The record named in the path, if it exists and the actor may see it (else 404)."""
        record = await repo.get(record_id, what=what)
        actor.ensure_visible(record.township_id, what, record_id)
        return record

    async def ref(self, repo: Repository, record_id: str, what: str, actor: Actor,
                  pointer: str) -> Aggregate:
        """A record named in the body: 422 if unknown, 403 if another township's."""
        record = await repo.load(record_id)
        if not record.exists:
            raise DomainRuleViolation(f"{what} {record_id} does not exist", pointer=pointer,
                                      code=f"unknown_{what.replace(' ', '_')}")
        actor.ensure_may_use(record.township_id, pointer)
        return record


Handler = Callable[..., Awaitable[CommandOutcome]]
HANDLERS: dict[str, Handler] = {}


def handler(function: Handler) -> Handler:
    HANDLERS[function.__name__] = function
    return function


async def _run(d: GovernanceDeps, actor: Actor, decide: Callable[[], Awaitable[Decision]],
               ) -> CommandOutcome:
    return await execute_command(d.store, decide, actor.meta, if_match=actor.if_match)


async def _change(d: GovernanceDeps, actor: Actor, repo: Repository, record_id: str, what: str,
                  change: Callable[[Aggregate], None]) -> CommandOutcome:
    """The common shape: one existing record, in scope, changed by one domain method."""
    async def decide() -> Decision:
        record = await d.get(repo, record_id, what, actor)
        change(record)
        return Decision([record], record)

    return await _run(d, actor, decide)


# --- geography and township capacity -----------------------------------------------------------

@handler
async def register_township(d: GovernanceDeps, actor: Actor, body: api.RegisterTownship,
                            ) -> CommandOutcome:
    actor.ensure_county("registering a township")

    async def decide() -> Decision:
        township = await d.townships.load(body.code)
        township.register(body.name, body.effective_on, d.today())
        return Decision([township], township)

    return await _run(d, actor, decide)


@handler
async def set_up_party_building_office(d: GovernanceDeps, actor: Actor,
                                       body: api.SetUpPartyBuildingOffice, township_id: str,
                                       ) -> CommandOutcome:
    return await _change(d, actor, d.townships, township_id, "township", lambda t: (
        t.set_up_party_building_office(body.effective_on or d.today(), body.staff_count,
                                       body.document_number, d.today())))


@handler
async def record_hires(d: GovernanceDeps, actor: Actor, body: api.RecordHires, township_id: str,
                       ) -> CommandOutcome:
    return await _change(d, actor, d.townships, township_id, "township", lambda t: (
        t.record_hires(body.kind, body.count, body.effective_on or d.today(), body.note,
                       d.today())))


async def _township_ref(d: GovernanceDeps, actor: Actor, township_id: str) -> Township:
    actor.ensure_may_use(township_id, "#/township_id")
    return await d.ref(d.townships, township_id, "township", actor, "#/township_id")


@handler
async def register_village(d: GovernanceDeps, actor: Actor, body: api.RegisterVillage,
                           ) -> CommandOutcome:
    async def decide() -> Decision:
        township = await _township_ref(d, actor, body.township_id)
        village = await d.villages.load(body.code)
        village.register(township, body.name)
        return Decision([village], village)

    return await _run(d, actor, decide)


@handler
async def register_villages(d: GovernanceDeps, actor: Actor, body: api.RegisterVillages,
                            ) -> CommandOutcome:
    async def decide() -> Decision:
        seen, changed, codes = {}, [], set()
        for i, entry in enumerate(body.villages):
            if entry.code in codes:
                raise DomainRuleViolation(f"village {entry.code} is listed twice",
                                          pointer=f"#/villages/{i}/code", code="duplicate")
            codes.add(entry.code)
            if entry.township_id not in seen:
                actor.ensure_may_use(entry.township_id, f"#/villages/{i}/township_id")
                seen[entry.township_id] = await d.ref(d.townships, entry.township_id, "township",
                                                      actor, f"#/villages/{i}/township_id")
            village = await d.villages.load(entry.code)
            village.register(seen[entry.township_id], entry.name)
            changed.append(village)
        return Decision(changed, changed[-1])

    return await _run(d, actor, decide)


@handler
async def register_community(d: GovernanceDeps, actor: Actor, body: api.RegisterCommunity,
                             ) -> CommandOutcome:
    async def decide() -> Decision:
        township = await _township_ref(d, actor, body.township_id)
        community = await d.communities.load(body.code)
        community.register(township, body.name)
        return Decision([community], community)

    return await _run(d, actor, decide)


@handler
async def register_compound(d: GovernanceDeps, actor: Actor, body: api.RegisterCompound,
                            ) -> CommandOutcome:
    compound_id = str(uuid.uuid4())

    async def decide() -> Decision:
        community = await d.ref(d.communities, body.community_id, "community", actor,
                                "#/community_id")
        compound = d.compounds.new(compound_id)
        compound.register(community, body.name, body.households, body.effective_on, d.today())
        return Decision([compound], compound)

    return await _run(d, actor, decide)


@handler
async def adopt_institutional_rule(d: GovernanceDeps, actor: Actor,
                                   body: api.AdoptInstitutionalRule) -> CommandOutcome:
    rule_id = str(uuid.uuid4())
    if body.township_id is None:
        actor.ensure_county("adopting a county-wide rule")

    async def decide() -> Decision:
        township = (await _township_ref(d, actor, body.township_id)
                    if body.township_id is not None else None)
        rule = await d.rules.load(rule_id)
        rule.adopt(township, body.title, body.document_number, body.effective_on or d.today(),
                   d.today())
        return Decision([rule], rule)

    return await _run(d, actor, decide)


# --- SLA policy and citizen complaints ---------------------------------------------------------

@handler
async def set_sla_policy(d: GovernanceDeps, actor: Actor, body: api.SetSlaPolicy,
                         ) -> CommandOutcome:
    actor.ensure_county("setting the SLA policy")
    policy = SlaPolicy.model_validate(body.model_dump())

    async def decide() -> Decision:
        record = await d.policies.load(POLICY_ID)
        record.set(policy, d.now(), d.now())
        return Decision([record], record)

    return await _run(d, actor, decide)


@handler
async def receive_complaint(d: GovernanceDeps, actor: Actor, body: api.ReceiveComplaint,
                            ) -> CommandOutcome:
    try:
        phone = normalise_phone(body.contact_phone)
    except ValueError as error:
        raise DomainRuleViolation(f"contact_phone: {error}", pointer="#/contact_phone",
                                  code="phone") from None
    sealed = d.vault.seal("phone", phone)
    complaint_id = str(uuid.uuid4())

    async def decide() -> Decision:
        community = await d.ref(d.communities, body.community_id, "community", actor,
                                "#/community_id")
        complaint = d.complaints.new(complaint_id)
        complaint.receive(
            township_id=community.township_id, community_id=community.id, channel=body.channel,
            category=body.category, urgency=body.urgency, description=body.description,
            contact_phone=sealed, at=body.at or d.now(), now=d.now())
        return Decision([complaint], complaint)

    return await _run(d, actor, decide)


async def _policy(d: GovernanceDeps) -> SlaPolicy:
    return (await d.policies.load(POLICY_ID)).current


def _unit_acts(actor: Actor, complaint: Complaint) -> None:
    """Handling-unit steps: a township operator acts only on orders its township handles."""
    unit = complaint.unit
    if actor.township is not None and (unit is None or unit.kind != "township"
                                       or unit.id != actor.township):
        raise Forbidden(f"complaint {complaint.id} is handled by "
                        f"{unit.name if unit else 'no unit yet'}, not by township {actor.township}")


def _complaint_step(step: Callable[[Complaint, GovernanceDeps, SlaPolicy], None], *,
                    unit_step: bool = False, needs_policy: bool = False):
    async def run(d: GovernanceDeps, actor: Actor, complaint_id: str) -> CommandOutcome:
        async def decide() -> Decision:
            complaint = await d.get(d.complaints, complaint_id, "complaint", actor)
            if unit_step:
                _unit_acts(actor, complaint)
            policy = await _policy(d) if needs_policy else None
            step(complaint, d, policy)
            return Decision([complaint], complaint)

        return await _run(d, actor, decide)
    return run


@handler
async def dispatch_complaint(d: GovernanceDeps, actor: Actor, body: api.DispatchComplaint,
                             complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.dispatch(
        body.handling_unit, p, body.at or d.now(), d.now()), needs_policy=True)(
        d, actor, complaint_id)


@handler
async def sign_for_complaint(d: GovernanceDeps, actor: Actor, body: api.SignForComplaint,
                             complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.sign_for(body.at or d.now(), d.now()),
                                 unit_step=True)(d, actor, complaint_id)


@handler
async def request_return(d: GovernanceDeps, actor: Actor, body: api.RequestReturn,
                         complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.request_return(
        body.reason, body.at or d.now(), d.now()), unit_step=True)(d, actor, complaint_id)


@handler
async def decide_return(d: GovernanceDeps, actor: Actor, body: api.DecideReturn,
                        complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.decide_return(
        body.granted, body.note, body.at or d.now(), d.now()))(d, actor, complaint_id)


@handler
async def request_extension(d: GovernanceDeps, actor: Actor, body: api.RequestExtension,
                            complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.request_extension(
        body.requested, body.reason, body.at or d.now(), d.now()), unit_step=True)(
        d, actor, complaint_id)


@handler
async def decide_extension(d: GovernanceDeps, actor: Actor, body: api.DecideExtension,
                           complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.decide_extension(
        body.granted, body.duration, p, body.at or d.now(), d.now()), needs_policy=True)(
        d, actor, complaint_id)


@handler
async def record_first_contact(d: GovernanceDeps, actor: Actor, body: api.RecordFirstContact,
                               complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.record_first_contact(
        body.at or d.now(), d.now()), unit_step=True)(d, actor, complaint_id)


@handler
async def report_result(d: GovernanceDeps, actor: Actor, body: api.ReportResult,
                        complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.report_result(
        body.result, body.at or d.now(), d.now()), unit_step=True)(d, actor, complaint_id)


@handler
async def record_follow_up(d: GovernanceDeps, actor: Actor, body: api.RecordFollowUp,
                           complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.record_follow_up(
        body.resolved, body.satisfaction, body.note, body.at or d.now(), d.now()))(
        d, actor, complaint_id)


@handler
async def reopen_complaint(d: GovernanceDeps, actor: Actor, body: api.ReopenComplaint,
                           complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.reopen(
        body.reason, p, body.at or d.now(), d.now()), needs_policy=True)(d, actor, complaint_id)


@handler
async def close_complaint(d: GovernanceDeps, actor: Actor, body: api.CloseComplaint,
                          complaint_id: str) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.close(
        body.outcome, body.note, body.at or d.now(), d.now()))(d, actor, complaint_id)


@handler
async def flag_overdue_complaint(d: GovernanceDeps, actor: Actor, complaint_id: str,
                                 ) -> CommandOutcome:
    return await _complaint_step(lambda c, d, p: c.flag_overdue(d.now()))(d, actor, complaint_id)


# --- compounds: service stations, monitoring, property alerts ----------------------------------

@handler
async def register_compounds(d: GovernanceDeps, actor: Actor, body: api.RegisterCompounds,
                             ) -> CommandOutcome:
    ids = [str(uuid.uuid4()) for _ in body.compounds]

    async def decide() -> Decision:
        today, seen, changed = d.today(), {}, []
        for i, (entry, compound_id) in enumerate(zip(body.compounds, ids, strict=True)):
            if entry.community_id not in seen:
                seen[entry.community_id] = await d.ref(
                    d.communities, entry.community_id, "community", actor,
                    f"#/compounds/{i}/community_id")
            compound = Compound(compound_id)
            compound.register(seen[entry.community_id], entry.name, entry.households,
                              entry.effective_on, today)
            try:
                if entry.service_station_opened_on:
                    compound.open_service_station(None, entry.service_station_opened_on, today)
                if entry.monitoring_connected_on:
                    compound.connect_monitoring(entry.devices, entry.monitoring_connected_on, today)
            except DomainRuleViolation as error:
                raise DomainRuleViolation(error.detail, pointer=f"#/compounds/{i}",
                                          code=error.code) from None
            changed.append(compound)
        return Decision(changed, changed[-1])

    return await _run(d, actor, decide)


@handler
async def open_service_station(d: GovernanceDeps, actor: Actor, body: api.OpenServiceStation,
                               compound_id: str) -> CommandOutcome:
    return await _change(d, actor, d.compounds, compound_id, "compound", lambda c: (
        c.open_service_station(body.address, body.effective_on or d.today(), d.today())))


@handler
async def close_service_station(d: GovernanceDeps, actor: Actor, body: api.CloseServiceStation,
                                compound_id: str) -> CommandOutcome:
    return await _change(d, actor, d.compounds, compound_id, "compound", lambda c: (
        c.close_service_station(body.reason, body.effective_on or d.today(), d.today())))


@handler
async def connect_monitoring(d: GovernanceDeps, actor: Actor, body: api.ConnectMonitoring,
                             compound_id: str) -> CommandOutcome:
    return await _change(d, actor, d.compounds, compound_id, "compound", lambda c: (
        c.connect_monitoring(body.devices, body.effective_on or d.today(), d.today())))


@handler
async def disconnect_monitoring(d: GovernanceDeps, actor: Actor, body: api.DisconnectMonitoring,
                                compound_id: str) -> CommandOutcome:
    return await _change(d, actor, d.compounds, compound_id, "compound", lambda c: (
        c.disconnect_monitoring(body.reason, body.effective_on or d.today(), d.today())))


@handler
async def raise_alert(d: GovernanceDeps, actor: Actor, body: api.RaiseAlert) -> CommandOutcome:
    alert_id = str(uuid.uuid4())

    async def decide() -> Decision:
        compound = await d.ref(d.compounds, body.compound_id, "compound", actor, "#/compound_id")
        alert = d.alerts.new(alert_id)
        alert.raise_(compound, body.type, body.level, body.device, await _policy(d),
                     body.at or d.now(), d.now())
        return Decision([alert], alert)

    return await _run(d, actor, decide)


@handler
async def acknowledge_alert(d: GovernanceDeps, actor: Actor, body: api.AcknowledgeAlert,
                            alert_id: str) -> CommandOutcome:
    return await _change(d, actor, d.alerts, alert_id, "alert", lambda a: (
        a.acknowledge(body.at or d.now(), d.now())))


@handler
async def dispatch_alert(d: GovernanceDeps, actor: Actor, body: api.DispatchAlert,
                         alert_id: str) -> CommandOutcome:
    return await _change(d, actor, d.alerts, alert_id, "alert", lambda a: (
        a.dispatch(body.assignee_kind, body.assignee, body.at or d.now(), d.now())))


@handler
async def resolve_alert(d: GovernanceDeps, actor: Actor, body: api.ResolveAlert,
                        alert_id: str) -> CommandOutcome:
    return await _change(d, actor, d.alerts, alert_id, "alert", lambda a: (
        a.resolve(body.note, body.at or d.now(), d.now())))


@handler
async def mark_false_alarm(d: GovernanceDeps, actor: Actor, body: api.MarkFalseAlarm,
                           alert_id: str) -> CommandOutcome:
    return await _change(d, actor, d.alerts, alert_id, "alert", lambda a: (
        a.mark_false_alarm(body.note, body.at or d.now(), d.now())))


# --- rectification of weak and lax village Party organisations --------------------------------

@handler
async def open_rectification_case(d: GovernanceDeps, actor: Actor,
                                  body: api.OpenRectificationCase) -> CommandOutcome:
    async def decide() -> Decision:
        village = await d.ref(d.villages, body.village_id, "village", actor, "#/village_id")
        case = await d.cases.load(case_id_for(village.id, body.year))
        case.open(village, body.year, list(body.categories), list(body.criteria),
                  body.effective_on or d.today(), d.today())
        return Decision([case], case)

    return await _run(d, actor, decide)


def _case_step(step: Callable[[RectificationCase, date], None]):
    async def run(d: GovernanceDeps, actor: Actor, case_id: str) -> CommandOutcome:
        return await _change(d, actor, d.cases, case_id, "rectification case",
                             lambda case: step(case, d.today()))
    return run


@handler
async def record_problem(d: GovernanceDeps, actor: Actor, body: api.RecordProblem, case_id: str,
                         ) -> CommandOutcome:
    return await _case_step(lambda c, today: c.record_problem(
        body.category, body.description, body.effective_on or today, today))(d, actor, case_id)


@handler
async def adopt_rectification_plan(d: GovernanceDeps, actor: Actor,
                                   body: api.AdoptRectificationPlan, case_id: str,
                                   ) -> CommandOutcome:
    def plan(case: RectificationCase, today: date) -> None:
        on = body.effective_on or today
        for i, problem in enumerate(body.problems):
            problem_id = case.record_problem(problem.category, problem.description, on, today,
                                             pointer=f"#/problems/{i}")
            for j, measure in enumerate(problem.measures):
                case.adopt_measure(problem_id, measure.action, measure.owner, measure.due_on, on,
                                   today, pointer=f"#/problems/{i}/measures/{j}")

    return await _case_step(plan)(d, actor, case_id)


@handler
async def adopt_measure(d: GovernanceDeps, actor: Actor, body: api.AdoptMeasure, case_id: str,
                        ) -> CommandOutcome:
    return await _case_step(lambda c, today: c.adopt_measure(
        body.problem_id, body.action, body.owner, body.due_on, body.effective_on or today,
        today))(d, actor, case_id)


@handler
async def complete_measure(d: GovernanceDeps, actor: Actor, body: api.CompleteMeasure,
                           case_id: str, measure_id: str) -> CommandOutcome:
    return await _case_step(lambda c, today: c.complete_measure(
        measure_id, body.effective_on or today, today))(d, actor, case_id)


@handler
async def resolve_problem(d: GovernanceDeps, actor: Actor, body: api.ResolveProblem,
                          case_id: str, problem_id: str) -> CommandOutcome:
    return await _case_step(lambda c, today: c.resolve_problem(
        problem_id, body.effective_on or today, today))(d, actor, case_id)


@handler
async def review_rectification(d: GovernanceDeps, actor: Actor, body: api.ReviewRectification,
                               case_id: str) -> CommandOutcome:
    return await _case_step(lambda c, today: c.review(
        body.passed, body.score, body.votes, body.note, body.effective_on or today, today))(
        d, actor, case_id)


@handler
async def sign_off_rectification(d: GovernanceDeps, actor: Actor,
                                 body: api.SignOffRectification, case_id: str) -> CommandOutcome:
    return await _case_step(lambda c, today: c.sign_off(
        body.document_number, body.effective_on or today, today))(d, actor, case_id)


@handler
async def reopen_rectification(d: GovernanceDeps, actor: Actor, body: api.ReopenRectification,
                               case_id: str) -> CommandOutcome:
    return await _case_step(lambda c, today: c.reopen(
        body.reason, body.effective_on or today, today))(d, actor, case_id)


# --- village-leader reserve pipeline ------------------------------------------------------------

def _add_candidate(candidate: ReserveCandidate, village: Village, entry, today: date,
                   pointer: str = "#") -> None:
    candidate.add(village, name=entry.name, source=entry.source,
                  leader_candidate=entry.leader_candidate, target_post=entry.target_post,
                  birth_year=entry.birth_year, education=entry.education,
                  party_member=entry.party_member, negative_list_hit=entry.negative_list_hit,
                  effective_on=entry.effective_on or today, today=today, pointer=pointer)


@handler
async def add_reserve_candidate(d: GovernanceDeps, actor: Actor, body: api.AddReserveCandidate,
                                ) -> CommandOutcome:
    candidate_id = str(uuid.uuid4())

    async def decide() -> Decision:
        village = await d.ref(d.villages, body.village_id, "village", actor, "#/village_id")
        candidate = ReserveCandidate(candidate_id)
        _add_candidate(candidate, village, body, d.today())
        return Decision([candidate], candidate)

    return await _run(d, actor, decide)


@handler
async def add_reserve_candidates(d: GovernanceDeps, actor: Actor,
                                 body: api.AddReserveCandidates) -> CommandOutcome:
    ids = [str(uuid.uuid4()) for _ in body.candidates]

    async def decide() -> Decision:
        today, seen, changed = d.today(), {}, []
        for i, (entry, candidate_id) in enumerate(zip(body.candidates, ids, strict=True)):
            pointer = f"#/candidates/{i}"
            if entry.village_id not in seen:
                seen[entry.village_id] = await d.ref(d.villages, entry.village_id, "village",
                                                     actor, f"{pointer}/village_id")
            candidate = ReserveCandidate(candidate_id)
            _add_candidate(candidate, seen[entry.village_id], entry, today, pointer)
            if entry.surveyed_on is not None:
                try:
                    candidate.record_survey(list(entry.survey_items), None, entry.surveyed_on,
                                            today)
                except DomainRuleViolation as error:
                    raise DomainRuleViolation(error.detail, pointer=f"{pointer}/surveyed_on",
                                              code=error.code) from None
            changed.append(candidate)
        return Decision(changed, changed[-1])

    return await _run(d, actor, decide)


def _candidate_step(step: Callable[[ReserveCandidate, date], None]):
    async def run(d: GovernanceDeps, actor: Actor, candidate_id: str) -> CommandOutcome:
        return await _change(d, actor, d.candidates, candidate_id, "reserve candidate",
                             lambda c: step(c, d.today()))
    return run


@handler
async def record_survey(d: GovernanceDeps, actor: Actor, body: api.RecordSurvey,
                        candidate_id: str) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.record_survey(
        list(body.items), body.notes, body.effective_on or today, today))(d, actor, candidate_id)


@handler
async def record_reserve_talk(d: GovernanceDeps, actor: Actor, body: api.RecordReserveTalk,
                              candidate_id: str) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.record_talk(
        body.willing, body.notes, body.effective_on or today, today))(d, actor, candidate_id)


@handler
async def start_trial(d: GovernanceDeps, actor: Actor, body: api.StartTrial, candidate_id: str,
                      ) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.start_trial(
        body.post, body.planned_end_on, body.effective_on or today, today))(
        d, actor, candidate_id)


@handler
async def evaluate_trial(d: GovernanceDeps, actor: Actor, body: api.EvaluateTrial,
                         candidate_id: str) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.evaluate_trial(
        body.evaluation, body.notes, body.effective_on or today, today))(d, actor, candidate_id)


@handler
async def qualify_reserve(d: GovernanceDeps, actor: Actor, body: api.QualifyReserve,
                          candidate_id: str) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.qualify(body.effective_on or today, today))(
        d, actor, candidate_id)


@handler
async def exit_reserve(d: GovernanceDeps, actor: Actor, body: api.ExitReserve,
                       candidate_id: str) -> CommandOutcome:
    return await _candidate_step(lambda c, today: c.exit(
        body.reason, body.effective_on or today, today))(d, actor, candidate_id)


# --- territorial responsibility list and village access lists -----------------------------------

def _list_step(d: GovernanceDeps, repo: Repository, what: str,
               step: Callable[[Aggregate], None]):
    async def run(actor: Actor) -> CommandOutcome:
        actor.ensure_county(what)

        async def decide() -> Decision:
            record = await repo.load(LIST_ID)
            step(record)
            return Decision([record], record)

        return await _run(d, actor, decide)
    return run


@handler
async def add_responsibility_item(d: GovernanceDeps, actor: Actor,
                                  body: api.AddResponsibilityItem) -> CommandOutcome:
    item = ResponsibilityItem.model_validate(body.model_dump())
    return await _list_step(d, d.responsibility_lists, "the responsibility list",
                            lambda r: r.add_item(item))(actor)


@handler
async def amend_responsibility_item(d: GovernanceDeps, actor: Actor,
                                    body: api.AmendResponsibilityItem, code: str,
                                    ) -> CommandOutcome:
    item = ResponsibilityItem.model_validate({**body.model_dump(exclude={"reason"}), "code": code})
    return await _list_step(d, d.responsibility_lists, "the responsibility list",
                            lambda r: r.amend_item(item, body.reason))(actor)


@handler
async def repeal_responsibility_item(d: GovernanceDeps, actor: Actor,
                                     body: api.RepealResponsibilityItem, code: str,
                                     ) -> CommandOutcome:
    return await _list_step(d, d.responsibility_lists, "the responsibility list",
                            lambda r: r.repeal_item(code, body.reason))(actor)


@handler
async def publish_responsibility_list(d: GovernanceDeps, actor: Actor,
                                      body: api.PublishResponsibilityList) -> CommandOutcome:
    return await _list_step(d, d.responsibility_lists, "the responsibility list",
                            lambda r: r.publish(body.document_number, body.effective_on,
                                                d.today()))(actor)


@handler
async def admit_access_entry(d: GovernanceDeps, actor: Actor, body: api.AdmitAccessEntry,
                             ) -> CommandOutcome:
    entry_id = str(uuid.uuid4())
    return await _list_step(d, d.access_lists, "the village access lists", lambda r: r.admit(
        entry_id, body.kind, body.name, body.basis, body.requesting_organ,
        body.effective_on or d.today(), d.today()))(actor)


@handler
async def remove_access_entry(d: GovernanceDeps, actor: Actor, body: api.RemoveAccessEntry,
                              entry_id: str) -> CommandOutcome:
    return await _list_step(d, d.access_lists, "the village access lists", lambda r: r.remove(
        entry_id, body.basis, body.effective_on or d.today(), d.today()))(actor)
