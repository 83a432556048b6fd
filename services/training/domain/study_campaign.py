"""The StudyCampaign aggregate: a subject studied chapter by chapter, in order."""

from __future__ import annotations

from datetime import date

from contracts.registry import DomainEvent
from contracts.training import (
    StudyCampaignCompleted,
    StudyCampaignLaunched,
    StudyChapterCompleted,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["StudyCampaign"]


class StudyCampaign(Aggregate):
    stream_type = "study_campaign"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.chapters: list[str] = []
        self.studied = 0
        self.last_date = date.min
        self.completed = False

    def apply(self, event: DomainEvent) -> None:
        match event:
            case StudyCampaignLaunched():
                self.chapters = list(event.chapters)
                self.last_date = event.effective_on
            case StudyChapterCompleted():
                self.studied = event.chapter
                self.last_date = event.effective_on
            case StudyCampaignCompleted():
                self.completed = True

    def launch(self, *, title: str, subject: str, chapters: list[str], effective_on: date) -> None:
        if self.exists:
            raise Conflict(f"study campaign {self.id} already exists")
        self._record(StudyCampaignLaunched(campaign_id=self.id, title=title, subject=subject,
                                           chapters=chapters, effective_on=effective_on))

    def complete_chapter(self, chapter: int, participants: int, effective_on: date,
                         today: date) -> None:
        if self.completed:
            raise Conflict("every chapter of this campaign has been studied", errors=[{
                "pointer": "#/chapter", "detail": "campaign completed", "code": "campaign_completed"}])
        if chapter > len(self.chapters):
            raise DomainRuleViolation(f"the campaign has {len(self.chapters)} chapters",
                                      pointer="#/chapter", code="unknown_chapter")
        if chapter <= self.studied:
            raise Conflict(f"chapter {chapter} has already been studied", errors=[{
                "pointer": "#/chapter", "detail": "already studied", "code": "already_studied"}])
        if chapter != self.studied + 1:
            raise DomainRuleViolation(
                f"chapters are studied in order: the next is {self.studied + 1}, not {chapter}",
                pointer="#/chapter", code="chapter_order")
        if effective_on < self.last_date:
            raise DomainRuleViolation(
                f"{effective_on} is before the previous step of the campaign ({self.last_date})",
                pointer="#/effective_on", code="date_order")
        if effective_on > today:
            raise DomainRuleViolation(f"{effective_on} is in the future",
                                      pointer="#/effective_on", code="future_date")
        self._record(StudyChapterCompleted(
            campaign_id=self.id, chapter=chapter, title=self.chapters[chapter - 1],
            participants=participants, effective_on=effective_on))
        if chapter == len(self.chapters):
            self._record(StudyCampaignCompleted(campaign_id=self.id, effective_on=effective_on))
