"""A year of grassroots governance in a county of 8 townships, driven through the gateway with
the roles that would do each step, and the article's figures read back from the queries:
40+ measures and 26 problems solved in rectification; 1352 reserve candidates of whom 417
leader candidates; 8 of 8 townships with a party-building office; 104 / 24 / 30 hires; 7 rules;
≥70% of compounds with a service station; 151 compounds connected. Complaint KPIs are checked
against figures computed here from the plan. Rosters travel as batches (as townships send them)
to keep the run short."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.governance import (
    ManualClock,
    assert_rebuild_equals_live,
    get,
    governance_platform,
    post,
    settle,
    token,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
YEAR = {"from": "2024-01-01", "to": "2024-12-31"}
TOWNSHIPS = [("140624100", "云中镇"), ("140624101", "金沙滩镇"), ("140624102", "毛家皂镇"),
             ("140624103", "何家堡乡"), ("140624104", "新家园乡"), ("140624105", "亲和乡"),
             ("140624106", "海北头乡"), ("140624107", "马辛庄乡")]
VILLAGES_PER_TOWNSHIP = [22, 21, 21, 21, 21, 21, 22, 21]  # 170 villages
COMPOUNDS_PER_TOWNSHIP = [60, 30, 20, 20, 20, 20, 20, 20]  # 210 compounds
CANDIDATES_PER_TOWNSHIP = [176, 169, 169, 169, 169, 169, 166, 165]  # 1352
LEADERS_PER_TOWNSHIP = [55, 52, 52, 52, 52, 52, 51, 51]  # 417
RNG = random.Random(2024)


def local(day: date, hour: int = 9) -> str:
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC).isoformat()


async def test_a_year_of_governance_in_figures(tmp_path):
    # measures per problem of each case; the first nine cases are carried through
    case_sizes = [[2, 1, 2]] * 5 + [[2, 1, 1]] * 3 + [[2, 1], [1, 1], [1], [1]]
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as gov:
        officer = token(gov.settings, "governance_officer", subject="county-office")
        ops = {code: token(gov.settings, "township_operator", township=code, subject=f"op-{code}")
               for code, _ in TOWNSHIPS}

        # --- townships, capacity, rules ---------------------------------------------------------
        for i, (code, name) in enumerate(TOWNSHIPS):
            await post(gov, "/townships", {"code": code, "name": name, "effective_on": "1984-01-01"},
                       headers=officer)
            await post(gov, f"/townships/{code}/party-building-office", {
                "effective_on": f"2024-0{1 + i % 6}-15", "staff_count": 3}, headers=ops[code])
            grid = 4 if i < 6 else 3
            for kind, count, day in (("institution_staff", 13, "2024-08-01"),
                                     ("community_assistant", 3, "2024-09-01"),
                                     ("grid_worker", grid, "2024-06-01")):
                await post(gov, f"/townships/{code}/hires", {"kind": kind, "count": count,
                                                             "effective_on": day}, headers=ops[code])
        await post(gov, f"/townships/{TOWNSHIPS[0][0]}/hires", {
            "kind": "grid_worker", "count": 5, "effective_on": "2023-11-01"}, headers=ops[TOWNSHIPS[0][0]])
        for title, day in (("村级组织运转经费保障办法", "2024-02-01"), ("村干部坐班值班制度", "2024-03-01"),
                           ("网格员管理办法", "2024-04-01"), ("接诉即办工作规则", "2024-05-01")):
            await post(gov, "/institutional-rules", {"title": title, "effective_on": day}, headers=officer)
        for code, _ in TOWNSHIPS[:3]:
            await post(gov, "/institutional-rules", {"township_id": code, "title": "党建办工作规则",
                                                     "effective_on": "2024-06-01"}, headers=ops[code])
        await post(gov, "/institutional-rules", {"title": "旧制度", "effective_on": "2023-05-01"},
                   headers=officer)

        # --- villages and communities (rosters) -------------------------------------------------
        villages: dict[str, list[str]] = {}
        for (code, _), n in zip(TOWNSHIPS, VILLAGES_PER_TOWNSHIP, strict=True):
            villages[code] = [f"{code}{k:03}" for k in range(1, n + 1)]
            await post(gov, "/villages/batch", {"villages": [
                {"code": v, "township_id": code, "name": f"{v}村"} for v in villages[code]]},
                headers=ops[code])
            for c in (1, 2):
                await post(gov, "/communities", {"code": f"{code}C{c}", "township_id": code,
                                                 "name": f"{code}第{c}社区"}, headers=ops[code])

        # --- compounds: 150 stations and 152 connections on the rosters, then one of each ends --
        compound_total = sum(COMPOUNDS_PER_TOWNSHIP)
        station_flags = [k < 150 for k in range(compound_total)]
        connected_flags = [k < 152 for k in range(compound_total)]
        RNG.shuffle(station_flags)
        RNG.shuffle(connected_flags)
        k = 0
        last = None
        for (code, _), n in zip(TOWNSHIPS, COMPOUNDS_PER_TOWNSHIP, strict=True):
            roster = []
            for j in range(n):
                entry = {"community_id": f"{code}C{1 + j % 2}", "name": f"{code}-小区{j:02}",
                         "households": 200 + j, "effective_on": "2010-01-01"}
                if station_flags[k]:
                    entry["service_station_opened_on"] = f"2024-{1 + j % 9:02}-01"
                if connected_flags[k]:
                    entry |= {"monitoring_connected_on": f"2024-{1 + j % 9:02}-10", "devices": 8}
                roster.append(entry)
                k += 1
            last = await post(gov, "/compounds/batch", {"compounds": roster}, headers=ops[code])
        first_code = TOWNSHIPS[0][0]
        compounds = []
        cursor = None
        while True:
            page = await get(gov, "/compounds", headers=ops[first_code], token_=last["consistency_token"],
                             limit=500, **({"cursor": cursor} if cursor else {}))
            compounds += page["items"]
            if not (cursor := page["next_cursor"]):
                break
        with_station = next(c for c in compounds if c["service_station_open"])
        connected = [c for c in compounds if c["monitoring_connected"]]
        await post(gov, f"/compounds/{with_station['id']}/service-station/closing",
                   {"reason": "场地收回", "effective_on": "2024-11-01"}, headers=ops[first_code])
        await post(gov, f"/compounds/{connected[0]['id']}/monitoring/disconnection",
                   {"reason": "设备更换", "effective_on": "2024-12-01"}, headers=ops[first_code])

        # --- property alerts on connected compounds ---------------------------------------------
        alert_plans = []
        for i in range(12):
            compound = connected[1 + i]
            raised = datetime(2024, 3 + i % 9, 5 + i, 6, 0, tzinfo=UTC)
            level = ("critical", "major", "minor")[i % 3]
            ack_limit = {"critical": 5, "major": 15, "minor": 60}[level]
            plan = {"raised": raised, "ack": ack_limit + (3 if i % 4 == 0 else -2),
                    "resolve": {"critical": 50, "major": 200, "minor": 1500}[level],
                    "resolve_limit": {"critical": 60, "major": 240, "minor": 1440}[level],
                    "ack_limit": ack_limit, "false": i % 5 == 0}
            alert = await post(gov, "/alerts", {"compound_id": compound["id"], "type": "smoke",
                                                "level": level, "at": raised.isoformat()},
                               headers=officer)
            base = f"/alerts/{alert['id']}"
            await post(gov, f"{base}/acknowledgement",
                       {"at": (raised + timedelta(minutes=plan["ack"])).isoformat()}, headers=officer)
            if plan["false"]:
                await post(gov, f"{base}/false-alarm", {"at": (raised + timedelta(
                    minutes=plan["ack"] + 1)).isoformat()}, headers=officer)
            else:
                await post(gov, f"{base}/dispatch", {"assignee_kind": "property_company",
                                                     "assignee": "物业", "at": (raised + timedelta(
                                                         minutes=plan["ack"] + 1)).isoformat()},
                           headers=officer)
                await post(gov, f"{base}/resolution", {"at": (raised + timedelta(
                    minutes=plan["resolve"])).isoformat()}, headers=officer)
            alert_plans.append(plan)

        # --- rectification: 12 cases, 30 problems, 44 measures, 40 done, 26 solved ---------------
        case_plans = []
        village_pool = [v for code, _ in TOWNSHIPS for v in villages[code][:2]][:12]
        for n, village in enumerate(village_pool):
            code = village[:9]
            solved, sizes = n < 9, case_sizes[n]
            case = await post(gov, "/rectification-cases", {
                "village_id": village, "year": 2024, "effective_on": "2024-03-01",
                "categories": ["weak_organisation", "lax_management"]}, headers=ops[code])
            cid = case["id"]
            await post(gov, f"/rectification-cases/{cid}/plan", {"effective_on": "2024-03-20", "problems": [
                {"category": ("weak_organisation", "lax_management")[p % 2], "description": f"问题{p}",
                 "measures": [{"action": f"措施{m}", "owner": "镇党委书记", "due_on": "2024-09-30"}
                              for m in range(size)]} for p, size in enumerate(sizes)]},
                headers=ops[code])
            measure = 0
            for p, size in enumerate(sizes, start=1):
                for _ in range(size):
                    measure += 1
                    if solved:
                        await post(gov, f"/rectification-cases/{cid}/measures/M{measure}/completion",
                                   {"effective_on": "2024-08-15"}, headers=ops[code])
                if solved:
                    await post(gov, f"/rectification-cases/{cid}/problems/P{p}/resolution",
                               {"effective_on": "2024-08-20"}, headers=ops[code])
            if solved:
                await post(gov, f"/rectification-cases/{cid}/reviews", {
                    "passed": True, "score": 80 + n, "effective_on": "2024-10-15",
                    "votes": {"satisfied": 12, "basically_satisfied": 2, "dissatisfied": 1}},
                    headers=officer)
                if n < 8:
                    await post(gov, f"/rectification-cases/{cid}/sign-off",
                               {"effective_on": "2024-11-20"}, headers=officer)
            case_plans.append({"sizes": sizes, "solved": solved})
        problems = sum(len(c["sizes"]) for c in case_plans)
        measures = sum(sum(c["sizes"]) for c in case_plans)
        done = sum(sum(c["sizes"]) for c in case_plans if c["solved"])
        solved_problems = sum(len(c["sizes"]) for c in case_plans if c["solved"])
        # the plan itself must produce the article's figures
        assert (problems, measures, done, solved_problems) == (30, 44, 40, 26)

        # --- reserve: 1352 candidates (417 leader candidates) found by the survey ----------------
        people = []
        for (code, _), n, leaders in zip(TOWNSHIPS, CANDIDATES_PER_TOWNSHIP, LEADERS_PER_TOWNSHIP,
                                         strict=True):
            roster = [{"village_id": villages[code][j % len(villages[code])], "name": f"{code}-{j}",
                       "source": ("wealth_creator", "returning_graduate", "veteran", "migrant_returnee",
                                  "party_member_backbone")[j % 5],
                       "leader_candidate": j < leaders, "party_member": j % 3 != 0,
                       "effective_on": "2024-04-01", "surveyed_on": "2024-04-20",
                       "survey_items": ["谈思想", "谈经历", "看品行", "看能力"]} for j in range(n)]
            last = await post(gov, "/reserve-candidates/batch", {"candidates": roster}, headers=ops[code])
            people += roster
        leaders_listed = await get(gov, "/reserve-candidates", token_=last["consistency_token"],
                                   township_id=TOWNSHIPS[1][0], leader_candidate="true", limit=20)
        pipeline = leaders_listed["items"][:16]
        code = TOWNSHIPS[1][0]
        qualified_villages = set()
        for j, cand in enumerate(pipeline):
            base = f"/reserve-candidates/{cand['id']}"
            await post(gov, f"{base}/talk", {"willing": j != 15, "effective_on": "2024-05-10"},
                       headers=ops[code])
            if j == 15:
                await post(gov, f"{base}/exit", {"reason": "本人不愿意", "effective_on": "2024-05-11"},
                           headers=ops[code])
                continue
            if j >= 12:
                continue
            await post(gov, f"{base}/trial", {"post": ("deputy_secretary", "director_assistant")[j % 2],
                                              "planned_end_on": "2024-11-30",
                                              "effective_on": "2024-06-01"}, headers=ops[code])
            if j >= 10:
                continue
            await post(gov, f"{base}/trial-evaluation", {"evaluation": "competent",
                                                         "effective_on": "2024-11-30"}, headers=ops[code])
            await post(gov, f"{base}/qualification", {"effective_on": "2024-12-10"}, headers=ops[code])
            qualified_villages.add(cand["village_id"])

        # --- complaints: two a month, each through its course ------------------------------------
        complaint_plans = []
        for month in range(1, 13):
            for half in (0, 1):
                code = TOWNSHIPS[(month + half) % 8][0]
                day = date(2024, month, 5 + 14 * half)
                plan = {"township": code, "sign_late": RNG.random() < 0.2,
                        "contact_late": RNG.random() < 0.2, "result_late": RNG.random() < 0.2,
                        "rating": RNG.choice(["satisfied", "basically_satisfied", "dissatisfied"]),
                        "resolved": RNG.random() < 0.8, "not_accepted": month == 6 and half == 1}
                cid = (await post(gov, "/complaints", {
                    "channel": "hotline", "category": "complaint", "community_id": f"{code}C1",
                    "description": "诉求", "contact_phone": f"1391234{month:02}{half:02}",
                    "at": local(day)}, headers=officer))["id"]
                base = f"/complaints/{cid}"
                if plan["not_accepted"]:
                    await post(gov, f"{base}/close", {"outcome": "not_accepted", "at": local(day, 10)},
                               headers=officer)
                    complaint_plans.append(plan)
                    continue
                await post(gov, f"{base}/dispatch", {"handling_unit": {"kind": "township", "id": code,
                                                                       "name": code},
                                                     "at": local(day, 10)}, headers=officer)
                await post(gov, f"{base}/sign-for", {"at": local(day, 16 if plan["sign_late"] else 11)},
                           headers=ops[code])
                contact_day = day + timedelta(days=2 if plan["contact_late"] else 0)
                await post(gov, f"{base}/first-contact", {"at": local(contact_day, 17)}, headers=ops[code])
                result_day = day + timedelta(days=9 if plan["result_late"] else 4)
                await post(gov, f"{base}/result", {"result": "已办理", "at": local(result_day)},
                           headers=ops[code])
                await post(gov, f"{base}/follow-up", {"resolved": plan["resolved"],
                                                      "satisfaction": plan["rating"],
                                                      "at": local(result_day, 15)}, headers=officer)
                await post(gov, f"{base}/close", {"at": local(result_day, 16)}, headers=officer)
                complaint_plans.append(plan)

        # --- responsibility list and village access lists ----------------------------------------
        for n in range(10):
            domain = ("生态环境", "安全生产", "市场监管", "自然资源")[n % 4]
            await post(gov, "/responsibility-list/items", {
                "code": f"SD-{n:03}", "matter": f"事项{n}", "domain": domain,
                "lead_department": "乡镇" if n == 9 else f"市{domain}局", "lead_duty": "监管执法",
                "township_duty": "发现报告、劝阻、协助", "legal_basis": "法律法规"}, headers=officer)
        await post(gov, "/responsibility-list/versions", {"effective_on": "2024-03-01",
                                                          "document_number": "怀办发〔2024〕6号"},
                   headers=officer)
        await post(gov, "/responsibility-list/items/SD-003/repeal", {"reason": "职责调整"}, headers=officer)
        await post(gov, "/responsibility-list/versions", {"effective_on": "2024-09-01",
                                                          "document_number": "怀办发〔2024〕21号"},
                   headers=officer)
        for kind, name in (("statutory_duty", "村民委员会选举"), ("assistance", "人口普查"),
                           ("negative", "招商引资任务"), ("certificate", "居住证明"),
                           ("signboard", "村务监督委员会")):
            last = await post(gov, "/village-access/entries", {"kind": kind, "name": name,
                                                               "basis": "厅字〔2022〕28号",
                                                               "effective_on": "2024-01-10"},
                              headers=officer)
        await settle(gov)

        # === the figures ==========================================================================
        capacity = await get(gov, "/township-capacity", headers=officer, **YEAR)
        assert (capacity["townships"], capacity["townships_with_office"]) == (8, 8)
        assert capacity["hires"] == {"institution_staff": 104, "community_assistant": 24,
                                     "grid_worker": 30}
        assert capacity["rules"] == 7

        metrics = await get(gov, "/compounds/metrics", headers=officer, as_of="2024-12-31T12:00:00Z")
        assert metrics["compounds"] == 210
        assert metrics["with_service_station"] == 149 and metrics["meets_target"] is True
        assert metrics["coverage_rate"]["rate"] >= 0.70
        assert metrics["monitoring_connected"] == 151
        alerts = metrics["alerts"]
        acked = [p["ack"] * 60 for p in alert_plans]
        resolved = [p["resolve"] * 60 for p in alert_plans if not p["false"]]
        assert alerts["raised"] == 12 and alerts["false_alarms"] == sum(p["false"] for p in alert_plans)
        assert alerts["mean_time_to_acknowledge_seconds"] == round(sum(acked) / len(acked), 1)
        assert alerts["mean_time_to_resolve_seconds"] == round(sum(resolved) / len(resolved), 1)
        assert alerts["acknowledge_breaches"] == sum(p["ack"] > p["ack_limit"] for p in alert_plans)
        assert alerts["resolve_breaches"] == sum(not p["false"] and p["resolve"] > p["resolve_limit"]
                                                 for p in alert_plans)
        midyear = await get(gov, "/compounds/metrics", headers=officer, as_of="2024-06-30T12:00:00Z")
        assert midyear["with_service_station"] < 149

        rect = await get(gov, "/rectification/summary", headers=officer, year=2024, group_by="category",
                         as_of="2024-12-31")
        assert rect["total"]["measures_adopted"] >= 40 and rect["total"]["problems_solved"] == 26
        assert rect["total"]["measures_completed"] == 40 and rect["total"]["problems_found"] == 30
        assert rect["total"]["cases"] == 12 and rect["total"]["signed_off"] == 8
        assert rect["total"]["overdue_measures"] == 4
        assert sum(r["problems_solved"] for r in rect["rows"]) == 26

        funnel = await get(gov, "/reserve/funnel", headers=officer, group_by="township")
        assert funnel["total"]["candidates"] == 1352 and funnel["total"]["leader_candidates"] == 417
        assert funnel["total"]["reached"] == {"surveyed": 1352, "talked": 16, "on_trial": 12,
                                              "trial_completed": 10, "qualified": 10}
        assert funnel["total"]["exited"] == 1 and funnel["total"]["qualified_now"] == 10
        short = await get(gov, "/reserve/villages-without-qualified", headers=officer)
        assert len(short) == 170 - len(qualified_villages)

        kpis = await get(gov, "/complaints/kpis", headers=officer, group_by="month", **YEAR)
        handled = [p for p in complaint_plans if not p["not_accepted"]]
        total = kpis["total"]
        assert total["received"] == 24 and total["dispatched"] == 23 and total["completed"] == 23
        assert total["timely_sign_for_rate"]["numerator"] == sum(not p["sign_late"] for p in handled)
        assert total["response_rate"]["numerator"] == sum(not p["contact_late"] for p in handled)
        assert total["on_time_completion_rate"]["numerator"] == sum(not p["result_late"] for p in handled)
        assert total["resolution_rate"]["numerator"] == sum(p["resolved"] for p in handled)
        assert total["satisfaction_rate"]["numerator"] == sum(p["rating"] != "dissatisfied" for p in handled)
        assert total["satisfaction_rate"]["denominator"] == 23
        assert [r["group"] for r in kpis["rows"]] == [f"2024-{m:02}" for m in range(1, 13)]
        assert all(r["received"] == 2 for r in kpis["rows"])

        published = await get(gov, "/responsibility-list", headers=ops[first_code], on="2024-12-31")
        assert published["version"]["number"] == 2 and len(published["items"]) == 9
        assert published["by_lead_department"]["乡镇"] == 1
        spring = await get(gov, "/responsibility-list", headers=officer, on="2024-05-01")
        assert len(spring["items"]) == 10
        check = await get(gov, "/village-access/check", headers=ops[first_code], question="task",
                          name="招商引资任务")
        assert check["allowed"] is False and check["entry"]["kind"] == "negative"

        # an operator's view of its township is the county's figures cut to it
        mine = await get(gov, "/reserve/funnel", headers=ops[first_code], group_by="all")
        assert mine["total"]["candidates"] == CANDIDATES_PER_TOWNSHIP[0]
        assert await assert_rebuild_equals_live(gov, gov.settings.var_dir) > 1352
