"""Personal data: national IDs masked for roles without the personal-data permission, plain for
those with it; and no plain national ID in any log line while cadres are recruited (accepted,
rejected and replayed commands, with debug logging on)."""

from __future__ import annotations

import logging
from datetime import date

import structlog

from services.kernel.auth import TokenIssuer
from services.kernel.logging import configure_logging
from tests.e2e.personnel_helpers import go_live, person, settle, unit


def _auth(settings, role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + TokenIssuer(settings.auth.jwt_secret).mint("p1", role)}


async def test_national_ids_masked_unless_the_role_may_read_personal_data(platform):
    unit_id = await unit(platform, "怀仁市财政局")
    who = person("王芳", date(1985, 3, 4), "female", 7)
    cadre_id = await go_live(platform, unit_id, who)
    await settle(platform)
    plain = who["national_id"]
    for role, reveal in (("viewer", False), ("operator", False), ("training_officer", False),
                         ("personnel_officer", True), ("admin", True)):
        headers = _auth(platform.settings, role)
        one = (await platform.get(f"/api/v1/cadres/{cadre_id}", headers=headers)).json()
        listed = (await platform.get("/api/v1/cadres", headers=headers)).json()["items"]
        shown = {one["national_id"], *(c["national_id"] for c in listed)}
        if reveal:
            assert shown == {plain}, role
        else:
            assert plain not in str(one) + str(listed), role
            assert all("*" in value for value in shown), (role, shown)


async def test_no_plain_national_id_in_logs_while_recruiting(platform, caplog, capsys):
    configure_logging("DEBUG", json=True)
    caplog.set_level(logging.DEBUG)
    try:
        with structlog.testing.capture_logs() as captured:
            unit_id = await unit(platform, "怀仁市审计局", administrative=1)
            first = person("李强", date(1980, 1, 2), "male", 11)
            second = person("赵敏", date(1990, 5, 6), "female", 12)
            await go_live(platform, unit_id, first)
            body = {**second, "category": "civil_servant", "unit_id": unit_id,
                    "channel": "go_live", "effective_on": "2015-01-01", "rank": "clerk_1",
                    "rank_since": "2020-01-01", "posts": []}
            key = {"Idempotency-Key": "log-test-1"}
            rejected = await platform.post("/api/v1/personnel/cadres", json=body,
                                           headers={**platform.admin, **key})
            assert rejected.status_code == 422  # no vacant slot: a rule violation
            duplicate = {**body, **first, "unit_id": await unit(platform, "怀仁市统计局")}
            await platform.post("/api/v1/personnel/cadres", json=duplicate, headers=platform.admin)
            malformed = {**body, "national_id": second["national_id"][:-1] + "0"}
            await platform.post("/api/v1/personnel/cadres", json=malformed, headers=platform.admin)
            await settle(platform)
    finally:
        configure_logging("INFO", json=True)
    text = "\n".join([str(captured), caplog.text, *capsys.readouterr()])
    for secret in (first["national_id"], second["national_id"]):
        assert secret not in text
