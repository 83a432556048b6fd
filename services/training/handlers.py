"""Training command handlers: load, decide, append. Dependencies come in as arguments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from contracts import registry
from contracts.api.training import (
    CancelClass,
    CompleteClass,
    CompleteStudyChapter,
    EnrolTrainee,
    LaunchStudyCampaign,
    OpenClass,
    RecordAttendance,
    RecordMassEvent,
    ReviseHeadCount,
    ScheduleClass,
    ScheduleSession,
)
from services.kernel.aggregate import Aggregate, Repository
from services.kernel.commands import CommandOutcome, Decision, execute_command
from services.kernel.errors import DomainRuleViolation
from services.kernel.eventstore import CommandMetadata, EventStore
from services.training.cadre_view import CadreDirectory, CadreNotYetKnown
from services.training.domain.mass_event import MassEvent
from services.training.domain.study_campaign import StudyCampaign
from services.training.domain.trainee import TraineeSchedule
from services.training.domain.training_class import TrainingClass

__all__ = [
    "TrainingDeps",
    "cancel_class",
    "complete_chapter",
    "complete_class",
    "enrol_trainee",
    "launch_campaign",
    "open_class",
    "record_attendance",
    "record_mass_event",
    "revise_head_count",
    "schedule_class",
    "schedule_session",
    "session_no_at",
]


@dataclass
class TrainingDeps:
    store: EventStore
    cadres: CadreDirectory
    today: Callable[[], date]

    def __post_init__(self) -> None:
        self.classes = Repository(self.store, TrainingClass, registry)
        self.trainees = Repository(self.store, TraineeSchedule, registry)
        self.mass_events = Repository(self.store, MassEvent, registry)
        self.campaigns = Repository(self.store, StudyCampaign, registry)


async def _class(deps: TrainingDeps, class_id: str) -> TrainingClass:
    return await deps.classes.get(class_id, what="training class")


async def schedule_class(cmd: ScheduleClass, meta: CommandMetadata, deps: TrainingDeps,
                         ) -> CommandOutcome:
    class_id = str(uuid.uuid4())

    async def decide() -> Decision:
        cls = deps.classes.new(class_id)
        cls.schedule(name=cmd.name, kind=cmd.kind, mode=cmd.mode, starts_on=cmd.starts_on,
                     ends_on=cmd.ends_on, planned_hours=cmd.planned_hours,
                     capacity=cmd.capacity, off_the_job=cmd.off_the_job,
                     organizer=cmd.organizer, venue=cmd.venue)
        return Decision([cls], cls)

    return await execute_command(deps.store, decide, meta)


async def open_class(class_id: str, cmd: OpenClass, meta: CommandMetadata, deps: TrainingDeps,
                     *, if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        cls = await _class(deps, class_id)
        cls.open(cmd.effective_on, deps.today())
        return Decision([cls], cls)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def complete_class(class_id: str, cmd: CompleteClass, meta: CommandMetadata,
                         deps: TrainingDeps, *, if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        cls = await _class(deps, class_id)
        cls.complete(cmd.effective_on, deps.today())
        return Decision([cls], cls)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def cancel_class(class_id: str, cmd: CancelClass, meta: CommandMetadata,
                       deps: TrainingDeps, *, if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        cls = await _class(deps, class_id)
        releasing = cls.cancel(cmd.reason, cmd.effective_on or deps.today())
        changed: list[Aggregate] = [cls]
        for cadre_id in releasing:
            trainee = await deps.trainees.load(cadre_id)
            trainee.release(class_id, "class_cancelled")
            changed.append(trainee)
        return Decision(changed, cls)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def schedule_session(class_id: str, cmd: ScheduleSession, meta: CommandMetadata,
                           deps: TrainingDeps) -> tuple[CommandOutcome, int]:
    """Returns the outcome and the number the new session got."""
    number = 0

    async def decide() -> Decision:
        nonlocal number
        cls = await _class(deps, class_id)
        number = cls.schedule_session(topic=cmd.topic, lecturer=cmd.lecturer, tutor=cmd.tutor,
                                      held_on=cmd.effective_on, hours=cmd.hours)
        return Decision([cls], cls)

    outcome = await execute_command(deps.store, decide, meta)
    if outcome.replayed:
        number = await session_no_at(deps, class_id, outcome.version)
    return outcome, number


async def session_no_at(deps: TrainingDeps, class_id: str, version: int) -> int:
    """The number of the session scheduled by the event at ``version`` (for replays)."""
    events = await deps.store.read_stream(TrainingClass.stream_id_for(class_id), version - 1)
    return int(events[0].data.get("session_no", 0)) if events else 0


async def enrol_trainee(class_id: str, cmd: EnrolTrainee, meta: CommandMetadata,
                        deps: TrainingDeps) -> CommandOutcome:
    async def decide() -> Decision:
        cls = await _class(deps, class_id)
        known = await deps.cadres.find(cmd.cadre_id)
        if known is None:
            raise CadreNotYetKnown(cmd.cadre_id)
        if known.status == "departed" and (known.left_on is None
                                           or known.left_on <= cls.starts_on):
            raise DomainRuleViolation(
                f"cadre {known.name} ({known.cadre_id}) left on {known.left_on or 'an unknown date'}"
                f", before the class starts ({cls.starts_on})", pointer="#/cadre_id",
                code="cadre_departed")
        cls.enrol(cmd.cadre_id, cmd.source, cmd.effective_on or deps.today())
        changed: list[Aggregate] = [cls]
        if cls.off_the_job:
            trainee = await deps.trainees.load(cmd.cadre_id)
            trainee.reserve(class_id, cls.name, cls.starts_on, cls.ends_on)
            changed.append(trainee)
        return Decision(changed, cls)

    return await execute_command(deps.store, decide, meta)


async def record_attendance(class_id: str, session_no: int, cmd: RecordAttendance,
                            meta: CommandMetadata, deps: TrainingDeps) -> CommandOutcome:
    async def decide() -> Decision:
        cls = await _class(deps, class_id)
        withdrawn = cls.record_attendance(session_no, cmd.entries, deps.today())
        changed: list[Aggregate] = [cls]
        if cls.off_the_job:
            for cadre_id in withdrawn:
                trainee = await deps.trainees.load(cadre_id)
                trainee.release(class_id, "withdrawn")
                changed.append(trainee)
        return Decision(changed, cls)

    return await execute_command(deps.store, decide, meta)


async def record_mass_event(cmd: RecordMassEvent, meta: CommandMetadata, deps: TrainingDeps,
                            ) -> CommandOutcome:
    mass_event_id = str(uuid.uuid4())

    async def decide() -> Decision:
        event = deps.mass_events.new(mass_event_id)
        event.record(title=cmd.title, kind=cmd.kind, mode=cmd.mode, head_count=cmd.head_count,
                     organizer=cmd.organizer, effective_on=cmd.effective_on, today=deps.today())
        return Decision([event], event)

    return await execute_command(deps.store, decide, meta)


async def revise_head_count(mass_event_id: str, cmd: ReviseHeadCount, meta: CommandMetadata,
                            deps: TrainingDeps, *, if_match: int | None = None) -> CommandOutcome:
    async def decide() -> Decision:
        event = await deps.mass_events.get(mass_event_id, what="mass event")
        event.revise_head_count(cmd.head_count, cmd.reason)
        return Decision([event], event)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def launch_campaign(cmd: LaunchStudyCampaign, meta: CommandMetadata, deps: TrainingDeps,
                          ) -> CommandOutcome:
    campaign_id = str(uuid.uuid4())

    async def decide() -> Decision:
        campaign = deps.campaigns.new(campaign_id)
        campaign.launch(title=cmd.title, subject=cmd.subject, chapters=cmd.chapters,
                        effective_on=cmd.effective_on)
        return Decision([campaign], campaign)

    return await execute_command(deps.store, decide, meta)


async def complete_chapter(campaign_id: str, cmd: CompleteStudyChapter, meta: CommandMetadata,
                           deps: TrainingDeps) -> CommandOutcome:
    async def decide() -> Decision:
        campaign = await deps.campaigns.get(campaign_id, what="study campaign")
        campaign.complete_chapter(cmd.chapter, cmd.participants, cmd.effective_on, deps.today())
        return Decision([campaign], campaign)

    return await execute_command(deps.store, decide, meta)
