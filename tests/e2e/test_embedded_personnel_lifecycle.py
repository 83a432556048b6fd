"""The cadre lifecycle through the gateway (embedded): every command accepted and rejected,
as-of views, roster filters, and read models rebuilt from the store."""

from __future__ import annotations

from datetime import date

import pytest
import pytest_asyncio

from tests.e2e.personnel_helpers import (
    PROBLEM,
    assert_rebuild_equals_live,
    command,
    event_count,
    go_live,
    person,
    query,
    settle,
    unit,
)
from tests.support.embedded import bearer, embedded_client, embedded_settings

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module")
async def world(tmp_path_factory):
    """A small county: rejected commands are tried against it and must leave it unchanged."""
    settings = embedded_settings(tmp_path_factory.mktemp("world") / "var")
    async with embedded_client(settings) as client:
        client.settings, client.admin = settings, bearer(settings, "admin")
        w: dict = {}
        w["A"] = await unit(client, "甲局", administrative=4, institution=1,
                            posts={"section_chief": 1, "deputy_section_chief": 1},
                            quotas={"principal_staff_4": 1, "principal_staff_3": 1})
        w["B"] = await unit(client, "乙镇", administrative=1, institution=0, kind="township",
                            posts={"deputy_section_chief": 1})
        w["C"] = await unit(client, "丙中心", administrative=2, institution=2, kind="institution")
        w["L"] = await go_live(client, w["A"], person("李局长", date(1970, 2, 3), "male", 1),
                               rank="principal_staff_3", rank_since="2019-01-01",
                               posts=[{"level": "section_chief", "title": "局长",
                                       "since": "2018-01-01"}])
        w["D"] = await go_live(client, w["A"], person("杜副局长", date(1990, 1, 1), "female", 2),
                               rank="principal_staff_4", rank_since="2020-01-01",
                               posts=[{"level": "deputy_section_chief", "title": "副局长",
                                       "since": "2020-01-01"}])
        w["K"] = await go_live(client, w["A"], person("孔科员", date(1992, 5, 5), "male", 3),
                               since="2015-07-01", joined="2015-07-01", rank="clerk_1",
                               rank_since="2021-06-01")
        w["I"] = (await command(client, "/cadres", {
            **person("伊馆员", date(1998, 8, 8), "female", 4), "category": "institution_staff",
            "unit_id": w["A"], "channel": "institution_hiring", "effective_on": "2024-03-01"}))["id"]
        w["F"] = await go_live(client, w["B"], person("冯科员", date(1991, 1, 1), "male", 5))
        w["X"] = await go_live(client, w["A"], person("夏退休", date(1964, 6, 6), "male", 6),
                               rank="principal_staff_2", rank_since="2016-01-01")
        await command(client, f"/cadres/{w['X']}/departures",
                      {"kind": "retirement", "effective_on": "2024-06-06"})
        w["E1"] = (await command(client, "/reserve-entries", {
            "cadre_id": w["K"], "level": "deputy_section_chief", "effective_on": "2023-03-01"}))["id"]
        await command(client, f"/reserve-entries/{w['E1']}/exits",
                      {"reason": "assessment", "effective_on": "2023-12-01"})
        w["E2"] = (await command(client, "/reserve-entries", {
            "cadre_id": w["K"], "level": "deputy_section_chief", "effective_on": "2024-03-01"}))["id"]
        client.world = w
        yield client


