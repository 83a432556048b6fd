"""The talent service through the gateway's HTTP API, embedded mode (SQLite, in-process)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import pytest_asyncio

from tests.e2e.talent_helpers import (
    PROBLEM,
    T,
    compare_rebuilt_with_live,
    expert_body,
    fresh,
    ok,
    position_body,
    student_body,
    studio_body,
    talent_head,
    visit_body,
)
from tests.support.embedded import bearer, embedded_client, embedded_settings

pytestmark = pytest.mark.e2e


# accepted commands, read back through the queries ---------------------------------------

async def test_studio_certify_fund_review_revoke(platform):
    certified = await ok(platform, "/studios", studio_body(document_number="怀人才发〔2024〕2号"))
    studio_id = certified.json()["id"]
    assert certified.headers["location"] == f"{T}/studios/{studio_id}"
    await ok(platform, f"/studios/{studio_id}/grants",
             {"amount_yuan": 30000, "granted_on": "2024-06-01", "purpose": "启动经费"})
    await ok(platform, f"/studios/{studio_id}/grants", {"amount_yuan": 20000, "granted_on": "2024-09-01"})
    reviewed = await ok(platform, f"/studios/{studio_id}/reviews",
                        {"year": 2024, "grade": "excellent", "reviewed_on": "2024-12-20"})
    studio = await fresh(platform, f"/studios/{studio_id}", reviewed)
    assert studio["funding_total_yuan"] == 50000 and studio["grants"] == 2
    assert [g["amount_yuan"] for g in studio["grant_history"]] == [30000, 20000]
    assert studio["reviews"] == [{"year": 2024, "grade": "excellent", "comment": None,
                                  "reviewed_on": "2024-12-20"}]
    assert (studio["last_review_year"], studio["last_review_grade"]) == (2024, "excellent")
    assert studio["document_number"] == "怀人才发〔2024〕2号" and studio["status"] == "certified"

    url = f"{T}/studios/{studio_id}/revocation"
    before = await talent_head(platform)
    stale = await platform.post(url, json={"reason": "x", "revoked_on": "2025-01-10"},
                                headers={**platform.admin, "If-Match": '"3"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    assert await talent_head(platform) == before
    revoked = await platform.post(url, json={"reason": "年度考核不合格", "revoked_on": "2025-01-10"},
                                  headers={**platform.admin, "If-Match": '"4"'})
    assert revoked.status_code == 201, revoked.text
    studio = await fresh(platform, f"/studios/{studio_id}", revoked)
    assert (studio["status"], studio["revoked_on"], studio["revocation_reason"]) == (
        "revoked", "2025-01-10", "年度考核不合格")
    listed = (await platform.get(f"{T}/studios", params={"status": "revoked"},
                                 headers=platform.admin)).json()
    assert [s["id"] for s in listed["items"]] == [studio_id]
    not_modified = await platform.get(f"{T}/studios/{studio_id}",
                                      headers={**platform.admin, "If-None-Match": '"5"'})
    assert not_modified.status_code == 304


async def test_expert_visit_follow_ups_and_closure(platform):
    registered = await ok(platform, "/experts", expert_body(phone="139 1234 5678"))
    expert_id = registered.json()["id"]
    visited = await ok(platform, f"/experts/{expert_id}/visits", visit_body(issues=2))
    visit_location = visited.headers["location"]
    assert visit_location.startswith(f"{T}/experts/{expert_id}/visits/")
    visit_id = visit_location.rsplit("/", 1)[1]
    visit = await platform.get(visit_location, headers={
        **platform.admin, "X-Consistency-Token": visited.json()["consistency_token"]})
    assert visit.json() == {"id": visit_id, "visited_on": "2024-02-05",
                            "visitors": ["市委组织部部长"], "occasion": "festival", "issues": 2}

    open_ = await fresh(platform, "/follow-ups", visited, params={"as_of": "2024-03-15"})
    assert [f["id"] for f in open_["items"]] == [f"{visit_id}.1", f"{visit_id}.2"]
    assert {f["overdue"] for f in open_["items"]} == {False}
    overdue = (await platform.get(f"{T}/follow-ups", params={"overdue": "true", "as_of": "2024-04-01"},
                                  headers=platform.admin)).json()
    assert len(overdue["items"]) == 2 and overdue["items"][0]["overdue"] is True

    closed = await ok(platform, f"/experts/{expert_id}/follow-ups/{visit_id}.1/closure",
                      {"resolution": "已协调", "closed_on": "2024-03-01"})
    open_ = await fresh(platform, "/follow-ups", closed)
    assert [f["id"] for f in open_["items"]] == [f"{visit_id}.2"]
    done = (await platform.get(f"{T}/follow-ups", params={"status": "closed"},
                               headers=platform.admin)).json()
    assert [(f["id"], f["closed_on"], f["resolution"]) for f in done["items"]] == [
        (f"{visit_id}.1", "2024-03-01", "已协调")]

    before = await talent_head(platform)
    again = await platform.post(f"{T}/experts/{expert_id}/follow-ups/{visit_id}.1/closure",
                                json={"resolution": "again", "closed_on": "2024-03-02"},
                                headers=platform.admin)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert await talent_head(platform) == before

    expert = await fresh(platform, f"/experts/{expert_id}", closed)
    assert expert["visits"] == 1 and expert["last_visited_on"] == "2024-02-05"
    assert [f["status"] for f in expert["follow_ups"]] == ["closed", "open"]
    assert expert["phone"] == "13912345678"  # admin may read personal data


async def test_secondment_arranged_listed_and_ended(platform):
    registered = await ok(platform, "/experts", expert_body(name="刘博士", kind="doctoral_service_group"))
    expert_id = registered.json()["id"]
    arranged = await ok(platform, f"/experts/{expert_id}/secondments", {
        "host_unit": "怀仁市发展和改革局", "post": "副局长（挂职）",
        "starts_on": "2024-07-01", "ends_on": "2025-06-30"})
    location = arranged.headers["location"]
    secondment_id = location.rsplit("/", 1)[1]
    got = await platform.get(location, headers={
        **platform.admin, "X-Consistency-Token": arranged.json()["consistency_token"]})
    assert got.json()["post"] == "副局长（挂职）" and got.json()["expert_kind"] == "doctoral_service_group"

    ended = await ok(platform, f"/experts/{expert_id}/secondments/{secondment_id}/end",
                     {"ended_on": "2025-06-30", "evaluation": "优秀"})
    listed = await fresh(platform, "/secondments", ended, params={
        "from": "2025-01-01", "to": "2025-12-31", "expert_kind": "doctoral_service_group"})
    assert listed["total"] == 1
    assert (listed["items"][0]["ended_on"], listed["items"][0]["evaluation"]) == ("2025-06-30", "优秀")
    later = (await platform.get(f"{T}/secondments", params={"from": "2025-07-01"},
                                headers=platform.admin)).json()
    assert later["total"] == 0


async def test_internship_publish_place_withdraw_complete(platform):
    published = await ok(platform, "/internships", position_body(slots=2))
    position_id = published.json()["id"]
    placed = await ok(platform, f"/internships/{position_id}/placements", student_body())
    placement_location = placed.headers["location"]
    placement_id = placement_location.rsplit("/", 1)[1]
    placement = await platform.get(placement_location, headers={
        **platform.admin, "X-Consistency-Token": placed.json()["consistency_token"]})
    assert placement.json()["student_name"] == "赵敏" and placement.json()["status"] == "placed"
    await ok(platform, f"/internships/{position_id}/placements", student_body("钱进"))

    before = await talent_head(platform)
    full = await platform.post(f"{T}/internships/{position_id}/placements",
                               json=student_body("孙丽"), headers=platform.admin)
    assert full.status_code == 422 and full.json()["errors"][0]["code"] == "no_slot"
    assert await talent_head(platform) == before

    await ok(platform, f"/internships/{position_id}/placements/{placement_id}/withdrawal",
             {"withdrawn_on": "2024-07-15", "reason": "返校"})
    await ok(platform, f"/internships/{position_id}/placements", student_body("孙丽", "2024-07-16"))
    completed = await ok(platform, f"/internships/{position_id}/completion",
                         {"completed_on": "2024-08-23"})
    position = await fresh(platform, f"/internships/{position_id}", completed)
    assert (position["slots"], position["placed"], position["status"]) == (2, 2, "completed")
    assert sorted((p["student_name"], p["status"]) for p in position["placements"]) == [
        ("孙丽", "completed"), ("赵敏", "withdrawn"), ("钱进", "completed")]
    report = (await platform.get(f"{T}/reports/internships", params={"season": "summer"},
                                 headers=platform.admin)).json()
    assert report["total"] == {"positions": 1, "slots": 2, "placed": 2, "fill_rate": 1.0,
                               "completed_positions": 1}
    winter = (await platform.get(f"{T}/reports/internships", params={"season": "winter"},
                                 headers=platform.admin)).json()
    assert winter["total"]["slots"] == 0


async def test_university_promotion_agreement_termination(platform):
    registered = await ok(platform, "/universities", {"name": "山西大学", "city": "太原"})
    university_id = registered.json()["id"]
    await ok(platform, f"/universities/{university_id}/promotion-events", {
        "title": "引才宣讲会", "held_on": "2024-04-18", "attendees": 320, "positions_offered": 150})
    signed = await ok(platform, f"/universities/{university_id}/agreements", {
        "title": "校地合作框架协议", "scope": ["internship_base", "talent_supply"],
        "signed_on": "2024-09-10", "term_ends_on": "2027-09-09"})
    agreement_location = signed.headers["location"]
    agreement = await platform.get(agreement_location, headers={
        **platform.admin, "X-Consistency-Token": signed.json()["consistency_token"]})
    assert agreement.json()["scope"] == ["internship_base", "talent_supply"]
    report = await fresh(platform, "/reports/universities", signed,
                         params={"from": "2024-01-01", "to": "2024-12-31"})
    assert {k: report[k] for k in ("promotion_events", "attendees", "positions_offered",
                                   "agreements_signed", "agreements_in_force_at_end",
                                   "universities_engaged")} == {
        "promotion_events": 1, "attendees": 320, "positions_offered": 150,
        "agreements_signed": 1, "agreements_in_force_at_end": 1, "universities_engaged": 1}

    agreement_id = agreement_location.rsplit("/", 1)[1]
    terminated = await ok(platform, f"/universities/{university_id}/agreements/{agreement_id}/termination",
                          {"reason": "双方协商终止", "terminated_on": "2025-12-31"})
    detail = await fresh(platform, f"/universities/{university_id}", terminated)
    assert detail["agreements"][0]["status"] == "terminated"
    assert detail["promotion_events"][0]["attendees"] == 320
    after = (await platform.get(f"{T}/reports/universities", params={"to": "2026-06-30"},
                                headers=platform.admin)).json()
    assert after["agreements_in_force_at_end"] == 0 and after["agreements_signed"] == 1
    listed = (await platform.get(f"{T}/universities", headers=platform.admin)).json()
    assert [u["name"] for u in listed["items"]] == ["山西大学"]


# personal data, permissions, idempotency --------------------------------------------------

async def test_expert_phone_is_sealed_in_the_store_and_masked_for_viewers(platform):
    registered = await ok(platform, "/experts", expert_body(
        kind="think_tank_expert", phone="13912345678", term_ends_on="2027-01-09"))
    store = platform.app.state.context.stores["talent"]
    raw = [json.dumps(e.data, ensure_ascii=False) for e in await store.read_all(0, 100)]
    assert raw and not any("13912345678" in text for text in raw)
    assert any("139****5678" in text for text in raw)

    viewer, officer = bearer(platform.settings, "viewer"), bearer(platform.settings, "talent_officer")
    roster = await fresh(platform, "/think-tank", registered, headers=viewer,
                         params={"as_of": "2024-06-01"})
    assert roster["total"] == 1 and roster["items"][0]["phone"] == "139****5678"
    assert "13912345678" not in json.dumps(
        (await platform.get(f"{T}/experts/{registered.json()['id']}", headers=viewer)).json())
    plain = (await platform.get(f"{T}/think-tank", params={"as_of": "2024-06-01"},
                                headers=officer)).json()
    assert plain["items"][0]["phone"] == "13912345678"
    expired = (await platform.get(f"{T}/think-tank", params={"as_of": "2027-01-10"},
                                  headers=viewer)).json()
    assert expired["total"] == 0


async def test_roles_reading_and_writing_talent(platform):
    viewer = bearer(platform.settings, "viewer")
    personnel = bearer(platform.settings, "personnel_officer")
    officer = bearer(platform.settings, "talent_officer")
    before = await talent_head(platform)
    for headers in (viewer, personnel):
        denied = await platform.post(f"{T}/studios", json=studio_body(), headers=headers)
        assert denied.status_code == 403 and denied.headers["content-type"] == PROBLEM
    assert await talent_head(platform) == before
    assert (await platform.get(f"{T}/studios", headers=viewer)).status_code == 200
    assert (await platform.get(f"{T}/studios", headers=personnel)).status_code == 403
    assert (await platform.get(f"{T}/studios")).status_code == 401
    await ok(platform, "/studios", studio_body(), headers=officer)
    assert (await platform.get("/api/v1/cadres", headers=officer)).status_code == 403


async def test_idempotent_retry_points_at_the_same_visit(platform):
    expert_id = (await ok(platform, "/experts", expert_body())).json()["id"]
    headers = {**platform.admin, "Idempotency-Key": "visit-1"}
    first = await ok(platform, f"/experts/{expert_id}/visits", visit_body(issues=1), headers)
    before = await talent_head(platform)
    retry = await ok(platform, f"/experts/{expert_id}/visits", visit_body(issues=1), headers)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert retry.json() == first.json()
    assert await talent_head(platform) == before


async def test_query_parameters_are_validated(platform):
    for path, params in [("/reports/studios", {"from": "2024-12-31", "to": "2024-01-01"}),
                         ("/reports/visits", {"from": "not-a-date"}),
                         ("/studios", {"field": "painter"}),
                         ("/follow-ups", {"status": "pending"}),
                         ("/experts", {"kind": "alien"})]:
        response = await platform.get(f"{T}{path}", params=params, headers=platform.admin)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
    bad = await platform.get(f"{T}/studios", params={"cursor": "%%%"}, headers=platform.admin)
    assert bad.status_code == 400
    for path in ("/studios/nope", "/experts/nope", "/internships/nope", "/universities/nope",
                 "/experts/nope/visits/x", "/experts/nope/secondments/x",
                 "/internships/nope/placements/x", "/universities/nope/agreements/x"):
        response = await platform.get(f"{T}{path}", headers=platform.admin)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_lists_paginate_with_cursors(platform):
    names = [f"工作室{n:02d}" for n in range(7)]
    last = None
    for i, name in enumerate(names):
        last = await ok(platform, "/studios", studio_body(name, ("teacher", "doctor")[i % 2]))
    await fresh(platform, "/studios", last)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await platform.get(f"{T}/studios", params=params, headers=platform.admin)).json()
        seen += [s["name"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == names
    doctors = (await platform.get(f"{T}/studios", params={"field": "doctor"}, headers=platform.admin)).json()
    assert [s["name"] for s in doctors["items"]] == names[1::2]


async def test_openapi_lists_the_talent_api(platform):
    spec = (await platform.get("/openapi.json")).json()
    for path in (f"{T}/studios", f"{T}/studios/{{studio_id}}/grants", f"{T}/experts/{{expert_id}}/visits",
                 f"{T}/follow-ups", f"{T}/think-tank", f"{T}/secondments", f"{T}/reports/studios",
                 f"{T}/reports/visits", f"{T}/reports/internships", f"{T}/reports/universities",
                 f"{T}/internships/{{position_id}}/placements",
                 f"{T}/universities/{{university_id}}/agreements"):
        assert path in spec["paths"], path
    operation_ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


# rejected commands: 4xx problem+json, nothing appended -------------------------------------

@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(tmp_path_factory):
    """One platform with a record in every state the rejection cases need."""
    settings = embedded_settings(tmp_path_factory.mktemp("talent-world") / "var")
    async with embedded_client(settings) as client:
        client.settings, client.admin = settings, bearer(settings, "admin")
        ids: dict[str, str] = {}

        async def post(path, body):
            return await ok(client, path, body)

        ids["studio"] = (await post("/studios", studio_body())).json()["id"]
        await post(f"/studios/{ids['studio']}/grants", {"amount_yuan": 50000, "granted_on": "2024-06-01"})
        await post(f"/studios/{ids['studio']}/reviews",
                   {"year": 2024, "grade": "qualified", "reviewed_on": "2024-12-20"})
        ids["revoked"] = (await post("/studios", studio_body("已撤销工作室"))).json()["id"]
        await post(f"/studios/{ids['revoked']}/revocation", {"reason": "x", "revoked_on": "2024-10-01"})
        ids["expert"] = (await post("/experts", expert_body())).json()["id"]
        visit = await post(f"/experts/{ids['expert']}/visits", visit_body(issues=1))
        ids["closed"] = visit.headers["location"].rsplit("/", 1)[1] + ".1"
        await post(f"/experts/{ids['expert']}/follow-ups/{ids['closed']}/closure",
                   {"resolution": "done", "closed_on": "2024-03-01"})
        ids["doctor"] = (await post("/experts", expert_body("刘博士", "doctoral_service_group"))).json()["id"]
        arranged = await post(f"/experts/{ids['doctor']}/secondments", {
            "host_unit": "发改局", "post": "副局长", "starts_on": "2024-07-01", "ends_on": "2025-06-30"})
        ids["secondment"] = arranged.headers["location"].rsplit("/", 1)[1]
        await post(f"/experts/{ids['doctor']}/secondments/{ids['secondment']}/end",
                   {"ended_on": "2025-03-31"})
        ids["full"] = (await post("/internships", position_body(slots=1))).json()["id"]
        await post(f"/internships/{ids['full']}/placements", student_body())
        ids["open"] = (await post("/internships", position_body(slots=5))).json()["id"]
        await post(f"/internships/{ids['open']}/placements", student_body())
        ids["completed"] = (await post("/internships", position_body(slots=5))).json()["id"]
        await post(f"/internships/{ids['completed']}/completion", {"completed_on": "2024-08-23"})
        ids["university"] = (await post("/universities", {"name": "山西大学"})).json()["id"]
        await post(f"/universities/{ids['university']}/promotion-events",
                   {"title": "宣讲会", "held_on": "2024-04-18", "attendees": 200})
        signed = await post(f"/universities/{ids['university']}/agreements", {
            "title": "协议", "scope": ["research"], "signed_on": "2024-09-10", "term_ends_on": "2027-09-09"})
        ids["agreement"] = signed.headers["location"].rsplit("/", 1)[1]
        await post(f"/universities/{ids['university']}/agreements/{ids['agreement']}/termination",
                   {"reason": "终止", "terminated_on": "2025-01-31"})
        ids["ended_agreement"] = ids["agreement"]
        client.ids = ids
        yield client


TOMORROW = (date.today() + timedelta(days=1)).isoformat()
VISIT = {"visited_on": "2024-02-05", "visitors": ["部长"]}
SECONDMENT = {"host_unit": "发改局", "post": "副局长", "starts_on": "2024-07-01", "ends_on": "2025-06-30"}
AGREEMENT = {"title": "协议", "scope": ["research"], "signed_on": "2024-09-10", "term_ends_on": "2025-09-09"}

REJECTED = [
    # (path, body, status, pointer or code)
    ("/studios", studio_body(certified_on=TOMORROW), 422, "future_date"),
    ("/studios", studio_body(field="painter"), 422, "#/field"),
    ("/studios", {**studio_body(), "lead": None}, 422, "#/lead"),
    ("/studios", {**studio_body(), "name": "   "}, 422, "#/name"),
    ("/studios/{revoked}/grants", {"amount_yuan": 50000, "granted_on": "2024-11-01"}, 422, "studio_revoked"),
    ("/studios/nope/grants", {"amount_yuan": 50000, "granted_on": "2024-11-01"}, 404, None),
    ("/studios/{studio}/grants", {"amount_yuan": 0, "granted_on": "2024-11-01"}, 422, "#/amount_yuan"),
    ("/studios/{studio}/grants", {"amount_yuan": -5, "granted_on": "2024-11-01"}, 422, "#/amount_yuan"),
    ("/studios/{studio}/grants", {"amount_yuan": 50000.5, "granted_on": "2024-11-01"}, 422, "#/amount_yuan"),
    ("/studios/{studio}/grants", {"amount_yuan": "50000", "granted_on": "2024-11-01"}, 422, "#/amount_yuan"),
    ("/studios/{studio}/grants", {"amount_yuan": 50000, "granted_on": "2024-05-19"}, 422, "#/granted_on"),
    ("/studios/{studio}/reviews", {"year": 2023, "grade": "qualified", "reviewed_on": "2024-01-05"}, 422,
     "#/year"),
    ("/studios/{studio}/reviews", {"year": 2024, "grade": "good", "reviewed_on": "2024-12-05"}, 422,
     "#/grade"),
    ("/studios/{revoked}/revocation", {"reason": "x", "revoked_on": "2024-11-01"}, 409, None),
    ("/studios/{studio}/revocation", {"reason": "x", "revoked_on": "2024-05-01"}, 422, "#/revoked_on"),
    ("/experts", expert_body(kind="alien"), 422, "#/kind"),
    ("/experts", expert_body(phone="12345"), 422, "#/phone"),
    ("/experts", {**expert_body(kind="think_tank_expert"), "field": None}, 422, "#/field"),
    ("/experts", expert_body(registered_on=TOMORROW), 422, "#/registered_on"),
    ("/experts/{expert}/visits", {**VISIT, "visited_on": "2024-01-09"}, 422, "#/visited_on"),
    ("/experts/{expert}/visits", {**VISIT, "visitors": []}, 422, "#/visitors"),
    ("/experts/{expert}/visits", {**VISIT, "occasion": "party"}, 422, "#/occasion"),
    ("/experts/{expert}/visits", {**VISIT, "issues": [{"description": "d", "action": "a", "owner": "o",
                                                       "due_on": "2024-02-04"}]}, 422, "#/issues/0/due_on"),
    ("/experts/nope/visits", VISIT, 404, None),
    ("/experts/{expert}/follow-ups/{closed}/closure", {"resolution": "x", "closed_on": "2024-03-05"}, 409,
     None),
    ("/experts/{expert}/follow-ups/nope/closure", {"resolution": "x", "closed_on": "2024-03-05"}, 404, None),
    ("/experts/{doctor}/secondments", {**SECONDMENT, "ends_on": "2024-06-30"}, 422, "#/ends_on"),
    ("/experts/{doctor}/secondments", {**SECONDMENT, "starts_on": "2025-01-01", "ends_on": "2025-12-31"},
     422, "overlapping_secondment"),
    ("/experts/{doctor}/secondments/{secondment}/end", {"ended_on": "2025-04-30"}, 409, None),
    ("/internships", position_body(slots=0), 422, "#/slots"),
    ("/internships", position_body(slots=2.5), 422, "#/slots"),
    ("/internships", position_body(season="spring"), 422, "#/season"),
    ("/internships", position_body(ends_on="2024-07-01"), 422, "#/ends_on"),
    ("/internships/{full}/placements", student_body("钱进"), 422, "no_slot"),
    ("/internships/{completed}/placements", student_body("钱进"), 422, "position_completed"),
    ("/internships/{open}/placements", student_body(), 409, None),
    ("/internships/{open}/placements", student_body("钱进", "2024-06-01"), 422, "#/placed_on"),
    ("/internships/nope/placements", student_body(), 404, None),
    ("/internships/{open}/placements/nope/withdrawal", {"withdrawn_on": "2024-07-15"}, 404, None),
    ("/internships/{completed}/completion", {"completed_on": "2024-08-24"}, 409, None),
    ("/universities", {"name": "x", "rank": 1}, 422, "#/rank"),
    ("/universities/{university}/promotion-events", {"title": "t", "held_on": "2024-04-18",
                                                     "attendees": -1}, 422, "#/attendees"),
    ("/universities/{university}/agreements", {**AGREEMENT, "scope": []}, 422, "#/scope"),
    ("/universities/{university}/agreements", {**AGREEMENT, "term_ends_on": "2024-09-10"}, 422,
     "#/term_ends_on"),
    ("/universities/{university}/agreements", {**AGREEMENT, "signed_on": "2024-12-01"}, 422,
     "overlapping_agreement"),
    ("/universities/{university}/agreements/{ended_agreement}/termination",
     {"reason": "x", "terminated_on": "2025-02-01"}, 409, None),
    ("/universities/nope/agreements", AGREEMENT, 404, None),
]


@pytest.mark.parametrize("path, body, status, expected", REJECTED,
                         ids=[f"{n}:{c[0].split('/')[-1]}:{c[3]}" for n, c in enumerate(REJECTED)])
async def test_rejected_commands_are_problems_and_append_nothing(world, path, body, status, expected):
    before = await talent_head(world)
    response = await world.post(f"{T}{path.format(**world.ids)}", json=body, headers=world.admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == status
    assert "Traceback" not in response.text
    if expected:
        errors = problem.get("errors", [])
        assert expected in [e["pointer"] for e in errors] + [e.get("code") for e in errors], problem
    assert await talent_head(world) == before


async def test_the_world_fixture_really_accepts_the_happy_path(world):
    """The rejection cases are meaningful only if the same commands, fixed, are accepted."""
    ids = world.ids
    for path, body in [("/studios/{studio}/grants", {"amount_yuan": 50000, "granted_on": "2024-11-01"}),
                       ("/experts/{doctor}/secondments", {**SECONDMENT, "starts_on": "2025-04-01",
                                                          "ends_on": "2025-12-31"}),
                       ("/internships/{open}/placements", student_body("钱进"))]:
        response = await ok(world, path.format(**ids), body)
        assert response.status_code == 201


# rebuild: read models from the store equal the live ones --------------------------------------

async def test_read_models_rebuilt_from_the_store_equal_the_live_ones(world, tmp_path):
    last = await ok(world, "/experts", expert_body("收尾专家"))
    await fresh(world, "/experts", last)
    counts = await compare_rebuilt_with_live(world.app.state.context, tmp_path)
    assert all(counts.values()), counts  # every table has rows: the comparison means something
