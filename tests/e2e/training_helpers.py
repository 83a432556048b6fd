"""Helpers for the training tests through the gateway (embedded platform)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from services.kernel.personal_data import PersonalDataVault
from services.personnel.handlers import _CADRE_NAMESPACE
from tests.e2e.helpers import cadre_body, unit_body
from tests.support.national_ids import national_id

CLASSES = "/api/v1/training/classes"
PROBLEM = "application/problem+json"


def class_body(name="2024年中青年干部培训班", kind="young_cadre", mode="offline",
               starts_on="2024-04-08", ends_on="2024-04-19", planned_hours=28, capacity=40,
               **extra) -> dict:
    return {"name": name, "kind": kind, "mode": mode, "starts_on": starts_on, "ends_on": ends_on,
            "planned_hours": planned_hours, "capacity": capacity, **extra}


def session_body(topic="深入学习贯彻党的二十大精神", effective_on="2024-04-09", hours=4,
                 lecturer="王建国", tutor="刘晓梅", invited=False, affiliation=None) -> dict:
    return {"topic": topic, "effective_on": effective_on, "hours": hours,
            "lecturer": {"name": lecturer, "invited": invited, "affiliation": affiliation},
            "tutor": {"name": tutor}}


async def training_events(client) -> int:
    """Events in the training store: a rejected command must not change it."""
    return await client.app.state.context.stores["training"].head_position()


def expected_cadre_id(settings, birth: date, gender: str, sequence: int) -> str:
    """The id personnel will give this person (derived from the national ID's keyed digest)."""
    vault = PersonalDataVault(settings.personal_data_key)
    return str(uuid.uuid5(_CADRE_NAMESPACE, vault.digest(national_id(birth, gender, sequence))))


async def post(client, path: str, body: dict, headers: dict | None = None, expect: int = 201):
    response = await client.post(path, json=body, headers=headers or client.admin)
    assert response.status_code == expect, response.text
    return response


async def register_unit(client, administrative=50, name="怀仁市委组织部") -> str:
    return (await post(client, "/api/v1/personnel/units",
                       unit_body(name=name, administrative=administrative))).json()["id"]


async def recruit(client, unit_id: str, sequence: int, name: str = "李娜",
                  birth: date = date(1990, 1, 1), gender: str = "female") -> str:
    body = cadre_body(unit_id, name=name, birth=birth, gender=gender, sequence=sequence)
    return (await post(client, "/api/v1/personnel/cadres", body)).json()["id"]


async def enrol(client, class_id: str, cadre_id: str, *, expect: int = 201, attempts: int = 200,
                **extra):
    """Enrol as a client would: retry while training does not know the cadre yet."""
    body = {"cadre_id": cadre_id, **extra}
    for _ in range(attempts):
        response = await client.post(f"{CLASSES}/{class_id}/enrolments", json=body,
                                     headers=client.admin)
        if response.status_code != 409 or "cadre-not-yet-known" not in response.text:
            break
        await asyncio.sleep(0.01)
    assert response.status_code == expect, response.text
    return response


async def schedule(client, **kwargs) -> dict:
    return (await post(client, CLASSES, class_body(**kwargs))).json()
