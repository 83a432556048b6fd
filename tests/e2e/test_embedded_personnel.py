"""The personnel slice through the gateway's HTTP API, embedded mode (SQLite, in-process)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from tests.e2e.helpers import cadre_body, event_count, unit_body
from tests.support.embedded import bearer, embedded_client

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


async def register(platform, **kwargs) -> dict:
    response = await platform.post("/api/v1/personnel/units", json=unit_body(**kwargs),
                                   headers=platform.admin)
    assert response.status_code == 201, response.text
    return response.json()


async def test_recruit_then_read_back_with_consistency_token(platform):
    unit = await register(platform)
    response = await platform.post("/api/v1/personnel/cadres", json=cadre_body(unit["id"]),
                                   headers=platform.admin)
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert set(accepted) == {"id", "version", "consistency_token"}
    assert response.headers["location"] == f"/api/v1/cadres/{accepted['id']}"

    got = await platform.get(f"/api/v1/cadres/{accepted['id']}", headers={
        **platform.admin, "X-Consistency-Token": accepted["consistency_token"]})
    assert got.status_code == 200, got.text
    assert got.headers["x-consistency"] == "fresh"
    cadre = got.json()
    assert cadre["name"] == "李娜" and cadre["unit"] == {"id": unit["id"], "name": "怀仁市委组织部"}
    assert cadre["national_id"] == cadre_body(unit["id"])["national_id"]  # admin sees it
    assert got.headers["etag"] == '"1"'

    unit_view = (await platform.get(f"/api/v1/units/{unit['id']}", headers={
        **platform.admin, "X-Consistency-Token": accepted["consistency_token"]})).json()
    # the cadre's token covers the cadre stream; the unit stream is read when it is applied
    for _ in range(50):
        unit_view = (await platform.get(f"/api/v1/units/{unit['id']}", headers=platform.admin)).json()
        if unit_view["occupied"]["administrative"] == 1:
            break
        await asyncio.sleep(0.01)
    assert unit_view["establishment"] == {"administrative": 2, "institution": 1}
    assert unit_view["occupied"] == {"administrative": 1, "institution": 0}
    assert unit_view["vacancies"] == {"administrative": 1, "institution": 1}


async def test_viewer_sees_masked_national_id_and_cannot_write(platform):
    unit = await register(platform)
    accepted = (await platform.post("/api/v1/personnel/cadres", json=cadre_body(unit["id"]),
                                    headers=platform.admin)).json()
    viewer = bearer(platform.settings, "viewer")
    got = await platform.get(f"/api/v1/cadres/{accepted['id']}", headers={
        **viewer, "X-Consistency-Token": accepted["consistency_token"]})
    plain = cadre_body(unit["id"])["national_id"]
    assert got.status_code == 200
    assert got.json()["national_id"] != plain
    assert got.json()["national_id"] == plain[:4] + "*" * 10 + plain[-4:]
    listed = await platform.get("/api/v1/cadres", headers=viewer)
    assert plain not in listed.text

    before = await event_count(platform)
    denied = await platform.post("/api/v1/personnel/units", json=unit_body(), headers=viewer)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == PROBLEM
    assert await event_count(platform) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"},
                                     {"Authorization": "Basic abc"}])
async def test_missing_or_bad_token_is_401(platform, headers):
    for method, path in [("GET", "/api/v1/cadres"), ("POST", "/api/v1/personnel/units")]:
        response = await platform.request(method, path, headers=headers, json=unit_body())
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 401


async def test_token_signed_with_another_secret_is_401(platform):
    from services.kernel.auth import TokenIssuer

    forged = TokenIssuer("another-secret-of-a-recommended-length-32b").mint("mallory", "admin")
    response = await platform.get("/api/v1/cadres", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def _wrong_check_digit(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@pytest.mark.parametrize("mutate, pointer", [
    (lambda b: b.update(national_id=_wrong_check_digit(b["national_id"])), "#/national_id"),
    (lambda b: b.update(birth_date="1992-04-10"), "#/birth_date"),
    (lambda b: b.update(gender="male"), "#/gender"),
    (lambda b: b.update(category="institution_staff"), "#/channel"),
    (lambda b: b.update(unit_id="no-such-unit"), "#/unit_id"),
    (lambda b: b.update(extra_field=1), "#/extra_field"),
    (lambda b: b.update(birth_date="not-a-date"), "#/birth_date"),
    (lambda b: b.update(effective_on="2024-02-30"), "#/effective_on"),
    (lambda b: b.pop("name"), "#/name"),
    (lambda b: b.update(channel="lottery"), "#/channel"),
])
async def test_bad_recruitment_is_422_with_field_path_and_appends_nothing(platform, mutate, pointer):
    unit = await register(platform)
    body = cadre_body(unit["id"])
    mutate(body)
    before = await event_count(platform)
    response = await platform.post("/api/v1/personnel/cadres", json=body, headers=platform.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert pointer in [e["pointer"] for e in problem["errors"]], problem
    assert "Traceback" not in response.text
    assert await event_count(platform) == before


@pytest.mark.parametrize("raw, content_type", [
    (b"{not json", "application/json"),
    (b"[]", "application/json"),
    (b'{"name": 5, "kind": "x", "establishment": {"administrative": "many"}}', "application/json"),
    (b"", "application/json"),
])
async def test_malformed_bodies_are_422(platform, raw, content_type):
    before = await event_count(platform)
    response = await platform.post("/api/v1/personnel/units", content=raw, headers={
        **platform.admin, "content-type": content_type})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"]
    assert await event_count(platform) == before


async def test_no_vacancy_is_422_and_appends_nothing(platform):
    unit = await register(platform, administrative=1, institution=0)
    first = await platform.post("/api/v1/personnel/cadres", json=cadre_body(unit["id"]),
                                headers=platform.admin)
    assert first.status_code == 201
    before = await event_count(platform)
    second = await platform.post("/api/v1/personnel/cadres", headers=platform.admin,
                                 json=cadre_body(unit["id"], name="赵强", gender="male", sequence=7))
    assert second.status_code == 422
    assert second.json()["errors"][0]["code"] == "no_vacancy"
    assert await event_count(platform) == before


async def test_same_person_twice_is_409(platform):
    unit = await register(platform, administrative=5)
    body = cadre_body(unit["id"])
    assert (await platform.post("/api/v1/personnel/cadres", json=body,
                                headers=platform.admin)).status_code == 201
    again = await platform.post("/api/v1/personnel/cadres", json=body, headers=platform.admin)
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM


async def test_if_match_stale_is_412_and_current_is_accepted(platform):
    unit = await register(platform)
    url = f"/api/v1/personnel/units/{unit['id']}/establishment-adjustments"
    body = {"administrative": 5, "institution": 1}
    ok = await platform.post(url, json=body, headers={**platform.admin, "If-Match": '"1"'})
    assert ok.status_code == 201 and ok.json()["version"] == 2
    assert ok.headers["etag"] == '"2"'
    before = await event_count(platform)
    stale = await platform.post(url, json={"administrative": 9, "institution": 1},
                                headers={**platform.admin, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert await event_count(platform) == before
    view = await platform.get(f"/api/v1/units/{unit['id']}", headers={
        **platform.admin, "X-Consistency-Token": ok.json()["consistency_token"]})
    assert view.json()["establishment"]["administrative"] == 5
    assert view.headers["etag"] == '"2"'
    not_modified = await platform.get(f"/api/v1/units/{unit['id']}",
                                      headers={**platform.admin, "If-None-Match": '"2"'})
    assert not_modified.status_code == 304


async def test_bad_if_match_is_400(platform):
    unit = await register(platform)
    response = await platform.post(
        f"/api/v1/personnel/units/{unit['id']}/establishment-adjustments",
        json={"administrative": 1, "institution": 1},
        headers={**platform.admin, "If-Match": "yesterday"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_concurrent_adjustments_without_if_match_all_apply(platform):
    unit = await register(platform)
    url = f"/api/v1/personnel/units/{unit['id']}/establishment-adjustments"
    responses = await asyncio.gather(*[
        platform.post(url, json={"administrative": n, "institution": 1}, headers=platform.admin)
        for n in range(3, 9)])
    assert sorted(r.status_code for r in responses) == [201] * 6
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 8))


async def test_idempotency_key_answers_a_retry_without_appending(platform):
    headers = {**platform.admin, "Idempotency-Key": "unit-42"}
    first = await platform.post("/api/v1/personnel/units", json=unit_body(), headers=headers)
    before = await event_count(platform)
    retry = await platform.post("/api/v1/personnel/units", json=unit_body(), headers=headers)
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert await event_count(platform) == before
    reused = await platform.post("/api/v1/personnel/units", json=unit_body(name="另一个单位"),
                                 headers=headers)
    assert reused.status_code == 422
    assert await event_count(platform) == before


async def test_unknown_resources_are_404_problems(platform):
    for path in ("/api/v1/cadres/nope", "/api/v1/units/nope", "/api/v1/nothing-here"):
        response = await platform.get(path, headers=platform.admin)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
    response = await platform.post("/api/v1/personnel/units/nope/establishment-adjustments",
                                   json={"administrative": 1, "institution": 1},
                                   headers=platform.admin)
    assert response.status_code == 404


async def test_roster_filters_search_and_cursor_pagination(platform):
    a = await register(platform, name="甲单位", administrative=10)
    b = await register(platform, name="乙单位", administrative=10)
    names = ["王一", "王二", "李三", "王四", "张五", "王六", "刘七"]
    last = None
    for i, name in enumerate(names):
        unit = a if i % 2 == 0 else b
        last = (await platform.post("/api/v1/personnel/cadres", headers=platform.admin, json=cadre_body(
            unit["id"], name=name, birth=date(1990, 1, 1 + i), sequence=i))).json()
    headers = {**platform.admin, "X-Consistency-Token": last["consistency_token"]}
    await platform.get("/api/v1/cadres", headers=headers)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await platform.get("/api/v1/cadres", params=params, headers=platform.admin)).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(names) and len(seen) == len(names)
    assert seen == sorted(seen)

    wang = (await platform.get("/api/v1/cadres", params={"q": "王"}, headers=platform.admin)).json()
    assert sorted(c["name"] for c in wang["items"]) == ["王一", "王二", "王六", "王四"]
    in_a = (await platform.get("/api/v1/cadres", params={"unit_id": a["id"]},
                               headers=platform.admin)).json()
    assert sorted(c["name"] for c in in_a["items"]) == sorted(names[0::2])
    bad = await platform.get("/api/v1/cadres", params={"cursor": "%%%"}, headers=platform.admin)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM


async def test_consistency_token_timeout_answers_stale(platform):
    from services.kernel.commands import ConsistencyToken

    future = ConsistencyToken("cadre-does-not-exist", 3).encode()
    platform.app.state.context.consistency.timeout = 0.2
    response = await platform.get("/api/v1/cadres", headers={
        **platform.admin, "X-Consistency-Token": future})
    assert response.status_code == 200
    assert response.headers["x-consistency"] == "stale"
    garbage = await platform.get("/api/v1/cadres", headers={
        **platform.admin, "X-Consistency-Token": "!!"})
    assert garbage.status_code == 400


async def test_metrics_show_commands_events_and_projection(platform):
    unit = await register(platform)
    accepted = (await platform.post("/api/v1/personnel/cadres", json=cadre_body(unit["id"]),
                                    headers=platform.admin)).json()
    await platform.get(f"/api/v1/cadres/{accepted['id']}", headers={
        **platform.admin, "X-Consistency-Token": accepted["consistency_token"]})
    text = (await platform.get("/metrics")).text
    assert ('zugong_commands_total{command="recruit_cadre",outcome="accepted",'
            'service="personnel"} 1.0') in text
    assert ('zugong_events_appended_total{service="personnel",'
            'type="zugong.personnel.cadre_recruited.v1"} 1.0') in text
    assert "zugong_projection_events_total" in text
    assert "zugong_http_request_duration_seconds_bucket" in text


async def test_health_readiness_and_openapi(platform):
    assert (await platform.get("/healthz")).json() == {"status": "ok"}
    ready = await platform.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = (await platform.get("/openapi.json")).json()
    for path in ("/api/v1/personnel/units", "/api/v1/personnel/cadres", "/api/v1/cadres",
                 "/api/v1/cadres/{cadre_id}", "/api/v1/units/{unit_id}"):
        assert path in spec["paths"], path
    assert (await platform.get("/docs")).status_code == 200


async def test_restart_keeps_data_and_read_model_catches_up(tmp_path):
    from tests.e2e.helpers import cadre_body as body
    from tests.support.embedded import embedded_settings

    settings = embedded_settings(tmp_path / "var")
    admin = bearer(settings)
    async with embedded_client(settings) as client:
        unit = (await client.post("/api/v1/personnel/units", json=unit_body(administrative=10),
                                  headers=admin)).json()
        accepted = (await client.post("/api/v1/personnel/cadres", json=body(unit["id"]),
                                      headers=admin)).json()
    # delete the read model: on restart the projector must rebuild it from the store
    (tmp_path / "var" / "readmodel.db").unlink()
    async with embedded_client(settings) as client:
        got = await client.get(f"/api/v1/cadres/{accepted['id']}", headers={
            **admin, "X-Consistency-Token": accepted["consistency_token"]})
        assert got.status_code == 200 and got.headers["x-consistency"] == "fresh"
        second = await client.post("/api/v1/personnel/cadres", headers=admin,
                                   json=body(unit["id"], name="周八", gender="male", sequence=9))
        assert second.status_code == 201
        unit_view = await client.get(f"/api/v1/units/{unit['id']}", headers={
            **admin, "X-Consistency-Token": second.json()["consistency_token"]})
        for _ in range(100):
            if unit_view.json()["occupied"]["administrative"] == 2:
                break
            await asyncio.sleep(0.01)
            unit_view = await client.get(f"/api/v1/units/{unit['id']}", headers=admin)
        assert unit_view.json()["occupied"]["administrative"] == 2
