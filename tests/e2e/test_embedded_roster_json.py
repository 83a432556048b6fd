"""The roster is answered as JSON built without the response models
(``PersonnelQueries.cadres_json``): its bytes must be exactly ``Page``'s JSON of the same rows,
for every kind of cadre (posts, an active reserve entry with reviews, a closed one, education,
departed), every page, with and without the right to read national IDs."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.queries import Page
from tests.e2e.personnel_helpers import command, go_live, person, settle, unit
from tests.support.embedded import bearer

pytestmark = pytest.mark.e2e


async def test_the_roster_bytes_are_the_page_models_json(platform) -> None:
    a = await unit(platform, "甲局", administrative=6, institution=2,
                   posts={"section_chief": 1, "deputy_section_chief": 2},
                   quotas={"principal_staff_4": 2, "principal_staff_3": 1})
    b = await unit(platform, "乙镇", administrative=2, institution=0, kind="township")
    leader = await go_live(platform, a, person("李局长", date(1970, 2, 3), "male", 1),
                           rank="principal_staff_3", rank_since="2019-01-01",
                           posts=[{"level": "section_chief", "title": "局长\"正职\"",
                                   "since": "2018-01-01"}])
    clerk = await go_live(platform, a, person("孔科员", date(1992, 5, 5), "male", 3),
                          since="2015-07-01", joined="2015-07-01", rank="clerk_1",
                          rank_since="2021-06-01")
    await go_live(platform, b, person("冯科员", date(1991, 1, 1), "female", 5))
    retired = await go_live(platform, a, person("夏退休", date(1964, 6, 6), "male", 6),
                            rank="principal_staff_4", rank_since="2016-01-01")
    await command(platform, f"/cadres/{retired}/departures",
                  {"kind": "retirement", "effective_on": "2024-06-06"})
    await command(platform, "/cadres", {
        **person("伊馆员", date(1998, 8, 8), "female", 4), "category": "institution_staff",
        "unit_id": a, "channel": "institution_hiring", "effective_on": "2024-03-01"})
    await command(platform, f"/cadres/{clerk}/education", {
        "kind": "in_service", "level": "bachelor", "degree": "bachelor", "school": "党校",
        "completed_on": "2020-01-01"})
    closed = (await command(platform, "/reserve-entries", {
        "cadre_id": clerk, "level": "deputy_section_chief", "effective_on": "2023-03-01"}))["id"]
    await command(platform, f"/reserve-entries/{closed}/exits",
                  {"reason": "assessment", "effective_on": "2023-12-01"})
    active = (await command(platform, "/reserve-entries", {
        "cadre_id": clerk, "level": "deputy_section_chief", "effective_on": "2024-03-01"}))["id"]
    for rating, comment in (("excellent", "好"), ("competent", None)):
        await command(platform, f"/reserve-entries/{active}/reviews",
                      {"rating": rating, "effective_on": "2024-12-20", "comment": comment})
    await command(platform, f"/cadres/{leader}/education", {
        "kind": "full_time", "level": "postgraduate", "degree": "master", "school": "山西大学",
        "major": "行政管理", "completed_on": "2000-07-01"})
    await settle(platform)

    queries = platform.app.state.context.personnel
    kinds_seen: set[str] = set()
    for role, reveal in (("admin", True), ("viewer", False)):
        headers = bearer(platform.settings, role)
        for params in ({"status": "all"}, {}, {"status": "departed"}, {"unit_id": a, "limit": 2},
                       {"reserve_level": "deputy_section_chief"}, {"q": "科员"},
                       {"age_band": "31-35", "on": "2025-01-01"}):
            cursor = None
            while True:
                wanted = {**params, **({"cursor": cursor} if cursor else {})}
                response = await platform.get("/api/v1/cadres", params=wanted, headers=headers)
                assert response.status_code == 200, response.text
                arguments = {k: v for k, v in wanted.items() if k != "on"}
                if "on" in wanted:
                    arguments["on"] = date.fromisoformat(wanted["on"])
                page = await queries.cadres(**arguments, reveal=reveal)
                assert response.content == page.model_dump_json().encode(), wanted
                assert response.headers["content-type"] == "application/json"
                Page.model_validate_json(response.content)
                for item in page.items:
                    kinds_seen |= {f"posts:{bool(item.posts)}", f"reserve:{item.reserve is not None}",
                                   f"status:{item.status}", f"reveal:{reveal}"}
                    if item.reserve:
                        kinds_seen.add(f"reviews:{len(item.reserve.reviews)}")
                cursor = response.json()["next_cursor"]
                if cursor is None:
                    break
    assert {"posts:True", "posts:False", "reserve:True", "reserve:False", "status:departed",
            "status:active", "reveal:True", "reveal:False", "reviews:2"} <= kinds_seen
