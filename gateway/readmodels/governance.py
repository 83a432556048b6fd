"""Governance read models and the projection that maintains them.

Every row of a township's record carries ``township_id``: queries confine township operators
with one filter. Rows are keyed by natural ids (or stream id + stream version), never by
autoincrement, so a rebuild from the events gives the same rows.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.governance import (
    AccessEntryAdmitted,
    AccessEntryRemoved,
    CommunityRegistered,
    ComplainantContacted,
    ComplaintClosed,
    ComplaintDispatched,
    ComplaintExtensionDecided,
    ComplaintExtensionRequested,
    ComplaintFollowedUp,
    ComplaintOverdueFlagged,
    ComplaintReceived,
    ComplaintReopened,
    ComplaintResultReported,
    ComplaintReturnDecided,
    ComplaintReturnRequested,
    ComplaintSignedFor,
    CompoundRegistered,
    InstitutionalRuleAdopted,
    MonitoringConnected,
    MonitoringDisconnected,
    PartyBuildingOfficeSetUp,
    PropertyAlertAcknowledged,
    PropertyAlertDispatched,
    PropertyAlertFalseAlarm,
    PropertyAlertRaised,
    PropertyAlertResolved,
    RectificationCaseOpened,
    RectificationMeasureAdopted,
    RectificationMeasureCompleted,
    RectificationProblemRecorded,
    RectificationProblemResolved,
    RectificationReopened,
    RectificationReviewed,
    RectificationSignedOff,
    ReserveCandidateAdded,
    ReserveCandidateExited,
    ReserveCandidateQualified,
    ReserveSurveyRecorded,
    ReserveTalkRecorded,
    ReserveTrialEvaluated,
    ReserveTrialStarted,
    ResponsibilityItemAdded,
    ResponsibilityItemAmended,
    ResponsibilityItemRepealed,
    ResponsibilityListPublished,
    ServiceStationClosed,
    ServiceStationOpened,
    SlaPolicySet,
    StaffHired,
    TownshipRegistered,
    VillageRegistered,
)
from contracts.registry import DomainEvent
from services.kernel.db import upsert

__all__ = ["GovernanceProjection", "metadata"]

metadata = sa.MetaData()
_ID = 64
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

townships = sa.Table(
    "rm_governance_townships", metadata,
    sa.Column("township_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("established_on", sa.Date, nullable=True),
    sa.Column("office_set_up_on", sa.Date, nullable=True),
    sa.Column("office_staff", sa.Integer, nullable=True),
    sa.Column("office_document", sa.String(100), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

hires = sa.Table(
    "rm_governance_hires", metadata,
    sa.Column("township_id", sa.String(_ID), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, doc="Version of the township stream."),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("hired_on", sa.Date, nullable=False, index=True),
    sa.Column("note", sa.String(500), nullable=True),
)

villages = sa.Table(
    "rm_governance_villages", metadata,
    sa.Column("village_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

communities = sa.Table(
    "rm_governance_communities", metadata,
    sa.Column("community_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

compounds = sa.Table(
    "rm_governance_compounds", metadata,
    sa.Column("compound_id", sa.String(_ID), primary_key=True),
    sa.Column("community_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("households", sa.Integer, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("station_open", sa.Boolean, nullable=False, default=False),
    sa.Column("monitoring_connected", sa.Boolean, nullable=False, default=False),
    sa.Column("devices", sa.Integer, nullable=False, default=0),
    sa.Column("version", sa.Integer, nullable=False),
)

compound_periods = sa.Table(
    "rm_governance_compound_periods", metadata,
    sa.Column("compound_id", sa.String(_ID), primary_key=True),
    sa.Column("facility", sa.String(20), primary_key=True, doc="station or monitoring"),
    sa.Column("seq", sa.Integer, primary_key=True, doc="Compound stream version that opened it."),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("start_on", sa.Date, nullable=False),
    sa.Column("end_on", sa.Date, nullable=True, doc="First day it no longer runs."),
)

rules = sa.Table(
    "rm_governance_rules", metadata,
    sa.Column("rule_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=True, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("document_number", sa.String(100), nullable=True),
    sa.Column("effective_on", sa.Date, nullable=False),
)

sla_policy = sa.Table(
    "rm_governance_sla_policy", metadata,
    sa.Column("policy_id", sa.String(_ID), primary_key=True),
    sa.Column("policy", sa.JSON, nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

_TS = sa.DateTime(timezone=True)

complaints = sa.Table(
    "rm_governance_complaints", metadata,
    sa.Column("complaint_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("community_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("urgency", sa.String(20), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("phone_masked", sa.String(32), nullable=False),
    sa.Column("phone_sealed", sa.Text, nullable=False),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("received_at", _TS, nullable=False, index=True),
    sa.Column("received_on", sa.Date, nullable=False, index=True, doc="Local (China) date."),
    sa.Column("unit_kind", sa.String(20), nullable=True),
    sa.Column("unit_id", sa.String(_ID), nullable=True, index=True),
    sa.Column("unit_name", sa.String(100), nullable=True),
    sa.Column("dispatches", sa.Integer, nullable=False, default=0),
    sa.Column("first_dispatched_at", _TS, nullable=True),
    sa.Column("sign_for_due", _TS, nullable=True),
    sa.Column("response_due", _TS, nullable=True),
    sa.Column("resolve_due", _TS, nullable=True),
    sa.Column("paused_since", _TS, nullable=True),
    sa.Column("return_requested_at", _TS, nullable=True),
    sa.Column("signed_at", _TS, nullable=True),
    sa.Column("contacted_at", _TS, nullable=True),
    sa.Column("contacted_on_time", sa.Boolean, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("result_at", _TS, nullable=True),
    sa.Column("result_on_time", sa.Boolean, nullable=True),
    sa.Column("followed_up_at", _TS, nullable=True),
    sa.Column("resolved", sa.Boolean, nullable=True),
    sa.Column("satisfaction", sa.String(30), nullable=True),
    sa.Column("closed_at", _TS, nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("returns_requested", sa.Integer, nullable=False, default=0),
    sa.Column("returns_granted", sa.Integer, nullable=False, default=0),
    sa.Column("extensions_requested", sa.Integer, nullable=False, default=0),
    sa.Column("extensions_granted", sa.Integer, nullable=False, default=0),
    sa.Column("reopen_count", sa.Integer, nullable=False, default=0),
    sa.Column("overdue_flags", sa.Integer, nullable=False, default=0),
    sa.Column("last_flagged_at", _TS, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

complaint_dispatches = sa.Table(
    "rm_governance_complaint_dispatches", metadata,
    sa.Column("complaint_id", sa.String(_ID), primary_key=True),
    sa.Column("dispatch_number", sa.Integer, primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("unit_kind", sa.String(20), nullable=False),
    sa.Column("unit_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("unit_name", sa.String(100), nullable=False),
    sa.Column("dispatched_at", _TS, nullable=False),
    sa.Column("sign_for_due", _TS, nullable=False),
    sa.Column("signed_at", _TS, nullable=True),
    sa.Column("signed_on_time", sa.Boolean, nullable=True),
    sa.Column("return_requested_at", _TS, nullable=True),
    sa.Column("return_granted", sa.Boolean, nullable=True),
)

alerts = sa.Table(
    "rm_governance_alerts", metadata,
    sa.Column("alert_id", sa.String(_ID), primary_key=True),
    sa.Column("compound_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("device", sa.String(100), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("raised_at", _TS, nullable=False, index=True),
    sa.Column("acknowledge_due", _TS, nullable=False),
    sa.Column("resolve_due", _TS, nullable=False),
    sa.Column("acknowledged_at", _TS, nullable=True),
    sa.Column("acknowledged_on_time", sa.Boolean, nullable=True),
    sa.Column("dispatched_at", _TS, nullable=True),
    sa.Column("assignee_kind", sa.String(30), nullable=True),
    sa.Column("assignee", sa.String(100), nullable=True),
    sa.Column("resolved_at", _TS, nullable=True),
    sa.Column("resolved_on_time", sa.Boolean, nullable=True),
    sa.Column("false_alarm_at", _TS, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

rect_cases = sa.Table(
    "rm_governance_rect_cases", metadata,
    sa.Column("case_id", sa.String(_ID), primary_key=True),
    sa.Column("village_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False, index=True),
    sa.Column("categories", sa.String(200), nullable=False, doc="Comma-separated, sorted."),
    sa.Column("criteria", sa.JSON, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("failed_reviews", sa.Integer, nullable=False, default=0),
    sa.Column("last_score", sa.Integer, nullable=True),
    sa.Column("accepted_on", sa.Date, nullable=True),
    sa.Column("signed_off_on", sa.Date, nullable=True),
    sa.Column("sign_off_document", sa.String(100), nullable=True),
    sa.Column("reopen_count", sa.Integer, nullable=False, default=0),
    sa.Column("version", sa.Integer, nullable=False),
)

rect_case_categories = sa.Table(
    "rm_governance_rect_case_categories", metadata,
    sa.Column("case_id", sa.String(_ID), primary_key=True),
    sa.Column("category", sa.String(30), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
)

rect_problems = sa.Table(
    "rm_governance_rect_problems", metadata,
    sa.Column("case_id", sa.String(_ID), primary_key=True),
    sa.Column("problem_id", sa.String(20), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("found_on", sa.Date, nullable=False),
    sa.Column("resolved_on", sa.Date, nullable=True),
)

rect_measures = sa.Table(
    "rm_governance_rect_measures", metadata,
    sa.Column("case_id", sa.String(_ID), primary_key=True),
    sa.Column("measure_id", sa.String(20), primary_key=True),
    sa.Column("problem_id", sa.String(20), nullable=False),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("adopted_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("completed_on_time", sa.Boolean, nullable=True),
)

reserve_candidates = sa.Table(
    "rm_governance_reserve_candidates", metadata,
    sa.Column("candidate_id", sa.String(_ID), primary_key=True),
    sa.Column("village_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("source", sa.String(30), nullable=False),
    sa.Column("leader_candidate", sa.Boolean, nullable=False),
    sa.Column("target_post", sa.String(20), nullable=True),
    sa.Column("birth_year", sa.Integer, nullable=True),
    sa.Column("education", sa.String(50), nullable=True),
    sa.Column("party_member", sa.Boolean, nullable=False),
    sa.Column("stage", sa.String(20), nullable=False, index=True),
    sa.Column("added_on", sa.Date, nullable=False),
    sa.Column("surveyed_on", sa.Date, nullable=True),
    sa.Column("survey_items", sa.JSON, nullable=True),
    sa.Column("talked_on", sa.Date, nullable=True),
    sa.Column("willing", sa.Boolean, nullable=True),
    sa.Column("trial_post", sa.String(30), nullable=True),
    sa.Column("trial_start_on", sa.Date, nullable=True),
    sa.Column("trial_planned_end_on", sa.Date, nullable=True),
    sa.Column("trial_end_on", sa.Date, nullable=True),
    sa.Column("evaluation", sa.String(20), nullable=True),
    sa.Column("qualified_on", sa.Date, nullable=True),
    sa.Column("exited_on", sa.Date, nullable=True),
    sa.Column("exit_reason", sa.Text, nullable=True),
    sa.Column("exited_from", sa.String(20), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

resp_items = sa.Table(
    "rm_governance_resp_items", metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("matter", sa.String(500), nullable=False),
    sa.Column("domain", sa.String(50), nullable=False, index=True),
    sa.Column("lead_department", sa.String(100), nullable=False, index=True),
    sa.Column("lead_duty", sa.Text, nullable=False),
    sa.Column("township_duty", sa.Text, nullable=False),
    sa.Column("cooperating", sa.JSON, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, doc="active or repealed (in the draft)."),
    sa.Column("pending", sa.String(20), nullable=True,
              doc="added / amended / repealed since the last published version."),
)

resp_versions = sa.Table(
    "rm_governance_resp_versions", metadata,
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("effective_on", sa.Date, nullable=False, index=True),
    sa.Column("document_number", sa.String(100), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("added", sa.JSON, nullable=False),
    sa.Column("amended", sa.JSON, nullable=False),
    sa.Column("repealed", sa.JSON, nullable=False),
)

resp_version_items = sa.Table(
    "rm_governance_resp_version_items", metadata,
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("matter", sa.String(500), nullable=False),
    sa.Column("domain", sa.String(50), nullable=False),
    sa.Column("lead_department", sa.String(100), nullable=False),
    sa.Column("lead_duty", sa.Text, nullable=False),
    sa.Column("township_duty", sa.Text, nullable=False),
    sa.Column("cooperating", sa.JSON, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
)

access_entries = sa.Table(
    "rm_governance_access_entries", metadata,
    sa.Column("entry_id", sa.String(_ID), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False, index=True),
    sa.Column("basis", sa.String(500), nullable=False),
    sa.Column("requesting_organ", sa.String(100), nullable=True),
    sa.Column("admitted_on", sa.Date, nullable=False),
    sa.Column("removed_on", sa.Date, nullable=True),
    sa.Column("removal_basis", sa.String(500), nullable=True),
)


def name_key(name: str) -> str:
    """How access-list names match: case, edge blanks and blank runs ignored (as the service)."""
    return re.sub(r"\s+", " ", name).strip().casefold()


async def _update(conn: AsyncConnection, table: sa.Table, key: str, value: str,
                  values: dict) -> None:
    result = await conn.execute(table.update().where(table.c[key] == value).values(**values))
    if result.rowcount != 1:
        raise LookupError(f"{table.name}: no row {key}={value} (event before its record)")


class GovernanceProjection:
    """Townships and their capacity, villages, communities, compounds, rules, complaints, alerts,
    rectification cases, reserve candidates and the published lists."""

    name = "governance"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.governance.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        await self._apply(conn, data, event)

    async def _apply(self, conn: AsyncConnection, data: DomainEvent, event: EventEnvelope) -> None:
        version = event.streamversion
        match data:
            case TownshipRegistered():
                await conn.execute(townships.insert().values(
                    township_id=data.township_id, name=data.name,
                    established_on=data.effective_on, version=version))
            case PartyBuildingOfficeSetUp():
                await _update(conn, townships, "township_id", data.township_id, {
                    "office_set_up_on": data.effective_on, "office_staff": data.staff_count,
                    "office_document": data.document_number, "version": version})
            case StaffHired():
                await conn.execute(hires.insert().values(
                    township_id=data.township_id, seq=version, kind=data.kind, count=data.count,
                    hired_on=data.effective_on, note=data.note))
                await _update(conn, townships, "township_id", data.township_id,
                              {"version": version})
            case VillageRegistered():
                await conn.execute(villages.insert().values(
                    village_id=data.village_id, township_id=data.township_id, name=data.name,
                    version=version))
            case CommunityRegistered():
                await conn.execute(communities.insert().values(
                    community_id=data.community_id, township_id=data.township_id,
                    name=data.name, version=version))
            case CompoundRegistered():
                await conn.execute(compounds.insert().values(
                    compound_id=data.compound_id, community_id=data.community_id,
                    township_id=data.township_id, name=data.name, households=data.households,
                    registered_on=data.effective_on, station_open=False,
                    monitoring_connected=False, devices=0, version=version))
            case ServiceStationOpened() | MonitoringConnected():
                facility = "station" if isinstance(data, ServiceStationOpened) else "monitoring"
                await conn.execute(compound_periods.insert().values(
                    compound_id=data.compound_id, facility=facility, seq=version,
                    township_id=data.township_id, start_on=data.effective_on))
                values = ({"station_open": True} if facility == "station" else
                          {"monitoring_connected": True, "devices": data.devices})
                await _update(conn, compounds, "compound_id", data.compound_id,
                              {**values, "version": version})
            case ServiceStationClosed() | MonitoringDisconnected():
                facility = "station" if isinstance(data, ServiceStationClosed) else "monitoring"
                p = compound_periods.c
                await conn.execute(compound_periods.update().where(
                    p.compound_id == data.compound_id, p.facility == facility,
                    p.end_on.is_(None)).values(end_on=data.effective_on))
                values = ({"station_open": False} if facility == "station" else
                          {"monitoring_connected": False, "devices": 0})
                await _update(conn, compounds, "compound_id", data.compound_id,
                              {**values, "version": version})
            case PropertyAlertRaised():
                await conn.execute(alerts.insert().values(
                    alert_id=data.alert_id, compound_id=data.compound_id,
                    township_id=data.township_id, type=data.type, level=data.level,
                    device=data.device, state="raised", raised_at=data.at,
                    acknowledge_due=data.acknowledge_due, resolve_due=data.resolve_due,
                    version=version))
            case PropertyAlertAcknowledged():
                await _update(conn, alerts, "alert_id", data.alert_id, {
                    "state": "acknowledged", "acknowledged_at": data.at,
                    "acknowledged_on_time": data.on_time, "version": version})
            case PropertyAlertDispatched():
                await _update(conn, alerts, "alert_id", data.alert_id, {
                    "state": "dispatched", "dispatched_at": data.at,
                    "assignee_kind": data.assignee_kind, "assignee": data.assignee,
                    "version": version})
            case PropertyAlertResolved():
                await _update(conn, alerts, "alert_id", data.alert_id, {
                    "state": "resolved", "resolved_at": data.at,
                    "resolved_on_time": data.on_time, "note": data.note, "version": version})
            case PropertyAlertFalseAlarm():
                await _update(conn, alerts, "alert_id", data.alert_id, {
                    "state": "false_alarm", "false_alarm_at": data.at, "note": data.note,
                    "version": version})
            case ReserveCandidateAdded():
                await conn.execute(reserve_candidates.insert().values(
                    candidate_id=data.candidate_id, village_id=data.village_id,
                    township_id=data.township_id, name=data.name, source=data.source,
                    leader_candidate=data.leader_candidate, target_post=data.target_post,
                    birth_year=data.birth_year, education=data.education,
                    party_member=data.party_member, stage="identified",
                    added_on=data.effective_on, version=version))
            case _ if data.stream_kind == "reserve_candidate":
                await _update(conn, reserve_candidates, "candidate_id", data.candidate_id,
                              {**_reserve_step(data), "version": version})
            case _ if data.stream_kind == "rectification_case":
                await _rectification(conn, data, version)
            case ResponsibilityItemAdded() | ResponsibilityItemAmended():
                item = data.item.model_dump(mode="json")
                pending = "added" if isinstance(data, ResponsibilityItemAdded) else "amended"
                row = {**item, "status": "active"}
                if isinstance(data, ResponsibilityItemAdded):
                    await conn.execute(resp_items.insert().values(**row, pending=pending))
                else:
                    r = resp_items.c
                    await _update(conn, resp_items, "code", data.item.code, {
                        **row, "pending": sa.func.coalesce(r.pending, pending)})
            case ResponsibilityItemRepealed():
                r = resp_items.c
                await _update(conn, resp_items, "code", data.code, {
                    "status": "repealed", "pending": sa.case(
                        (r.pending == "added", None), else_="repealed")})
            case ResponsibilityListPublished():
                await conn.execute(resp_versions.insert().values(
                    number=data.version_number, effective_on=data.effective_on,
                    document_number=data.document_number, items=len(data.items),
                    added=list(data.added), amended=list(data.amended),
                    repealed=list(data.repealed)))
                if data.items:
                    await conn.execute(resp_version_items.insert(), [
                        {"number": data.version_number, **i.model_dump(mode="json")}
                        for i in data.items])
                await conn.execute(resp_items.update().values(pending=None))
            case AccessEntryAdmitted():
                await conn.execute(access_entries.insert().values(
                    entry_id=data.entry_id, kind=data.kind, name=data.name,
                    name_key=name_key(data.name), basis=data.basis,
                    requesting_organ=data.requesting_organ, admitted_on=data.effective_on))
            case AccessEntryRemoved():
                await _update(conn, access_entries, "entry_id", data.entry_id, {
                    "removed_on": data.effective_on, "removal_basis": data.basis})
            case InstitutionalRuleAdopted():
                await conn.execute(rules.insert().values(
                    rule_id=data.rule_id, township_id=data.township_id, title=data.title,
                    document_number=data.document_number, effective_on=data.effective_on))

            case _ if data.stream_kind == "complaint":
                await _complaint(conn, data, version)
            case SlaPolicySet():
                await upsert(conn, sla_policy, [{
                    "policy_id": data.policy_id, "policy": data.policy.model_dump(mode="json"),
                    "set_at": data.at, "version": version}], ["policy_id"])


async def _complaint(conn: AsyncConnection, data: DomainEvent, version: int) -> None:
    key = data.complaint_id
    c = complaints.c
    values: dict = {"version": version}
    match data:
        case ComplaintReceived():
            await conn.execute(complaints.insert().values(
                complaint_id=key, township_id=data.township_id, community_id=data.community_id,
                channel=data.channel, category=data.category, urgency=data.urgency,
                description=data.description, phone_masked=data.contact_phone.masked,
                phone_sealed=data.contact_phone.ciphertext, state="received",
                received_at=data.at, received_on=data.at.astimezone(LOCAL_TZ).date(),
                dispatches=0, returns_requested=0, returns_granted=0, extensions_requested=0,
                extensions_granted=0, reopen_count=0, overdue_flags=0, version=version))
            return
        case ComplaintDispatched():
            unit = data.handling_unit
            await conn.execute(complaint_dispatches.insert().values(
                complaint_id=key, dispatch_number=data.dispatch_number,
                township_id=data.township_id, unit_kind=unit.kind, unit_id=unit.id,
                unit_name=unit.name, dispatched_at=data.at, sign_for_due=data.sign_for_due))
            values.update(state="dispatched", unit_kind=unit.kind, unit_id=unit.id,
                          unit_name=unit.name, dispatches=data.dispatch_number,
                          first_dispatched_at=sa.func.coalesce(c.first_dispatched_at, data.at),
                          sign_for_due=data.sign_for_due, response_due=data.response_due,
                          resolve_due=data.resolve_due, paused_since=None, signed_at=None)
        case ComplaintSignedFor():
            await _current_dispatch(conn, key, signed_at=data.at, signed_on_time=data.on_time)
            values.update(state="signed", signed_at=data.at)
        case ComplaintReturnRequested():
            await _current_dispatch(conn, key, return_requested_at=data.at)
            values.update(state="return_requested", return_requested_at=data.at,
                          returns_requested=c.returns_requested + 1)
        case ComplaintReturnDecided():
            await _current_dispatch(conn, key, return_granted=data.granted)
            if data.granted:
                values.update(state="received", paused_since=c.return_requested_at,
                              returns_granted=c.returns_granted + 1)
            else:
                values.update(state=sa.case((c.signed_at.is_(None), "dispatched"),
                                            else_="signed"))
        case ComplaintExtensionRequested():
            values.update(extensions_requested=c.extensions_requested + 1)
        case ComplaintExtensionDecided():
            values.update(resolve_due=data.resolve_due)
            if data.granted:
                values.update(extensions_granted=c.extensions_granted + 1)
        case ComplainantContacted():
            values.update(contacted_at=data.at, contacted_on_time=data.on_time)
        case ComplaintResultReported():
            values.update(state="result_reported", result=data.result, result_at=data.at,
                          result_on_time=data.on_time)
        case ComplaintFollowedUp():
            values.update(state="followed_up", followed_up_at=data.at, resolved=data.resolved,
                          satisfaction=data.satisfaction)
        case ComplaintReopened():
            values.update(state="signed", reopen_count=data.reopen_count,
                          resolve_due=data.resolve_due, outcome=None, closed_at=None)
        case ComplaintClosed():
            values.update(state="closed", closed_at=data.at, outcome=data.outcome)
        case ComplaintOverdueFlagged():
            values.update(overdue_flags=c.overdue_flags + 1, last_flagged_at=data.at)
    await _update(conn, complaints, "complaint_id", key, values)


async def _current_dispatch(conn: AsyncConnection, complaint_id: str, **values) -> None:
    d = complaint_dispatches.c
    current = sa.select(sa.func.max(d.dispatch_number)).where(
        d.complaint_id == complaint_id).scalar_subquery()
    await conn.execute(complaint_dispatches.update().where(
        d.complaint_id == complaint_id, d.dispatch_number == current).values(**values))


async def _rectification(conn: AsyncConnection, data: DomainEvent, version: int) -> None:
    key = data.case_id
    c = rect_cases.c
    values: dict = {"version": version}
    match data:
        case RectificationCaseOpened():
            await conn.execute(rect_cases.insert().values(
                case_id=key, village_id=data.village_id, township_id=data.township_id,
                year=data.year, categories=",".join(sorted(data.categories)),
                criteria=list(data.criteria), state="rectifying", opened_on=data.effective_on,
                failed_reviews=0, reopen_count=0, version=version))
            await conn.execute(rect_case_categories.insert(), [
                {"case_id": key, "category": category, "township_id": data.township_id,
                 "year": data.year} for category in data.categories])
            return
        case RectificationProblemRecorded():
            year = sa.select(c.year).where(c.case_id == key).scalar_subquery()
            await conn.execute(rect_problems.insert().values(
                case_id=key, problem_id=data.problem_id, township_id=data.township_id,
                year=year, category=data.category, description=data.description,
                found_on=data.effective_on))
        case RectificationMeasureAdopted():
            p = rect_problems.c
            problem = (await conn.execute(sa.select(p.year, p.category).where(
                p.case_id == key, p.problem_id == data.problem_id))).one()
            await conn.execute(rect_measures.insert().values(
                case_id=key, measure_id=data.measure_id, problem_id=data.problem_id,
                township_id=data.township_id, year=problem.year, category=problem.category,
                action=data.action, owner=data.owner, adopted_on=data.effective_on,
                due_on=data.due_on))
        case RectificationMeasureCompleted():
            m = rect_measures.c
            await conn.execute(rect_measures.update().where(
                m.case_id == key, m.measure_id == data.measure_id).values(
                completed_on=data.effective_on, completed_on_time=data.on_time))
        case RectificationProblemResolved():
            p = rect_problems.c
            await conn.execute(rect_problems.update().where(
                p.case_id == key, p.problem_id == data.problem_id).values(
                resolved_on=data.effective_on))
        case RectificationReviewed():
            values["last_score"] = data.score
            if data.passed:
                values.update(state="accepted", accepted_on=data.effective_on)
            else:
                values["failed_reviews"] = c.failed_reviews + 1
        case RectificationSignedOff():
            values.update(state="signed_off", signed_off_on=data.effective_on,
                          sign_off_document=data.document_number)
        case RectificationReopened():
            values.update(state="rectifying", reopen_count=c.reopen_count + 1, accepted_on=None,
                          signed_off_on=None, sign_off_document=None)
    await _update(conn, rect_cases, "case_id", key, values)


def _reserve_step(data: DomainEvent) -> dict:
    on = data.effective_on
    match data:
        case ReserveSurveyRecorded():
            return {"stage": "surveyed", "surveyed_on": on, "survey_items": list(data.items)}
        case ReserveTalkRecorded():
            return {"stage": "talked", "talked_on": on, "willing": data.willing}
        case ReserveTrialStarted():
            return {"stage": "on_trial", "trial_post": data.post, "trial_start_on": on,
                    "trial_planned_end_on": data.planned_end_on}
        case ReserveTrialEvaluated():
            return {"stage": "trial_completed", "trial_end_on": on, "evaluation": data.evaluation}
        case ReserveCandidateQualified():
            return {"stage": "qualified", "qualified_on": on}
        case ReserveCandidateExited():
            return {"stage": "exited", "exited_on": on, "exit_reason": data.reason,
                    "exited_from": data.from_stage}
    raise LookupError(f"no reserve step for {type(data).__name__}")
