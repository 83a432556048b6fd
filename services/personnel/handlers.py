"""Personnel command handlers: load, decide, append. Dependencies come in as arguments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from contracts import registry
from contracts.api.personnel import AdjustEstablishment, RecruitCadre, RegisterUnit
from contracts.personnel import Establishment
from services.kernel.aggregate import Repository
from services.kernel.commands import CommandOutcome, Decision, execute_command
from services.kernel.errors import DomainRuleViolation
from services.kernel.eventstore import CommandMetadata, EventStore
from services.kernel.personal_data import PersonalDataVault
from services.personnel.domain.cadre import Cadre
from services.personnel.domain.national_id import NationalId
from services.personnel.domain.unit import Unit

__all__ = ["PersonnelDeps", "adjust_establishment", "recruit_cadre", "register_unit"]

_CADRE_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f59-9a57-0d7b8e3c2a10")


@dataclass
class PersonnelDeps:
    store: EventStore
    vault: PersonalDataVault
    today: Callable[[], date]

    def __post_init__(self) -> None:
        self.units = Repository(self.store, Unit, registry)
        self.cadres = Repository(self.store, Cadre, registry)

    def cadre_id_for(self, national_id: NationalId) -> str:
        """Deterministic id from the keyed digest: one cadre per person, no ID in the clear."""
        return str(uuid.uuid5(_CADRE_NAMESPACE, self.vault.digest(national_id.value)))


async def register_unit(cmd: RegisterUnit, meta: CommandMetadata, deps: PersonnelDeps,
                        ) -> CommandOutcome:
    unit_id = str(uuid.uuid4())

    async def decide() -> Decision:
        unit = await deps.units.load(unit_id)
        unit.register(cmd.name, cmd.kind, cmd.establishment, cmd.effective_on)
        return Decision([unit], unit)

    return await execute_command(deps.store, decide, meta)


async def adjust_establishment(unit_id: str, cmd: AdjustEstablishment, meta: CommandMetadata,
                               deps: PersonnelDeps, *, if_match: int | None) -> CommandOutcome:
    async def decide() -> Decision:
        unit = await deps.units.get(unit_id)
        unit.adjust_establishment(
            Establishment(administrative=cmd.administrative, institution=cmd.institution),
            cmd.effective_on or deps.today(), cmd.document_number)
        return Decision([unit], unit)

    return await execute_command(deps.store, decide, meta, if_match=if_match)


async def recruit_cadre(cmd: RecruitCadre, meta: CommandMetadata, deps: PersonnelDeps,
                        ) -> CommandOutcome:
    try:
        national_id = NationalId.parse(cmd.national_id)
    except ValueError as error:
        raise DomainRuleViolation(f"national_id: {error}", pointer="#/national_id",
                                  code="national_id") from None
    cadre_id = deps.cadre_id_for(national_id)
    sealed = deps.vault.seal("national_id", national_id.value)

    async def decide() -> Decision:
        unit = await deps.units.load(cmd.unit_id)
        if not unit.exists:
            raise DomainRuleViolation(f"unit {cmd.unit_id} does not exist",
                                      pointer="#/unit_id", code="unknown_unit")
        cadre = await deps.cadres.load(cadre_id)
        cadre.recruit(
            name=cmd.name, gender=cmd.gender, birth_date=cmd.birth_date, national_id=national_id,
            sealed_id=sealed, category=cmd.category, unit_id=unit.id, channel=cmd.channel,
            effective_on=cmd.effective_on, today=deps.today())
        unit.occupy_slot(cadre.id, cmd.category, cmd.effective_on)
        return Decision([cadre, unit], cadre)

    return await execute_command(deps.store, decide, meta)