# (name, path, body, status, code): every case is 4xx problem+json and appends nothing
REJECTED = [
    ("posts below zero", "/units/{A}/leadership-posts", {"approved": {"section_chief": -1}}, 422,
     None),
    ("posts of an unknown unit", "/units/nope/leadership-posts", {"approved": {}}, 404, None),
    ("quota of an unknown rank", "/units/{A}/rank-quotas", {"quotas": {"grand_master": 1}}, 422,
     None),
    ("go-live civil servant without rank", "/cadres", {
        **person("甲", date(1980, 1, 1), "male", 11), "category": "civil_servant",
        "unit_id": "{A}", "channel": "go_live", "effective_on": "2015-01-01"}, 422, "rank_required"),
    ("go-live beyond approved posts", "/cadres", {
        **person("乙", date(1980, 1, 1), "male", 12), "category": "civil_servant",
        "unit_id": "{A}", "channel": "go_live", "effective_on": "2015-01-01", "rank": "clerk_1",
        "posts": [{"level": "section_chief", "title": "党组书记", "since": "2019-01-01"}]},
     422, "no_post_vacancy"),
    ("go-live beyond the rank quota", "/cadres", {
        **person("丙", date(1980, 1, 1), "male", 13), "category": "civil_servant",
        "unit_id": "{A}", "channel": "go_live", "effective_on": "2015-01-01",
        "rank": "principal_staff_4"}, 422, "no_rank_quota"),
    ("go-live in the future", "/cadres", {
        **person("丁", date(1980, 1, 1), "male", 14), "category": "civil_servant",
        "unit_id": "{A}", "channel": "go_live", "effective_on": "2099-01-01", "rank": "clerk_1"},
     422, "date_range"),
    ("posts on an exam recruitment", "/cadres", {
        **person("戊", date(1998, 1, 1), "male", 15), "category": "civil_servant",
        "unit_id": "{A}", "channel": "exam_recruitment", "effective_on": "2024-08-01",
        "posts": [{"level": "deputy_section_chief", "title": "副局长", "since": "2024-08-01"}]},
     422, "go_live_only"),
    ("rank for institution staff", "/cadres", {
        **person("己", date(1998, 1, 1), "male", 16), "category": "institution_staff",
        "unit_id": "{C}", "channel": "institution_hiring", "effective_on": "2024-08-01",
        "rank": "clerk_1"}, 422, "rank_category"),
    ("transfer-in without a vacancy", "/cadres", {
        **person("庚", date(1990, 1, 1), "male", 17), "category": "civil_servant",
        "unit_id": "{B}", "channel": "transfer_in", "effective_on": "2024-08-01"}, 422, "no_vacancy"),
    ("degree above the qualification", "/cadres/{K}/education", {
        "kind": "in_service", "level": "bachelor", "degree": "master", "school": "党校",
        "completed_on": "2020-01-01"}, 422, "degree_level"),
    ("education in the future", "/cadres/{K}/education", {
        "kind": "in_service", "level": "bachelor", "degree": "bachelor", "school": "党校",
        "completed_on": "2099-01-01"}, 422, "date_range"),
    ("education of an unknown cadre", "/cadres/nope/education", {
        "kind": "in_service", "level": "bachelor", "school": "党校", "completed_on": "2020-01-01"},
     404, None),
    ("promotion skipping a rung", "/cadres/{K}/rank-promotions", {
        "target_rank": "principal_staff_3", "effective_on": "2024-06-01"}, 422, "rank_step"),
    ("promotion before the minimum years", "/cadres/{K}/rank-promotions", {
        "target_rank": "principal_staff_4", "effective_on": "2023-05-31"}, 422, "min_years"),
    ("promotion beyond the rank quota", "/cadres/{K}/rank-promotions", {
        "target_rank": "principal_staff_4", "effective_on": "2024-06-01"}, 422, "no_rank_quota"),
    ("promotion before recruitment", "/cadres/{K}/rank-promotions", {
        "target_rank": "principal_staff_4", "effective_on": "2015-01-01"}, 422,
     "before_recruitment"),
    ("promotion by degree without one", "/cadres/{K}/rank-promotions", {
        "target_rank": "principal_staff_4", "basis": "graduate_degree",
        "effective_on": "2024-06-01"}, 422, "no_graduate_degree"),
    ("promotion of institution staff", "/cadres/{I}/rank-promotions", {
        "target_rank": "clerk_1", "effective_on": "2025-06-01"}, 422, "category"),
    ("promotion of an unknown cadre", "/cadres/nope/rank-promotions", {
        "target_rank": "clerk_1", "effective_on": "2025-06-01"}, 404, None),
    ("appointment beyond approved posts", "/cadres/{K}/appointments", {
        "level": "section_chief", "title": "党组书记", "effective_on": "2024-06-01"}, 422,
     "no_post_vacancy"),
    ("appointment before recruitment", "/cadres/{K}/appointments", {
        "level": "deputy_section_chief", "title": "副局长", "effective_on": "2014-06-01"}, 422,
     "before_recruitment"),
    ("appointment to a post already held", "/cadres/{L}/appointments", {
        "level": "section_chief", "title": "局长", "effective_on": "2024-06-01",
        "concurrent": True}, 409, None),
    ("conversion of a non-leader", "/cadres/{K}/post-to-rank-conversions", {
        "target_rank": "principal_staff_2", "reason": "age", "effective_on": "2024-06-01"}, 422,
     "not_a_leader"),
    ("conversion to a rank off the post's level", "/cadres/{L}/post-to-rank-conversions", {
        "target_rank": "principal_staff_4", "reason": "age", "effective_on": "2024-06-01"}, 422,
     "rank_step"),
    ("deputy converted to a 正科 rank", "/cadres/{D}/post-to-rank-conversions", {
        "target_rank": "principal_staff_2", "reason": "capability", "effective_on": "2024-06-01"},
     422, "rank_step"),
    ("exchange to the same unit", "/cadres/{K}/exchanges", {
        "to_unit_id": "{A}", "kind": "adjacent_field", "effective_on": "2024-06-01"}, 422,
     "same_unit"),
    ("exchange to an unknown unit", "/cadres/{K}/exchanges", {
        "to_unit_id": "nope", "kind": "adjacent_field", "effective_on": "2024-06-01"}, 422,
     "unknown_unit"),
    ("exchange without a vacancy", "/cadres/{K}/exchanges", {
        "to_unit_id": "{B}", "kind": "grassroots_training", "effective_on": "2024-06-01"}, 422,
     "no_vacancy"),
    ("exchange into a post not approved", "/cadres/{K}/exchanges", {
        "to_unit_id": "{C}", "kind": "adjacent_field", "effective_on": "2024-06-01",
        "post": {"level": "deputy_section_chief", "title": "副主任"}}, 422, "no_post_vacancy"),
    ("exchange before the post began", "/cadres/{D}/exchanges", {
        "to_unit_id": "{C}", "kind": "adjacent_field", "effective_on": "2019-06-01"}, 422,
     "date_order"),
    ("exchange of a kind not known", "/cadres/{K}/exchanges", {
        "to_unit_id": "{C}", "kind": "holiday", "effective_on": "2024-06-01"}, 422, None),
    ("departure before the latest change", "/cadres/{D}/departures", {
        "kind": "resignation", "effective_on": "2019-06-01"}, 422, "date_order"),
    ("departure of a kind not known", "/cadres/{D}/departures", {
        "kind": "vanished", "effective_on": "2024-06-01"}, 422, None),
    ("reserve entry over age", "/reserve-entries", {
        "cadre_id": "{L}", "level": "section_chief", "effective_on": "2024-06-01"}, 422,
     "over_age"),
    ("second active reserve entry", "/reserve-entries", {
        "cadre_id": "{K}", "level": "section_chief", "effective_on": "2024-06-01"}, 422,
     "already_in_reserve"),
    ("reserve entry at the level already held", "/reserve-entries", {
        "cadre_id": "{D}", "level": "deputy_section_chief", "effective_on": "2024-06-01"}, 422,
     "already_at_level"),
    ("reserve entry of an unknown cadre", "/reserve-entries", {
        "cadre_id": "nope", "level": "section_chief", "effective_on": "2024-06-01"}, 422,
     "unknown_cadre"),
    ("review of an unknown entry", "/reserve-entries/{K}.9/reviews", {
        "rating": "competent", "effective_on": "2024-06-01"}, 404, None),
    ("review of a malformed entry id", "/reserve-entries/nope/reviews", {
        "rating": "competent", "effective_on": "2024-06-01"}, 404, None),
    ("review before the entry", "/reserve-entries/{E2}/reviews", {
        "rating": "competent", "effective_on": "2024-01-01"}, 422, "date_order"),
    ("exit of a closed entry", "/reserve-entries/{E1}/exits", {
        "reason": "left", "effective_on": "2024-06-01"}, 409, None),
    ("exit with an unknown reason", "/reserve-entries/{E2}/exits", {
        "reason": "bored", "effective_on": "2024-06-01"}, 422, None),
] + [(f"departed cadre: {path}", f"/cadres/{{X}}{path}", body, 409, None) for path, body in [
    ("/education", {"kind": "in_service", "level": "bachelor", "school": "党校",
                    "completed_on": "2010-01-01"}),
    ("/rank-promotions", {"target_rank": "principal_staff_1", "effective_on": "2024-07-01"}),
    ("/appointments", {"level": "deputy_section_chief", "title": "副局长",
                       "effective_on": "2024-07-01"}),
    ("/post-to-rank-conversions", {"target_rank": "principal_staff_2", "reason": "age",
                                   "effective_on": "2024-07-01"}),
    ("/exchanges", {"to_unit_id": "{C}", "kind": "adjacent_field", "effective_on": "2024-07-01"}),
    ("/departures", {"kind": "death", "effective_on": "2024-07-01"}),
]] + [("reserve entry of a departed cadre", "/reserve-entries", {
    "cadre_id": "{X}", "level": "section_chief", "effective_on": "2024-07-01"}, 409, None)]


