"""The unified queries: cadre 360 (personnel, training, reserve, talent; per-role parts; read
your writes across services) and the township overview (scoped by the token's township)."""

from __future__ import annotations

from datetime import date

from tests.e2e.personnel_helpers import go_live, person, unit
from tests.e2e.training_helpers import CLASSES, enrol, post, schedule, session_body
from tests.support.governance import token

G = "/api/v1/governance"


async def test_cadre_360(platform):
    s = platform.settings
    unit_id = await unit(platform, "怀仁市发改局")
    who = person("陈静", date(1990, 8, 8), "female", 31)
    cadre_id = await go_live(platform, unit_id, who, since="2021-03-01")
    cls = await schedule(platform, planned_hours=28)
    url = f"{CLASSES}/{cls['id']}"
    await post(platform, f"{url}/sessions", session_body(effective_on="2024-04-09", hours=4))
    await enrol(platform, cls["id"], cadre_id)
    await post(platform, f"{url}/opening", {})
    await post(platform, f"{url}/sessions/1/attendance",
               {"entries": [{"cadre_id": cadre_id, "status": "present"}]})
    done = (await post(platform, f"{url}/completion", {})).json()
    path = f"/api/v1/cadres/{cadre_id}/360"

    # read your writes: a training change is waited for in the training part
    response = await platform.get(path, params={"year": 2024}, headers={
        **platform.admin, "X-Consistency-Token": done["consistency_token"]})
    assert response.status_code == 200, response.text
    assert response.headers["X-Consistency"] == "fresh"
    view = response.json()
    assert view["cadre"]["id"] == cadre_id and view["cadre"]["national_id"] == who["national_id"]
    assert view["cadre"]["history"], "the dated history is part of the record"
    assert [(y["year"], y["hours_in_year"]) for y in view["training"]["years"]] == [
        (2021, 0), (2022, 0), (2023, 0), (2024, 28)]
    assert view["training"]["years"][-1]["required_hours"] == 90
    assert view["training"]["years"][-1]["shortfall"] == 62
    assert view["reserve"] == {"active": None, "history": []}
    assert view["talent"]["roles"] == [] and "does not link" in view["talent"]["note"]
    assert view["omitted"] == {}

    # a personnel change (entering the reserve) is waited for in the personnel part
    entry = (await platform.post("/api/v1/personnel/reserve-entries", json={
        "cadre_id": cadre_id, "level": "deputy_section_chief", "effective_on": "2024-03-01"},
        headers=platform.admin)).json()
    response = await platform.get(path, params={"year": 2024}, headers={
        **platform.admin, "X-Consistency-Token": entry["consistency_token"]})
    assert response.headers["X-Consistency"] == "fresh"
    assert response.json()["reserve"]["active"]["level"] == "deputy_section_chief"
    etag = response.headers["ETag"]
    again = await platform.get(path, params={"year": 2024},
                               headers={**platform.admin, "If-None-Match": etag})
    assert again.status_code == 304

    viewer = (await platform.get(path, params={"year": 2024}, headers=token(s, "viewer"))).json()
    assert who["national_id"] not in str(viewer) and "*" in viewer["cadre"]["national_id"]
    assert viewer["training"]["years"][-1]["hours_in_year"] == 28
    operator = (await platform.get(path, headers=token(s, "operator"))).json()
    assert operator["training"] is None and operator["talent"] is None
    assert set(operator["omitted"]) == {"training", "talent"}
    for role in ("township_operator", "auditor", "governance_officer", "talent_officer"):
        response = await platform.get(path, headers=token(s, role, township="T1"))
        assert response.status_code == 403, role
    missing = await platform.get("/api/v1/cadres/nobody/360", headers=platform.admin)
    assert missing.status_code == 404


async def _township(platform, code: str, villages: int, compounds: list[dict]) -> dict:
    bob = token(platform.settings, "governance_officer")

    async def ok(path, body):
        response = await platform.post(G + path, json=body, headers=bob)
        assert response.status_code == 201, response.text
        return response.json()

    await ok("/townships", {"code": code, "name": f"{code}镇"})
    for n in range(villages):
        await ok("/villages", {"code": f"{code}-V{n}", "township_id": code, "name": f"{code}村{n}"})
    await ok("/communities", {"code": f"{code}-C", "township_id": code, "name": f"{code}社区"})
    last = None
    for n, extra in enumerate(compounds):
        last = await ok("/compounds", {"community_id": f"{code}-C", "name": f"{code}小区{n}",
                                       "households": 100, **extra})
    return last


async def test_township_overview_is_scoped(platform):
    await _township(platform, "T1", 3, [{}, {}])
    last = await _township(platform, "T2", 1, [{}])
    s = platform.settings
    response = await platform.get("/api/v1/townships/T2/overview", headers={
        **platform.admin, "X-Consistency-Token": last["consistency_token"]})
    assert response.status_code == 200, response.text
    assert response.headers["X-Consistency"] == "fresh"
    t2 = response.json()
    assert t2["township"]["id"] == "T2" and [v["id"] for v in t2["villages"]] == ["T2-V0"]
    assert t2["compounds"]["compounds"] == 1
    for part in ("rectification", "reserve_pipeline", "complaints"):
        assert part in t2

    t1_operator = token(s, "township_operator", township="T1")
    own = await platform.get("/api/v1/townships/T1/overview", headers=t1_operator)
    assert own.status_code == 200, own.text
    assert len(own.json()["villages"]) == 3 and own.json()["compounds"]["compounds"] == 2
    other = await platform.get("/api/v1/townships/T2/overview", headers=t1_operator)
    assert other.status_code == 404 and "T2-V0" not in other.text
    no_claim = await platform.get("/api/v1/townships/T1/overview",
                                  headers=token(s, "township_operator"))
    assert no_claim.status_code == 403
    for role in ("personnel_officer", "auditor", "operator"):
        response = await platform.get("/api/v1/townships/T1/overview", headers=token(s, role))
        assert response.status_code == 403, role
    assert (await platform.get("/api/v1/townships/T9/overview",
                               headers=platform.admin)).status_code == 404


async def test_every_get_answer_has_an_etag_and_if_none_match_gives_304(platform):
    last = await _township(platform, "T1", 1, [{}])
    admin = {**platform.admin, "X-Consistency-Token": last["consistency_token"]}
    for path in ("/townships/T1", "/villages", "/communities/T1-C"):
        first = await platform.get(G + path, headers=admin)
        etag = first.headers["ETag"]
        again = await platform.get(G + path, headers={**admin, "If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag and not again.content
    before = (await platform.get(G + "/villages", headers=admin)).headers["ETag"]
    added = await platform.post(G + "/villages", json={"code": "T1-V9", "township_id": "T1",
                                                       "name": "新村"}, headers=platform.admin)
    after = await platform.get(G + "/villages", headers={
        **admin, "X-Consistency-Token": added.json()["consistency_token"],
        "If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before
