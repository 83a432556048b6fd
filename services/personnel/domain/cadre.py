"""The Cadre aggregate (干部)."""

from __future__ import annotations

from datetime import date

from contracts.personal_data import SealedPersonalData
from contracts.personnel import CadreCategory, CadreRecruited, RecruitmentChannel
from contracts.registry import DomainEvent
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation
from services.personnel.domain.national_id import NationalId

__all__ = ["CHANNEL_CATEGORIES", "MAX_AGE_AT_RECRUITMENT", "MIN_AGE_AT_RECRUITMENT", "Cadre"]

MIN_AGE_AT_RECRUITMENT = 18
MAX_AGE_AT_RECRUITMENT = 60
CHANNEL_CATEGORIES: dict[str, set[str]] = {
    "exam_recruitment": {"civil_servant"},
    "institution_hiring": {"institution_staff"},
    "transfer_in": {"civil_servant", "institution_staff"},
}


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Cadre(Aggregate):
    stream_type = "cadre"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.unit_id: str | None = None
        self.recruited_on: date | None = None

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CadreRecruited():
                self.unit_id = event.unit_id
                self.recruited_on = event.effective_on

    def recruit(
        self, *, name: str, gender: str, birth_date: date, national_id: NationalId,
        sealed_id: SealedPersonalData, category: CadreCategory, unit_id: str,
        channel: RecruitmentChannel, effective_on: date, today: date,
    ) -> None:
        if self.exists:
            raise Conflict(f"a cadre with this national ID is already registered ({self.id})")
        if national_id.birth_date != birth_date:
            raise DomainRuleViolation(
                f"birth_date {birth_date} does not match the national ID "
                f"({national_id.birth_date})", pointer="#/birth_date", code="id_mismatch")
        if national_id.gender != gender:
            raise DomainRuleViolation(
                f"gender {gender} does not match the national ID ({national_id.gender})",
                pointer="#/gender", code="id_mismatch")
        if category not in CHANNEL_CATEGORIES[channel]:
            raise DomainRuleViolation(
                f"channel {channel} does not recruit {category}", pointer="#/channel",
                code="channel_category")
        if effective_on > date(today.year + 1, today.month, min(today.day, 28)):
            raise DomainRuleViolation("effective_on is more than a year in the future",
                                      pointer="#/effective_on", code="date_range")
        age = age_on(birth_date, effective_on)
        if not MIN_AGE_AT_RECRUITMENT <= age <= MAX_AGE_AT_RECRUITMENT:
            raise DomainRuleViolation(
                f"age at effective_on would be {age}; must be between "
                f"{MIN_AGE_AT_RECRUITMENT} and {MAX_AGE_AT_RECRUITMENT}",
                pointer="#/effective_on", code="age_range")
        self._record(CadreRecruited(
            cadre_id=self.id, name=name, gender=gender, birth_date=birth_date,
            national_id=sealed_id, category=category, unit_id=unit_id, channel=channel,
            effective_on=effective_on))