def _fill(value, w: dict):
    if isinstance(value, str):
        for key, ident in w.items():
            value = value.replace("{" + key + "}", ident)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    return value


@pytest.mark.parametrize("name, path, body, status, code", REJECTED, ids=[c[0] for c in REJECTED])
async def test_rejected_commands_are_problems_and_append_nothing(world, name, path, body, status,
                                                                 code):
    before = await event_count(world)
    response = await world.post(f"/api/v1/personnel{_fill(path, world.world)}",
                                json=_fill(body, world.world), headers=world.admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    if code:
        assert code in [e.get("code") for e in problem["errors"]], problem
    assert await event_count(world) == before


async def test_viewer_cannot_run_lifecycle_commands(world):
    viewer = bearer(world.settings, "viewer")
    before = await event_count(world)
    for path, body in [(f"/cadres/{world.world['K']}/departures",
                        {"kind": "resignation", "effective_on": "2024-06-01"}),
                       ("/reserve-entries", {"cadre_id": world.world["K"], "level": "section_chief",
                                             "effective_on": "2024-06-01"})]:
        response = await world.post(f"/api/v1/personnel{path}", json=body, headers=viewer)
        assert response.status_code == 403 and response.headers["content-type"] == PROBLEM
    assert await event_count(world) == before


async def test_world_read_models_equal_a_rebuild(world, tmp_path):
    await assert_rebuild_equals_live(world, tmp_path)


# -- accepted commands and what the queries show -----------------------------------------------
async def test_posts_quotas_and_go_live_show_in_unit_structure(platform):
    a = await unit(platform, "甲局", administrative=5, institution=1,
                   posts={"section_chief": 1, "deputy_section_chief": 2},
                   quotas={"principal_staff_2": 1, "clerk_1": 3})
    await go_live(platform, a, person("李一", date(1970, 1, 1), "male", 1),
                  rank="principal_staff_2", rank_since="2018-01-01",
                  posts=[{"level": "section_chief", "title": "局长", "since": "2018-01-01"},
                         {"level": "deputy_section_chief", "title": "党组副书记",
                          "since": "2019-01-01"}])
    await go_live(platform, a, person("王二", date(1996, 1, 1), "female", 2), since="2018-08-01",
                  joined="2018-08-01")
    await settle(platform)
    structure = await query(platform, f"/units/{a}/structure", on="2024-12-31")
    assert structure["establishment"][0] == {"slot": "administrative", "approved": 5,
                                             "occupied": 2, "vacant": 3, "over": 0}
    assert {p["level"]: (p["approved"], p["filled"], p["vacant"])
            for p in structure["leadership_posts"]} == {
        "section_chief": (1, 1, 0), "deputy_section_chief": (2, 1, 1)}
    assert {r["rank"]: (r["quota"], r["held"], r["available"]) for r in structure["rank_quotas"]
            } == {"principal_staff_2": (1, 1, 0), "clerk_1": (3, 1, 2)}
    assert structure["age"] == {
        "headcount": 2, "age_bands": {"0-30": 1, "31-35": 0, "36-40": 0, "41-45": 0, "46-50": 0,
                                      "51-55": 1, "56+": 0},
        "average_age": 41.0, "share_50_plus": 0.5, "share_55_plus": 0.0}
    await command(platform, f"/units/{a}/leadership-posts", {"approved": {"section_chief": 1}})
    await settle(platform)
    structure = await query(platform, f"/units/{a}/structure", on="2025-01-01")
    assert [(p["level"], p["approved"], p["filled"], p["over"])
            for p in structure["leadership_posts"]] == [("deputy_section_chief", 0, 1, 1),
                                                        ("section_chief", 1, 1, 0)]


async def test_education_promotion_appointment_conversion_in_detail_and_history(platform):
    a = await unit(platform, "甲局", posts={"section_chief": 1, "deputy_section_chief": 1})
    c = await go_live(platform, a, person("张三", date(1988, 4, 4), "male", 1),
                      rank_since="2019-09-01")
    await command(platform, f"/cadres/{c}/education", {
        "kind": "in_service", "level": "postgraduate", "degree": "master", "school": "省委党校",
        "completed_on": "2020-07-01"})
    await command(platform, f"/cadres/{c}/rank-promotions", {
        "target_rank": "principal_staff_4", "basis": "graduate_degree",
        "effective_on": "2021-09-01", "document_number": "怀组〔2021〕9号"})
    await command(platform, f"/cadres/{c}/appointments", {
        "level": "deputy_section_chief", "title": "副局长", "effective_on": "2022-03-01"})
    accepted = await command(platform, f"/cadres/{c}/appointments", {
        "level": "section_chief", "title": "局长", "effective_on": "2024-03-01"})
    await settle(platform)
    structure = await query(platform, f"/units/{a}/structure")
    assert {p["level"]: p["filled"] for p in structure["leadership_posts"]} == {
        "deputy_section_chief": 0, "section_chief": 1}  # the deputy post was relieved
    converted = await command(platform, f"/cadres/{c}/post-to-rank-conversions", {
        "target_rank": "principal_staff_2", "reason": "work_needs", "effective_on": "2025-03-01"})
    assert converted["version"] == accepted["version"] + 1
    detail = (await platform.get(f"/api/v1/cadres/{c}", headers={
        **platform.admin, "X-Consistency-Token": converted["consistency_token"]})).json()
    assert (detail["rank"], detail["rank_name"], detail["posts"]) == ("principal_staff_2",
                                                                      "二级主任科员", [])
    assert detail["education_level"] == "postgraduate" and detail["degree"] == "master"
    assert [h["kind"] for h in detail["history"]] == [
        "registered", "education", "promoted", "appointed", "appointed", "converted"]
    assert [h["effective_on"] for h in detail["history"]] == [
        "2015-01-01", "2020-07-01", "2021-09-01", "2022-03-01", "2024-03-01", "2025-03-01"]
    await settle(platform)
    structure = await query(platform, f"/units/{a}/structure")
    assert {p["level"]: p["vacant"] for p in structure["leadership_posts"]} == {
        "deputy_section_chief": 1, "section_chief": 1}  # freed at once


async def test_as_of_shows_the_cadre_on_a_past_date(platform):
    a = await unit(platform, "甲局", posts={"deputy_section_chief": 1})
    b = await unit(platform, "乙镇", kind="township")
    c = await go_live(platform, a, person("赵四", date(1990, 2, 2), "female", 1),
                      since="2016-05-01", joined="2014-07-01", rank_since="2018-05-01")
    await command(platform, f"/cadres/{c}/rank-promotions", {
        "target_rank": "principal_staff_4", "effective_on": "2021-01-01"})
    await command(platform, f"/cadres/{c}/exchanges", {
        "to_unit_id": b, "kind": "grassroots_training", "effective_on": "2023-06-01"})
    entry = await command(platform, "/reserve-entries", {
        "cadre_id": c, "level": "deputy_section_chief", "effective_on": "2024-01-10"})
    # recorded late, effective earlier: backdated into the history in its place
    await command(platform, f"/cadres/{c}/education", {
        "kind": "full_time", "level": "bachelor", "degree": "bachelor", "school": "山西大学",
        "completed_on": "2012-07-01"})
    await settle(platform)

    async def as_of(day):
        return await query(platform, f"/cadres/{c}", as_of=day)

    early = await as_of("2017-01-01")
    # the rank was conferred on 2018-05-01: not known yet in 2017
    assert (early["unit"]["id"], early["rank"], early["reserve"], early["age"]) == (a, None, None, 26)
    assert (await as_of("2018-05-01"))["rank"] == "clerk_1"
    assert [h["kind"] for h in early["history"]] == ["education", "registered"]
    mid = await as_of("2022-12-31")
    assert (mid["unit"]["id"], mid["rank"], mid["unit"]["name"]) == (a, "principal_staff_4", "甲局")
    late = await as_of("2024-02-01")
    assert (late["unit"]["id"], late["unit_since"]) == (b, "2023-06-01")
    assert late["reserve"]["entry_id"] == entry["id"]
    now = await query(platform, f"/cadres/{c}")
    assert {k: v for k, v in now.items() if k not in ("as_of", "age")} == \
        {k: v for k, v in late.items() if k not in ("as_of", "age")}
    missing = await platform.get(f"/api/v1/cadres/{c}", params={"as_of": "2016-04-30"},
                                 headers=platform.admin)
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    bad = await platform.get(f"/api/v1/cadres/{c}", params={"as_of": "yesterday"},
                             headers=platform.admin)
    assert bad.status_code == 422


async def test_exchange_moves_the_slot_and_departure_releases_it(platform):
    a = await unit(platform, "甲局", administrative=2, posts={"deputy_section_chief": 1})
    b = await unit(platform, "乙镇", administrative=1, kind="township",
                   posts={"deputy_section_chief": 1})
    c = await go_live(platform, a, person("钱五", date(1985, 5, 5), "male", 1),
                      posts=[{"level": "deputy_section_chief", "title": "副局长",
                              "since": "2019-01-01"}])
    moved = await command(platform, f"/cadres/{c}/exchanges", {
        "to_unit_id": b, "kind": "rank_promotion_exchange", "effective_on": "2025-02-01",
        "post": {"level": "deputy_section_chief", "title": "副镇长"}})
    await settle(platform)
    sa = await query(platform, f"/units/{a}/structure")
    sb = await query(platform, f"/units/{b}/structure")
    assert (sa["establishment"][0]["occupied"], sb["establishment"][0]["occupied"]) == (0, 1)
    assert (sa["leadership_posts"][0]["filled"], sb["leadership_posts"][0]["filled"]) == (0, 1)
    # the target is full now: a second exchange into it is refused
    d = await go_live(platform, a, person("孙六", date(1988, 6, 6), "female", 2))
    before = await event_count(platform)
    refused = await platform.post(f"/api/v1/personnel/cadres/{d}/exchanges", headers=platform.admin,
                                  json={"to_unit_id": b, "kind": "adjacent_field",
                                        "effective_on": "2025-03-01"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "no_vacancy"
    assert await event_count(platform) == before
    departed = await command(platform, f"/cadres/{c}/departures", {
        "kind": "transfer_out", "effective_on": "2025-06-30"}, headers={
        "If-Match": f'"{moved["version"]}"'})
    await settle(platform)
    sb = await query(platform, f"/units/{b}/structure")
    assert sb["establishment"][0]["occupied"] == 0 and sb["leadership_posts"][0]["filled"] == 0
    detail = await query(platform, f"/cadres/{c}")
    assert (detail["status"], detail["departed_on"], detail["departure_kind"], detail["posts"]) == (
        "departed", "2025-06-30", "transfer_out", [])
    assert detail["version"] == departed["version"]
    roster = await query(platform, "/cadres")
    assert [x["name"] for x in roster["items"]] == ["孙六"]
    gone = await query(platform, "/cadres", status="departed")
    assert [x["name"] for x in gone["items"]] == ["钱五"]


async def test_reserve_entry_review_exit_and_pool(platform):
    a = await unit(platform, "甲局")
    c = await go_live(platform, a, person("周七", date(1993, 7, 7), "female", 1))
    headers = {"Idempotency-Key": "reserve-1"}
    body = {"cadre_id": c, "level": "deputy_section_chief", "effective_on": "2025-03-01",
            "source": "democratic_recommendation"}
    entry = await command(platform, "/reserve-entries", body, headers=headers)
    assert entry["id"] == f"{c}.1"
    replay = await platform.post("/api/v1/personnel/reserve-entries", json=body,
                                 headers={**platform.admin, **headers})
    assert replay.json() == entry and replay.headers["idempotent-replayed"] == "true"
    await command(platform, f"/reserve-entries/{entry['id']}/reviews", {
        "rating": "excellent", "effective_on": "2025-12-01", "comment": "表现突出"})
    await settle(platform)
    pool = await query(platform, "/reserve-pool", on="2025-12-31")
    assert pool["total"] == 1
    deputy = next(x for x in pool["levels"] if x["level"] == "deputy_section_chief")
    assert (deputy["count"], deputy["average_age"], deputy["education"]["unknown"]) == (1, 32.0, 1)
    detail = await query(platform, f"/cadres/{c}")
    assert detail["reserve"]["reviews"] == [{"on": "2025-12-01", "rating": "excellent",
                                             "comment": "表现突出"}]
    await command(platform, f"/reserve-entries/{entry['id']}/exits", {
        "reason": "promoted", "effective_on": "2025-12-20"})
    await settle(platform)
    assert (await query(platform, "/reserve-pool", on="2025-12-31"))["total"] == 0
    detail = await query(platform, f"/cadres/{c}")
    assert detail["reserve"] is None
    assert detail["reserve_history"][0]["reason"] == "promoted"
    moves = await query(platform, "/personnel-movements", **{"from": "2025-01-01",
                                                             "to": "2025-12-31"})
    assert moves["reserve_entered"] == {"deputy_section_chief": 1}
    assert moves["reserve_exited"] == {"promoted": 1}
    assert moves["reserve_pool_at_end"] == {}
    mid = await query(platform, "/personnel-movements", **{"from": "2025-01-01", "to": "2025-06-30"})
    assert mid["reserve_pool_at_end"] == {"deputy_section_chief": 1}


async def test_roster_filters(platform):
    a = await unit(platform, "甲局", administrative=10, institution=5,
                   posts={"section_chief": 1, "deputy_section_chief": 2})
    b = await unit(platform, "乙镇", administrative=10, kind="township")
    lead = await go_live(platform, a, person("王局长", date(1968, 1, 1), "male", 1),
                         rank="principal_staff_1", rank_since="2018-01-01",
                         posts=[{"level": "section_chief", "title": "局长", "since": "2018-01-01"}])
    young = await go_live(platform, b, person("王小", date(1996, 3, 3), "female", 2),
                          since="2019-08-01", joined="2019-08-01")
    staff = (await command(platform, "/cadres", {
        **person("李馆员", date(1990, 5, 5), "female", 3), "category": "institution_staff",
        "unit_id": a, "channel": "institution_hiring", "effective_on": "2024-07-01"}))["id"]
    await command(platform, "/reserve-entries", {"cadre_id": young, "level": "deputy_section_chief",
                                                 "effective_on": "2025-01-01"})
    await settle(platform)

    async def ids(**params):
        return {x["id"] for x in (await query(platform, "/cadres", on="2025-06-01",
                                              **params))["items"]}

    assert await ids(unit_id=a) == {lead, staff}
    assert await ids(category="institution_staff") == {staff}
    assert await ids(rank="principal_staff_1") == {lead}
    assert await ids(post_level="section_chief") == {lead}
    assert await ids(post_level="none") == {young, staff}
    assert await ids(reserve_level="deputy_section_chief") == {young}
    assert await ids(age_band="56+") == {lead}
    assert await ids(age_band="0-30") == {young}        # 29 on 2025-06-01
    assert await ids(age_band="31-35") == {staff}       # 35
    assert await ids(q="局长") == {lead}                # post title
    assert await ids(q="王") == {lead, young}
    bad = await platform.get("/api/v1/cadres", params={"age_band": "old"}, headers=platform.admin)
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM


async def test_eligibility_exchange_candidates_and_retirements(platform):
    a = await unit(platform, "甲局", administrative=10)
    senior = await go_live(platform, a, person("老吴", date(1966, 3, 1), "male", 1),
                           since="2010-01-01", joined="1988-07-01", rank="principal_staff_2",
                           rank_since="2015-01-01")
    clerk = await go_live(platform, a, person("小郑", date(1994, 3, 1), "female", 2),
                          since="2021-01-01", joined="2018-07-01", rank_since="2021-06-01")
    await settle(platform)
    eligible = await query(platform, "/promotion-eligibility", target_rank="principal_staff_4",
                           on="2023-06-01")
    assert [(c["cadre"]["id"], c["bases"]) for c in eligible["candidates"]] == [
        (clerk, ["years_in_rank"])]
    later = await query(platform, "/promotion-eligibility", target_rank="principal_staff_4",
                        on="2023-07-01")
    assert later["candidates"][0]["bases"] == ["years_in_rank", "years_of_service"]
    assert (await query(platform, "/promotion-eligibility", target_rank="principal_staff_4",
                        on="2023-05-31"))["count"] == 0
    candidates = await query(platform, "/exchange-candidates", on="2025-06-01")
    assert [(c["cadre"]["id"], c["years_in_unit"]) for c in candidates["candidates"]] == [
        (senior, 15)]
    assert (await query(platform, "/exchange-candidates", on="2025-06-01", years=4))["count"] == 2
    retiring = await query(platform, "/retirements", on="2025-06-01", years=1)
    assert (retiring["within_1"], retiring["within_3"], retiring["overdue"]) == (1, 1, 0)
    assert retiring["cadres"][0]["retirement_date"] == "2026-03-01"



async def test_openapi_lists_the_lifecycle(world):
    spec = (await world.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/api/v1/personnel/units/{unit_id}/leadership-posts",
                 "/api/v1/personnel/units/{unit_id}/rank-quotas",
                 "/api/v1/personnel/cadres/{cadre_id}/education",
                 "/api/v1/personnel/cadres/{cadre_id}/rank-promotions",
                 "/api/v1/personnel/cadres/{cadre_id}/appointments",
                 "/api/v1/personnel/cadres/{cadre_id}/post-to-rank-conversions",
                 "/api/v1/personnel/cadres/{cadre_id}/exchanges",
                 "/api/v1/personnel/cadres/{cadre_id}/departures",
                 "/api/v1/personnel/reserve-entries",
                 "/api/v1/personnel/reserve-entries/{entry_id}/reviews",
                 "/api/v1/personnel/reserve-entries/{entry_id}/exits",
                 "/api/v1/units/{unit_id}/structure", "/api/v1/reserve-pool",
                 "/api/v1/promotion-eligibility", "/api/v1/exchange-candidates",
                 "/api/v1/retirements", "/api/v1/personnel-movements"):
        assert path in paths, path
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    movements = paths["/api/v1/personnel-movements"]["get"]
    assert {p["name"] for p in movements["parameters"]} >= {"from", "to"}


async def test_movement_period_must_be_ordered(world):
    response = await world.get("/api/v1/personnel-movements", params={
        "from": "2025-12-31", "to": "2025-01-01"}, headers=world.admin)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
