"""Governance geography and township capacity through the gateway; township-operator isolation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_asyncio

from tests.support.governance import (
    ManualClock,
    assert_refused,
    get,
    governance_platform,
    head,
    post,
    settle,
    token,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2024, 12, 20, 2, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        yield client


async def seed_two_townships(gov) -> dict:
    ids = {}
    for code, name in (("A1", "云中镇"), ("B2", "金沙滩镇")):
        await post(gov, "/townships", {"code": code, "name": name, "effective_on": "2001-01-01"})
        await post(gov, "/villages", {"code": f"{code}-V1", "township_id": code, "name": f"{name}一村"})
        await post(gov, "/communities", {"code": f"{code}-C1", "township_id": code,
                                         "name": f"{name}社区"})
        compound = await post(gov, "/compounds", {"community_id": f"{code}-C1", "name": f"{name}小区",
                                                  "households": 300})
        rule = await post(gov, "/institutional-rules", {"township_id": code, "title": f"{name}制度",
                                                        "effective_on": "2024-03-01"})
        ids[code] = {"compound": compound["id"], "rule": rule["id"]}
    await post(gov, "/institutional-rules", {"title": "县级制度", "effective_on": "2024-02-01"})
    await settle(gov)
    return ids


async def test_register_geography_and_capacity_then_read_back(gov):
    await post(gov, "/townships", {"code": "140624100", "name": "云中镇", "effective_on": "2001-01-01"})
    office = await post(gov, "/townships/140624100/party-building-office",
                        {"effective_on": "2024-03-01", "staff_count": 3,
                         "document_number": "怀组发〔2024〕5号"})
    for kind, count, day in (("institution_staff", 13, "2024-04-01"), ("grid_worker", 4, "2024-07-01"),
                             ("grid_worker", 1, "2023-07-01"), ("community_assistant", 3, "2024-08-01")):
        last = await post(gov, "/townships/140624100/hires", {"kind": kind, "count": count,
                                                              "effective_on": day})
    assert last["version"] == 6 and office["version"] == 2
    township = await get(gov, "/townships/140624100", token_=last["consistency_token"])
    assert township["party_building_office"] == {"set_up_on": "2024-03-01", "staff_count": 3,
                                                 "document_number": "怀组发〔2024〕5号"}
    assert township["hires"] == {"institution_staff": 13, "community_assistant": 3, "grid_worker": 5}
    assert township["version"] == 6

    village = await post(gov, "/villages", {"code": "140624100201", "township_id": "140624100",
                                            "name": "东关村"})
    got = await get(gov, f"/villages/{village['id']}", token_=village["consistency_token"])
    assert got == {"id": "140624100201", "township_id": "140624100", "name": "东关村", "version": 1}
    await post(gov, "/communities", {"code": "C1", "township_id": "140624100", "name": "仁和社区"})
    compound = await post(gov, "/compounds", {"community_id": "C1", "name": "仁和小区", "households": 640})
    got = await get(gov, f"/compounds/{compound['id']}", token_=compound["consistency_token"])
    assert got["township_id"] == "140624100" and got["community_id"] == "C1"
    await post(gov, "/institutional-rules", {"title": "县级制度", "effective_on": "2024-02-01"})
    rule = await post(gov, "/institutional-rules", {"township_id": "140624100", "title": "镇级制度",
                                                    "effective_on": "2023-02-01"})
    overview = await get(gov, "/township-capacity", token_=rule["consistency_token"],
                         **{"from": "2024-01-01", "to": "2024-12-31"})
    assert overview["townships"] == 1 and overview["townships_with_office"] == 1
    assert overview["hires"] == {"institution_staff": 13, "community_assistant": 3, "grid_worker": 4}
    assert overview["rules"] == 1 and overview["county_rules"] == 1
    before_office = await get(gov, "/township-capacity", **{"to": "2024-02-29"})
    assert before_office["townships_with_office"] == 0
    assert before_office["hires"]["grid_worker"] == 1 and before_office["rules"] == 2


async def test_geography_rules_are_refused_with_problems_and_append_nothing(gov):
    admin = gov.admin
    await post(gov, "/townships", {"code": "T1", "name": "云中镇", "effective_on": "2010-01-01"})
    await post(gov, "/townships/T1/party-building-office", {"staff_count": 2})
    await assert_refused(gov, "/townships", {"code": "T1", "name": "again"}, admin, 409)
    await assert_refused(gov, "/townships", {"code": "bad code!", "name": "x"}, admin, 422)
    await assert_refused(gov, "/townships/T1/party-building-office", {"staff_count": 2}, admin, 409)
    await assert_refused(gov, "/townships/NOPE/party-building-office", {"staff_count": 2}, admin, 404)
    await assert_refused(gov, "/townships/T1/hires", {"kind": "grid_worker", "count": 0}, admin, 422)
    await assert_refused(gov, "/townships/T1/hires", {"kind": "janitor", "count": 1}, admin, 422)
    await assert_refused(gov, "/townships/T1/hires", {"kind": "grid_worker", "count": 1,
                                               "effective_on": "2009-12-31"}, admin, 422, "date_order")
    await assert_refused(gov, "/townships/T1/hires", {"kind": "grid_worker", "count": 1,
                                               "effective_on": "2026-12-31"}, admin, 422, "date_range")
    await assert_refused(gov, "/villages", {"code": "V1", "township_id": "NOPE", "name": "x"}, admin, 422,
                  "unknown_township")
    await post(gov, "/villages", {"code": "V1", "township_id": "T1", "name": "一村"})
    await assert_refused(gov, "/villages", {"code": "V1", "township_id": "T1", "name": "again"}, admin, 409)
    await assert_refused(gov, "/compounds", {"community_id": "NOPE", "name": "x", "households": 1}, admin,
                  422, "unknown_community")
    await assert_refused(gov, "/compounds", {"community_id": "C", "name": "x", "households": 1, "x": 1},
                  admin, 422)
    viewer = token(gov.settings, "viewer")
    await assert_refused(gov, "/villages", {"code": "V2", "township_id": "T1", "name": "二村"}, viewer, 403)
    await settle(gov)
    listed = await get(gov, "/villages", headers=viewer)
    assert [v["id"] for v in listed["items"]] == ["V1"]


async def test_township_operator_without_claim_is_forbidden(gov):
    await seed_two_townships(gov)
    claimless = token(gov.settings, "township_operator")
    await assert_refused(gov, "/villages", {"code": "X", "township_id": "A1", "name": "x"}, claimless, 403)
    await get(gov, "/villages", headers=claimless, expect=403)


async def test_operator_sees_and_changes_only_its_township(gov):
    ids = await seed_two_townships(gov)
    a = token(gov.settings, "township_operator", township="A1")
    # reads: another township's records are 404, filters naming it 403, lists confined
    for path in ("/townships/B2", "/villages/B2-V1", "/communities/B2-C1",
                 f"/compounds/{ids['B2']['compound']}"):
        await get(gov, path, headers=a, expect=404)
        await get(gov, path.replace("B2", "A1").replace(ids["B2"]["compound"], ids["A1"]["compound"]),
                  headers=a)
    for path in ("/villages", "/communities", "/compounds", "/institutional-rules"):
        await get(gov, path, headers=a, expect=403, township_id="B2")
        own = await get(gov, path, headers=a)
        assert own["items"] and all(i.get("township_id") in ("A1", None) for i in own["items"])
    await get(gov, "/compounds", headers=a, expect=404, community_id="B2-C1")
    assert [t["id"] for t in (await get(gov, "/townships", headers=a))["items"]] == ["A1"]
    rules = (await get(gov, "/institutional-rules", headers=a))["items"]
    assert sorted(r["title"] for r in rules) == ["云中镇制度", "县级制度"]
    overview = await get(gov, "/township-capacity", headers=a)
    assert [t["township_id"] for t in overview["by_township"]] == ["A1"]

    # writes: another township's records are 404 (path) or 403 (body); county actions 403
    await assert_refused(gov, "/townships/B2/party-building-office", {"staff_count": 1}, a, 404)
    await assert_refused(gov, "/townships/B2/hires", {"kind": "grid_worker", "count": 1}, a, 404)
    await assert_refused(gov, "/villages", {"code": "B2-V9", "township_id": "B2", "name": "x"}, a, 403)
    await assert_refused(gov, "/communities", {"code": "B2-C9", "township_id": "B2", "name": "x"}, a, 403)
    await assert_refused(gov, "/compounds", {"community_id": "B2-C1", "name": "x", "households": 1}, a, 403)
    await assert_refused(gov, "/institutional-rules", {"township_id": "B2", "title": "x"}, a, 403)
    await assert_refused(gov, "/institutional-rules", {"title": "county"}, a, 403)
    await assert_refused(gov, "/townships", {"code": "C3", "name": "x"}, a, 403)
    # and its own township works
    before = await head(gov)
    await post(gov, "/townships/A1/hires", {"kind": "grid_worker", "count": 2}, headers=a)
    await post(gov, "/villages", {"code": "A1-V2", "township_id": "A1", "name": "二村"}, headers=a)
    assert await head(gov) == before + 2


async def test_retries_with_an_idempotency_key_and_stale_if_match(gov):
    await post(gov, "/townships", {"code": "T1", "name": "云中镇"})
    headers = {**gov.admin, "Idempotency-Key": "hire-2024-07"}
    body = {"kind": "grid_worker", "count": 4, "effective_on": "2024-07-01"}
    first = await post(gov, "/townships/T1/hires", body, headers=headers)
    before = await head(gov)
    again = await gov.post("/api/v1/governance/townships/T1/hires", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first
    assert again.headers["idempotent-replayed"] == "true" and await head(gov) == before
    stale = {**gov.admin, "If-Match": '"1"'}
    await assert_refused(gov, "/townships/T1/hires", body, stale, 412)
    current = {**gov.admin, "If-Match": f'"{first["version"]}"'}
    accepted = await post(gov, "/townships/T1/hires", body, headers=current)
    assert accepted["version"] == 3
    township = await get(gov, "/townships/T1", token_=accepted["consistency_token"])
    assert township["hires"]["grid_worker"] == 8 and township["version"] == 3
