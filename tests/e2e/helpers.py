from __future__ import annotations

from datetime import date

from tests.support.national_ids import national_id


def unit_body(name="怀仁市委组织部", administrative=2, institution=1, kind="party_government_organ"):
    return {"name": name, "kind": kind,
            "establishment": {"administrative": administrative, "institution": institution}}


def cadre_body(unit_id, *, name="李娜", birth=date(1992, 4, 9), gender="female", sequence=1,
               category="civil_servant", channel="exam_recruitment", effective_on="2024-08-01"):
    return {"name": name, "gender": gender, "birth_date": birth.isoformat(),
            "national_id": national_id(birth, gender, sequence), "category": category,
            "unit_id": unit_id, "channel": channel, "effective_on": effective_on}


async def event_count(client) -> int:
    """Events in the personnel store: a rejected command must not change it."""
    return await client.app.state.context.stores["personnel"].head_position()
