"""A township operator of A, against township B's records, through EVERY governance route and
list filter: 404 for B's record named in a path, 403 for a filter or body naming B and for
county-level commands; nothing appended. The tables must cover every route the gateway
publishes, so a new route without an isolation case fails here."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from contracts.api.governance import COMMANDS
from tests.support.governance import (
    G,
    ManualClock,
    get,
    governance_platform,
    head,
    post,
    settle,
    token,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2024, 12, 30, 2, 0, tzinfo=UTC)
AT = "2024-12-01T02:00:00+00:00"


async def seed(gov, t: str) -> dict:
    ids = {"township_id": t}
    await post(gov, "/townships", {"code": t, "name": f"{t}镇"})
    await post(gov, "/villages", {"code": f"{t}-V1", "township_id": t, "name": f"{t}村"})
    await post(gov, "/communities", {"code": f"{t}-C1", "township_id": t, "name": f"{t}社区"})
    ids["village_id"], ids["community_id"] = f"{t}-V1", f"{t}-C1"
    ids["compound_id"] = (await post(gov, "/compounds/batch", {"compounds": [{
        "community_id": f"{t}-C1", "name": "小区", "households": 10,
        "service_station_opened_on": "2024-01-01", "monitoring_connected_on": "2024-01-01"}]}))["id"]
    ids["alert_id"] = (await post(gov, "/alerts", {"compound_id": ids["compound_id"], "type": "smoke",
                                                   "level": "minor", "at": AT}))["id"]
    complaint = (await post(gov, "/complaints", {
        "channel": "web", "category": "help", "community_id": f"{t}-C1", "description": "x",
        "contact_phone": "13912345678", "at": AT}))["id"]
    await post(gov, f"/complaints/{complaint}/dispatch", {
        "handling_unit": {"kind": "township", "id": t, "name": t}, "at": AT})
    ids["complaint_id"] = complaint
    case = (await post(gov, "/rectification-cases", {"village_id": f"{t}-V1", "year": 2024,
                                                      "categories": ["poor_service"]}))["id"]
    await post(gov, f"/rectification-cases/{case}/plan", {"problems": [{
        "category": "poor_service", "description": "x",
        "measures": [{"action": "a", "owner": "o", "due_on": "2025-06-01"}]}]})
    ids.update(case_id=case, problem_id="P1", measure_id="M1")
    ids["candidate_id"] = (await post(gov, "/reserve-candidates", {
        "village_id": f"{t}-V1", "name": "王五", "source": "veteran", "leader_candidate": True}))["id"]
    return ids


_ITEM = {"matter": "m", "domain": "d", "lead_department": "l", "lead_duty": "x",
         "township_duty": "y", "legal_basis": "z"}
_RULES = [{"urgency": u, "sign_for": {"amount": 1, "unit": "hours"},
           "response": {"amount": 1, "unit": "days"}, "resolve": {"amount": 3, "unit": "days"}}
          for u in ("normal", "complex", "urgent", "emergency")]
_ALERT_RULES = [{"level": lv, "acknowledge": {"amount": 5, "unit": "minutes"},
                 "resolve": {"amount": 1, "unit": "hours"}} for lv in ("critical", "major", "minor")]

# command → (body naming B where the body names a township's record, expected status)
COMMAND_CASES: dict[str, tuple[dict, int]] = {
    "register_township": ({"code": "C3", "name": "x"}, 403),
    "set_up_party_building_office": ({"staff_count": 1}, 404),
    "record_hires": ({"kind": "grid_worker", "count": 1}, 404),
    "register_village": ({"code": "X-V9", "township_id": "{township_id}", "name": "x"}, 403),
    "register_villages": ({"villages": [{"code": "X-V9", "township_id": "{township_id}",
                                         "name": "x"}]}, 403),
    "register_community": ({"code": "X-C9", "township_id": "{township_id}", "name": "x"}, 403),
    "register_compound": ({"community_id": "{community_id}", "name": "x", "households": 1}, 403),
    "register_compounds": ({"compounds": [{"community_id": "{community_id}", "name": "x",
                                           "households": 1}]}, 403),
    "adopt_institutional_rule": ({"township_id": "{township_id}", "title": "x"}, 403),
    "set_sla_policy": ({"complaint_rules": _RULES, "alert_rules": _ALERT_RULES}, 403),
    "receive_complaint": ({"channel": "web", "category": "help", "community_id": "{community_id}",
                           "description": "x", "contact_phone": "13912345678"}, 403),
    "dispatch_complaint": ({"handling_unit": {"kind": "township", "id": "{township_id}",
                                              "name": "x"}}, 403),
    "sign_for_complaint": ({}, 404),
    "request_return": ({"reason": "x"}, 404),
    "decide_return": ({"granted": True}, 403),
    "request_extension": ({"requested": {"amount": 1, "unit": "days"}, "reason": "x"}, 404),
    "decide_extension": ({"granted": True}, 403),
    "record_first_contact": ({}, 404),
    "report_result": ({"result": "x"}, 404),
    "record_follow_up": ({"resolved": True, "satisfaction": "satisfied"}, 403),
    "reopen_complaint": ({"reason": "x"}, 403),
    "close_complaint": ({}, 403),
    "flag_overdue_complaint": (None, 403),
    "open_service_station": ({}, 404),
    "close_service_station": ({"reason": "x"}, 404),
    "connect_monitoring": ({"devices": 1}, 404),
    "disconnect_monitoring": ({"reason": "x"}, 404),
    "raise_alert": ({"compound_id": "{compound_id}", "type": "smoke", "level": "minor"}, 403),
    "acknowledge_alert": ({}, 404),
    "dispatch_alert": ({"assignee_kind": "grid_worker", "assignee": "x"}, 404),
    "resolve_alert": ({}, 404),
    "mark_false_alarm": ({}, 404),
    "open_rectification_case": ({"village_id": "{village_id}", "year": 2025,
                                 "categories": ["poor_service"]}, 403),
    "record_problem": ({"category": "poor_service", "description": "x"}, 404),
    "adopt_rectification_plan": ({"problems": [{"category": "poor_service", "description": "x"}]},
                                 404),
    "adopt_measure": ({"problem_id": "P1", "action": "a", "owner": "o", "due_on": "2025-06-01"},
                      404),
    "complete_measure": ({}, 404),
    "resolve_problem": ({}, 404),
    "review_rectification": ({"passed": False, "score": 1}, 403),
    "sign_off_rectification": ({}, 403),
    "reopen_rectification": ({"reason": "x"}, 403),
    "add_reserve_candidate": ({"village_id": "{village_id}", "name": "x", "source": "veteran",
                               "leader_candidate": False}, 403),
    "add_reserve_candidates": ({"candidates": [{"village_id": "{village_id}", "name": "x",
                                                "source": "veteran", "leader_candidate": False}]},
                               403),
    "record_survey": ({}, 404),
    "record_reserve_talk": ({"willing": True}, 404),
    "start_trial": ({"post": "deputy_secretary", "planned_end_on": "2025-06-01"}, 404),
    "evaluate_trial": ({"evaluation": "competent"}, 404),
    "qualify_reserve": ({}, 404),
    "exit_reserve": ({"reason": "x"}, 404),
    "add_responsibility_item": ({"code": "X-1", **_ITEM}, 403),
    "amend_responsibility_item": ({**_ITEM, "reason": "x"}, 403),
    "repeal_responsibility_item": ({"reason": "x"}, 403),
    "publish_responsibility_list": ({"effective_on": "2024-12-01", "document_number": "x"}, 403),
    "admit_access_entry": ({"kind": "certificate", "name": "x", "basis": "x"}, 403),
    "remove_access_entry": ({"basis": "x"}, 403),
}

# GET path → ({query naming B: expected}, own-record check); "{x}" filled with B's ids
RECORD_READS = ["/townships/{township_id}", "/villages/{village_id}", "/communities/{community_id}",
                "/compounds/{compound_id}", "/alerts/{alert_id}", "/complaints/{complaint_id}",
                "/rectification-cases/{case_id}", "/reserve-candidates/{candidate_id}"]
LIST_FILTERS = {
    "/townships": {},
    "/township-capacity": {},
    "/villages": {"township_id": 403},
    "/communities": {"township_id": 403},
    "/compounds": {"township_id": 403, "community_id": 404},
    "/compounds/metrics": {"township_id": 403, "community_id": 404},
    "/institutional-rules": {"township_id": 403},
    "/alerts": {"township_id": 403, "compound_id": 404},
    "/complaints": {"township_id": 403, "community_id": 404},
    "/complaints/kpis": {"township_id": 403, "community_id": 404},
    "/rectification-cases": {"township_id": 403, "village_id": 404},
    "/rectification/summary": {"township_id": 403},
    "/rectification/overdue-measures": {"township_id": 403},
    "/reserve-candidates": {"township_id": 403, "village_id": 404},
    "/reserve/funnel": {"township_id": 403, "village_id": 404},
    "/reserve/villages-without-qualified": {"township_id": 403},
}
COUNTY_READS = {  # county-wide documents every reader may read
    "/sla-policy": {}, "/responsibility-list": {}, "/responsibility-list/versions": {},
    "/responsibility-list/items": {}, "/responsibility-list/items/{code}/history": {},
    "/village-access/entries": {}, "/village-access/check": {"question": "task", "name": "x"},
}


def fill(value, ids: dict):
    if isinstance(value, str):
        return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


async def test_an_operator_of_a_gets_403_or_404_on_b_through_every_route(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as gov:
        a_ids = await seed(gov, "A1")
        b_ids = {**await seed(gov, "B2"), "code": "X-1", "entry_id": "no-entry"}
        await settle(gov)
        op = token(gov.settings, "township_operator", township="A1")

        spec = (await gov.get("/openapi.json")).json()["paths"]
        published_gets = {p.removeprefix(G) for p, ops in spec.items()
                          if p.startswith(G) and "get" in ops}
        published_posts = {p.removeprefix(G) for p, ops in spec.items()
                           if p.startswith(G) and "post" in ops}
        assert {c.name for c in COMMANDS} == set(COMMAND_CASES), "a command lacks an isolation case"
        assert {c.path for c in COMMANDS} == published_posts
        covered = set(RECORD_READS) | set(LIST_FILTERS) | set(COUNTY_READS)
        assert published_gets == covered, published_gets ^ covered

        for route in COMMANDS:
            body, status = COMMAND_CASES[route.name]
            path = fill(route.path, b_ids)
            before = await head(gov)
            response = await gov.post(G + path, json=fill(body, b_ids) if body is not None else {},
                                      headers=op)
            assert response.status_code == status, (route.name, response.status_code, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert await head(gov) == before, route.name

        for path in RECORD_READS:
            await get(gov, fill(path, b_ids), headers=op, expect=404)
            await get(gov, fill(path, a_ids), headers=op)
        for path, filters in LIST_FILTERS.items():
            for name, status in filters.items():
                await get(gov, path, headers=op, expect=status, **{name: b_ids[name]})
            body = await get(gov, path, headers=op)
            text = str(body)
            for record in ("B2-V1", "B2-C1", b_ids["compound_id"], b_ids["alert_id"],
                           b_ids["complaint_id"], b_ids["case_id"], b_ids["candidate_id"]):
                assert record not in text, (path, record)
            assert "'B2'" not in text, path
        for path, params in COUNTY_READS.items():
            response = await gov.get(G + fill(path, b_ids), params=params, headers=op)
            assert response.status_code in (200, 404), (path, response.text)
