"""Training read models (classes, sessions, enrolments, attendance, mass events, campaigns)
and the projection that maintains them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.training import (
    AttendanceRecorded,
    MassEventHeadCountRevised,
    MassEventHeld,
    SessionScheduled,
    StudyCampaignCompleted,
    StudyCampaignLaunched,
    StudyChapterCompleted,
    TraineeCompleted,
    TraineeEnrolled,
    TraineeWithdrawn,
    TrainingClassCancelled,
    TrainingClassCompleted,
    TrainingClassOpened,
    TrainingClassScheduled,
)
from services.kernel.db import upsert

__all__ = [
    "TrainingProjection",
    "attendance",
    "campaign_chapters",
    "campaigns",
    "classes",
    "enrolments",
    "mass_events",
    "metadata",
    "sessions",
]

metadata = sa.MetaData()

classes = sa.Table(
    "rm_training_classes", metadata,
    sa.Column("class_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("off_the_job", sa.Boolean, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("planned_hours", sa.Integer, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("organizer", sa.String(200), nullable=True),
    sa.Column("venue", sa.String(200), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("opened_on", sa.Date, nullable=True),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("cancelled_on", sa.Date, nullable=True),
    sa.Column("cancel_reason", sa.String(500), nullable=True),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    sa.Column("session_hours", sa.Integer, nullable=False, default=0),
    sa.Column("enrolled", sa.Integer, nullable=False, default=0),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_training_classes_start", "starts_on", "class_id"),
)

sessions = sa.Table(
    "rm_training_sessions", metadata,
    sa.Column("class_id", sa.String(64), primary_key=True),
    sa.Column("session_no", sa.Integer, primary_key=True),
    sa.Column("topic", sa.String(300), nullable=False),
    sa.Column("lecturer_name", sa.String(100), nullable=False),
    sa.Column("lecturer_title", sa.String(100), nullable=True),
    sa.Column("lecturer_affiliation", sa.String(200), nullable=True),
    sa.Column("invited", sa.Boolean, nullable=False),
    sa.Column("tutor_name", sa.String(100), nullable=False),
    sa.Column("tutor_title", sa.String(100), nullable=True),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("hours", sa.Integer, nullable=False),
)

enrolments = sa.Table(
    "rm_training_enrolments", metadata,
    sa.Column("class_id", sa.String(64), primary_key=True),
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("enrolled_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("leave_hours", sa.Integer, nullable=False, default=0),
    sa.Column("withdrawn_on", sa.Date, nullable=True),
    sa.Column("credited_hours", sa.Integer, nullable=False, default=0),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Index("ix_rm_training_enrolments_cadre", "cadre_id", "completed_on"),
)

attendance = sa.Table(
    "rm_training_attendance", metadata,
    sa.Column("class_id", sa.String(64), primary_key=True),
    sa.Column("session_no", sa.Integer, primary_key=True),
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
)

mass_events = sa.Table(
    "rm_training_mass_events", metadata,
    sa.Column("mass_event_id", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("head_count", sa.Integer, nullable=False),
    sa.Column("organizer", sa.String(200), nullable=True),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("revisions", sa.Integer, nullable=False, default=0),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_training_mass_events_held", "held_on", "mass_event_id"),
)

campaigns = sa.Table(
    "rm_training_campaigns", metadata,
    sa.Column("campaign_id", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("chapters_total", sa.Integer, nullable=False),
    sa.Column("chapters_done", sa.Integer, nullable=False, default=0),
    sa.Column("participants", sa.Integer, nullable=False, default=0),
    sa.Column("launched_on", sa.Date, nullable=False),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

campaign_chapters = sa.Table(
    "rm_training_campaign_chapters", metadata,
    sa.Column("campaign_id", sa.String(64), primary_key=True),
    sa.Column("chapter", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("participants", sa.Integer, nullable=True),
    sa.Column("studied_on", sa.Date, nullable=True),
)


class TrainingProjection:
    """Everything the training queries read; fed by ``zugong.training.*`` events."""

    name = "training"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.training.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        version = event.streamversion
        match data:
            case TrainingClassScheduled():
                await upsert(conn, classes, [{
                    "class_id": data.class_id, "name": data.name, "kind": data.kind,
                    "mode": data.mode, "off_the_job": data.off_the_job,
                    "starts_on": data.starts_on, "ends_on": data.ends_on,
                    "planned_hours": data.planned_hours, "capacity": data.capacity,
                    "organizer": data.organizer, "venue": data.venue, "status": "scheduled",
                    "sessions": 0, "session_hours": 0, "enrolled": 0,
                    "version": version}], ["class_id"])
            case TrainingClassOpened():
                await _update_class(conn, data.class_id, version,
                                    {"status": "open", "opened_on": data.effective_on})
            case TrainingClassCompleted():
                await _update_class(conn, data.class_id, version,
                                    {"status": "completed", "completed_on": data.effective_on})
            case TrainingClassCancelled():
                await _update_class(conn, data.class_id, version, {
                    "status": "cancelled", "cancelled_on": data.effective_on,
                    "cancel_reason": data.reason})
            case SessionScheduled():
                await conn.execute(sessions.insert().values(
                    class_id=data.class_id, session_no=data.session_no, topic=data.topic,
                    lecturer_name=data.lecturer.name, lecturer_title=data.lecturer.title,
                    lecturer_affiliation=data.lecturer.affiliation,
                    invited=data.lecturer.invited, tutor_name=data.tutor.name,
                    tutor_title=data.tutor.title, held_on=data.effective_on, hours=data.hours))
                await _update_class(conn, data.class_id, version, {
                    "sessions": classes.c.sessions + 1,
                    "session_hours": classes.c.session_hours + data.hours})
            case TraineeEnrolled():
                await conn.execute(enrolments.insert().values(
                    class_id=data.class_id, cadre_id=data.cadre_id, source=data.source,
                    enrolled_on=data.effective_on, status="active", leave_hours=0,
                    credited_hours=0))
                await _update_class(conn, data.class_id, version,
                                    {"enrolled": classes.c.enrolled + 1})
            case AttendanceRecorded():
                await upsert(conn, attendance, [
                    {"class_id": data.class_id, "session_no": data.session_no,
                     "cadre_id": e.cadre_id, "status": e.status} for e in data.entries],
                    ["class_id", "session_no", "cadre_id"])
                await _refresh_leave(conn, data.class_id, [e.cadre_id for e in data.entries])
                await _update_class(conn, data.class_id, version, {})
            case TraineeWithdrawn():
                await _update_enrolment(conn, data.class_id, data.cadre_id, {
                    "status": "withdrawn", "withdrawn_on": data.effective_on})
                await _update_class(conn, data.class_id, version, {})
            case TraineeCompleted():
                await _update_enrolment(conn, data.class_id, data.cadre_id, {
                    "status": "completed", "credited_hours": data.credited_hours,
                    "completed_on": data.effective_on})
                await _update_class(conn, data.class_id, version, {})
            case MassEventHeld():
                await upsert(conn, mass_events, [{
                    "mass_event_id": data.mass_event_id, "title": data.title, "kind": data.kind,
                    "mode": data.mode, "head_count": data.head_count,
                    "organizer": data.organizer, "held_on": data.effective_on, "revisions": 0,
                    "version": version}], ["mass_event_id"])
            case MassEventHeadCountRevised():
                await _update(conn, mass_events, mass_events.c.mass_event_id, data.mass_event_id,
                              {"head_count": data.head_count,
                               "revisions": mass_events.c.revisions + 1, "version": version})
            case StudyCampaignLaunched():
                await upsert(conn, campaigns, [{
                    "campaign_id": data.campaign_id, "title": data.title,
                    "subject": data.subject, "chapters_total": len(data.chapters),
                    "chapters_done": 0, "participants": 0, "launched_on": data.effective_on,
                    "status": "running", "version": version}], ["campaign_id"])
                await upsert(conn, campaign_chapters, [
                    {"campaign_id": data.campaign_id, "chapter": n, "title": title,
                     "participants": None, "studied_on": None}
                    for n, title in enumerate(data.chapters, start=1)],
                    ["campaign_id", "chapter"])
            case StudyChapterCompleted():
                await conn.execute(campaign_chapters.update().where(
                    campaign_chapters.c.campaign_id == data.campaign_id,
                    campaign_chapters.c.chapter == data.chapter).values(
                    participants=data.participants, studied_on=data.effective_on))
                await _update(conn, campaigns, campaigns.c.campaign_id, data.campaign_id, {
                    "chapters_done": data.chapter,
                    "participants": campaigns.c.participants + data.participants,
                    "version": version})
            case StudyCampaignCompleted():
                await _update(conn, campaigns, campaigns.c.campaign_id, data.campaign_id, {
                    "status": "completed", "completed_on": data.effective_on,
                    "version": version})


async def _update(conn: AsyncConnection, table: sa.Table, key: sa.Column, value: str,
                  values: dict) -> None:
    result = await conn.execute(table.update().where(key == value).values(**values))
    if result.rowcount != 1:
        raise LookupError(f"{table.name}: {value} not in the read model (event out of order)")


async def _update_class(conn: AsyncConnection, class_id: str, version: int, values: dict) -> None:
    await _update(conn, classes, classes.c.class_id, class_id, {"version": version, **values})


async def _update_enrolment(conn: AsyncConnection, class_id: str, cadre_id: str,
                            values: dict) -> None:
    result = await conn.execute(enrolments.update().where(
        enrolments.c.class_id == class_id, enrolments.c.cadre_id == cadre_id).values(**values))
    if result.rowcount != 1:
        raise LookupError(f"enrolment {class_id}/{cadre_id} not in the read model")


async def _refresh_leave(conn: AsyncConnection, class_id: str, cadre_ids: list[str]) -> None:
    """Leave hours = the hours of the sessions whose latest record is leave."""
    leave = sa.select(sa.func.coalesce(sa.func.sum(sessions.c.hours), 0)).select_from(
        attendance.join(sessions, sa.and_(sessions.c.class_id == attendance.c.class_id,
                                          sessions.c.session_no == attendance.c.session_no))
    ).where(attendance.c.class_id == class_id, attendance.c.cadre_id == enrolments.c.cadre_id,
            attendance.c.status == "leave").scalar_subquery()
    await conn.execute(enrolments.update().where(
        enrolments.c.class_id == class_id, enrolments.c.cadre_id.in_(cadre_ids)).values(
        leave_hours=leave))
