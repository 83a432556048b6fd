"""The demo's grassroots governance year (2025) in 8 townships: party-building offices in all 8;
104 institution staff, 24 community assistants and 30 grid workers hired; 7 rules; 210 compounds,
149 with a service station (≥70%) and 151 connected to monitoring, with property alerts; 12
rectification cases (44 measures, 26 problems solved); 1352 reserve candidates of whom 417 leader
candidates, 16 carried through talks and trials; two complaints a month through their course; the
responsibility list and village access lists. Ported from the governance scenario test."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from zugong.demo.client import DemoApi

__all__ = ["run_governance"]

G = "/api/v1/governance"
TOWNSHIPS = [("140624100", "云中镇"), ("140624101", "金沙滩镇"), ("140624102", "毛家皂镇"),
             ("140624103", "何家堡乡"), ("140624104", "新家园乡"), ("140624105", "亲和乡"),
             ("140624106", "海北头乡"), ("140624107", "马辛庄乡")]
VILLAGES_PER_TOWNSHIP = [22, 21, 21, 21, 21, 21, 22, 21]  # 170 villages
COMPOUNDS_PER_TOWNSHIP = [60, 30, 20, 20, 20, 20, 20, 20]  # 210 compounds
CANDIDATES_PER_TOWNSHIP = [176, 169, 169, 169, 169, 169, 166, 165]  # 1352
LEADERS_PER_TOWNSHIP = [55, 52, 52, 52, 52, 52, 51, 51]  # 417


ESTATES = "阳光 幸福 翠苑 锦绣 和谐 康乐 金色 华府 御景 紫荆".split()
GARDENS = "家园 花园 小区 新村 名苑 嘉园".split()
VILLAGE_FIRST = "东西南北前后上下大小新旧"
VILLAGE_SECOND = "王庄 李堡 河头 营 寨 屯 沟 窑 店 坊 堡 家营 台 峪".split()
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌鹏辉"


def compound_name(j: int) -> str:
    return f"{ESTATES[j % 10]}{GARDENS[(j // 10) % 6]}"


def village_name(k: int) -> str:
    return f"{VILLAGE_FIRST[k % 12]}{VILLAGE_SECOND[(k // 12) % 14]}村"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def local(day: date, hour: int = 9) -> str:
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC).isoformat()


async def run_governance(api: DemoApi) -> None:
    RNG = random.Random(2024)
    case_sizes = [[2, 1, 2]] * 5 + [[2, 1, 1]] * 3 + [[2, 1], [1, 1], [1], [1]]

    async def post(path: str, body: dict | None = None) -> dict:
        return (await api.post(G + path, body, section="governance")).json()

    # --- townships, capacity, rules ---------------------------------------------------------
    for i, (code, name) in enumerate(TOWNSHIPS):
        await post("/townships", {"code": code, "name": name, "effective_on": "1984-01-01"})
        await post(f"/townships/{code}/party-building-office", {
            "effective_on": f"2025-0{1 + i % 6}-15", "staff_count": 3})
        grid = 4 if i < 6 else 3
        for kind, count, day in (("institution_staff", 13, "2025-08-01"),
                                 ("community_assistant", 3, "2025-09-01"),
                                 ("grid_worker", grid, "2025-06-01")):
            await post(f"/townships/{code}/hires", {"kind": kind, "count": count,
                                                         "effective_on": day})
    await post(f"/townships/{TOWNSHIPS[0][0]}/hires", {
        "kind": "grid_worker", "count": 5, "effective_on": "2024-11-01"})
    for title, day in (("村级组织运转经费保障办法", "2025-02-01"), ("村干部坐班值班制度", "2025-03-01"),
                       ("网格员管理办法", "2025-04-01"), ("接诉即办工作规则", "2025-05-01")):
        await post("/institutional-rules", {"title": title, "effective_on": day})
    for code, _ in TOWNSHIPS[:3]:
        await post("/institutional-rules", {"township_id": code, "title": "党建办工作规则",
                                                 "effective_on": "2025-06-01"})
    await post("/institutional-rules", {"title": "旧制度", "effective_on": "2024-05-01"})

    # --- villages and communities (rosters) -------------------------------------------------
    villages: dict[str, list[str]] = {}
    for (code, name), n in zip(TOWNSHIPS, VILLAGES_PER_TOWNSHIP, strict=True):
        villages[code] = [f"{code}{k:03}" for k in range(1, n + 1)]
        await post("/villages/batch", {"villages": [
            {"code": v, "township_id": code, "name": village_name(int(v[-3:]))}
            for v in villages[code]]})
        for c in (1, 2):
            await post("/communities", {"code": f"{code}C{c}", "township_id": code,
                                             "name": f"{name}{('东城', '西城')[c - 1]}社区"})

    # --- compounds: 150 stations and 152 connections on the rosters, then one of each ends --
    compound_total = sum(COMPOUNDS_PER_TOWNSHIP)
    station_flags = [k < 150 for k in range(compound_total)]
    connected_flags = [k < 152 for k in range(compound_total)]
    RNG.shuffle(station_flags)
    RNG.shuffle(connected_flags)
    k = 0
    last = None
    planned: list[tuple[str, str, bool, bool]] = []
    for (code, _), n in zip(TOWNSHIPS, COMPOUNDS_PER_TOWNSHIP, strict=True):
        roster = []
        for j in range(n):
            entry = {"community_id": f"{code}C{1 + j % 2}", "name": compound_name(j),
                     "households": 200 + j, "effective_on": "2010-01-01"}
            if station_flags[k]:
                entry["service_station_opened_on"] = f"2025-{1 + j % 9:02}-01"
            if connected_flags[k]:
                entry |= {"monitoring_connected_on": f"2025-{1 + j % 9:02}-10", "devices": 8}
            roster.append(entry)
            planned.append((code, entry["name"], station_flags[k], connected_flags[k]))
            k += 1
        last = await post("/compounds/batch", {"compounds": roster})
    # chosen from the plan, not from the compounds' current state: a second load replays the same
    listed = await api.all_complete(G + "/compounds", len(planned), token=last["consistency_token"])
    ids = {(c["township_id"], c["name"]): c["id"] for c in listed}
    with_station = next({"id": ids[(t, n)]} for t, n, station, _ in planned if station)
    connected = [{"id": ids[(t, n)]} for t, n, _, linked in planned if linked]
    await post(f"/compounds/{with_station['id']}/service-station/closing",
               {"reason": "场地收回", "effective_on": "2025-11-01"})
    await post(f"/compounds/{connected[0]['id']}/monitoring/disconnection",
               {"reason": "设备更换", "effective_on": "2025-12-01"})

    # --- property alerts on connected compounds ---------------------------------------------
    alert_plans = []
    for i in range(12):
        compound = connected[1 + i]
        raised = datetime(2025, 3 + i % 9, 5 + i, 6, 0, tzinfo=UTC)
        level = ("critical", "major", "minor")[i % 3]
        ack_limit = {"critical": 5, "major": 15, "minor": 60}[level]
        plan = {"raised": raised, "ack": ack_limit + (3 if i % 4 == 0 else -2),
                "resolve": {"critical": 50, "major": 200, "minor": 1500}[level],
                "resolve_limit": {"critical": 60, "major": 240, "minor": 1440}[level],
                "ack_limit": ack_limit, "false": i % 5 == 0}
        alert = await post("/alerts", {"compound_id": compound["id"], "type": "smoke",
                                            "level": level, "at": raised.isoformat()})
        base = f"/alerts/{alert['id']}"
        await post(f"{base}/acknowledgement",
                   {"at": (raised + timedelta(minutes=plan["ack"])).isoformat()})
        if plan["false"]:
            await post(f"{base}/false-alarm", {"at": (raised + timedelta(
                minutes=plan["ack"] + 1)).isoformat()})
        else:
            await post(f"{base}/dispatch", {"assignee_kind": "property_company",
                                                 "assignee": "物业", "at": (raised + timedelta(
                                                     minutes=plan["ack"] + 1)).isoformat()})
            await post(f"{base}/resolution", {"at": (raised + timedelta(
                minutes=plan["resolve"])).isoformat()})
        alert_plans.append(plan)

    # --- rectification: 12 cases, 30 problems, 44 measures, 40 done, 26 solved ---------------
    case_plans = []
    village_pool = [v for code, _ in TOWNSHIPS for v in villages[code][:2]][:12]
    for n, village in enumerate(village_pool):
        code = village[:9]
        solved, sizes = n < 9, case_sizes[n]
        case = await post("/rectification-cases", {
            "village_id": village, "year": 2025, "effective_on": "2025-03-01",
            "categories": ["weak_organisation", "lax_management"]})
        cid = case["id"]
        await post(f"/rectification-cases/{cid}/plan", {"effective_on": "2025-03-20", "problems": [
            {"category": ("weak_organisation", "lax_management")[p % 2], "description": f"问题{p}",
             "measures": [{"action": f"措施{m}", "owner": "镇党委书记", "due_on": "2025-09-30"}
                          for m in range(size)]} for p, size in enumerate(sizes)]})
        measure = 0
        for p, size in enumerate(sizes, start=1):
            for _ in range(size):
                measure += 1
                if solved:
                    await post(f"/rectification-cases/{cid}/measures/M{measure}/completion",
                               {"effective_on": "2025-08-15"})
            if solved:
                await post(f"/rectification-cases/{cid}/problems/P{p}/resolution",
                           {"effective_on": "2025-08-20"})
        if solved:
            await post(f"/rectification-cases/{cid}/reviews", {
                "passed": True, "score": 80 + n, "effective_on": "2025-10-15",
                "votes": {"satisfied": 12, "basically_satisfied": 2, "dissatisfied": 1}})
            if n < 8:
                await post(f"/rectification-cases/{cid}/sign-off",
                           {"effective_on": "2025-11-20"})
        case_plans.append({"sizes": sizes, "solved": solved})
    problems = sum(len(c["sizes"]) for c in case_plans)
    measures = sum(sum(c["sizes"]) for c in case_plans)
    done = sum(sum(c["sizes"]) for c in case_plans if c["solved"])
    solved_problems = sum(len(c["sizes"]) for c in case_plans if c["solved"])
    if (problems, measures, done, solved_problems) != (30, 44, 40, 26):
        raise AssertionError("the rectification plan no longer gives the article's figures")

    # --- reserve: 1352 candidates (417 leader candidates) found by the survey ----------------
    people = []
    for (code, _), n, leaders in zip(TOWNSHIPS, CANDIDATES_PER_TOWNSHIP, LEADERS_PER_TOWNSHIP,
                                     strict=True):
        roster = [{"village_id": villages[code][j % len(villages[code])], "name": person_name(RNG),
                   "source": ("wealth_creator", "returning_graduate", "veteran", "migrant_returnee",
                              "party_member_backbone")[j % 5],
                   "leader_candidate": j < leaders, "party_member": j % 3 != 0,
                   "effective_on": "2025-04-01", "surveyed_on": "2025-04-20",
                   "survey_items": ["谈思想", "谈经历", "看品行", "看能力"]} for j in range(n)]
        last = await post("/reserve-candidates/batch", {"candidates": roster})
        people += roster
    leaders_listed = await api.all_complete(
        G + "/reserve-candidates", LEADERS_PER_TOWNSHIP[1], token=last["consistency_token"],
        township_id=TOWNSHIPS[1][0], leader_candidate="true")
    pipeline = leaders_listed[:16]
    code = TOWNSHIPS[1][0]
    qualified_villages = set()
    for j, cand in enumerate(pipeline):
        base = f"/reserve-candidates/{cand['id']}"
        await post(f"{base}/talk", {"willing": j != 15, "effective_on": "2025-05-10"})
        if j == 15:
            await post(f"{base}/exit", {"reason": "本人不愿意", "effective_on": "2025-05-11"})
            continue
        if j >= 12:
            continue
        await post(f"{base}/trial", {"post": ("deputy_secretary", "director_assistant")[j % 2],
                                          "planned_end_on": "2025-11-30",
                                          "effective_on": "2025-06-01"})
        if j >= 10:
            continue
        await post(f"{base}/trial-evaluation", {"evaluation": "competent",
                                                     "effective_on": "2025-11-30"})
        await post(f"{base}/qualification", {"effective_on": "2025-12-10"})
        qualified_villages.add(cand["village_id"])

    # --- complaints: two a month, each through its course ------------------------------------
    complaint_plans = []
    for month in range(1, 13):
        for half in (0, 1):
            code = TOWNSHIPS[(month + half) % 8][0]
            day = date(2025, month, 5 + 14 * half)
            plan = {"township": code, "sign_late": RNG.random() < 0.2,
                    "contact_late": RNG.random() < 0.2, "result_late": RNG.random() < 0.2,
                    "rating": RNG.choice(["satisfied", "basically_satisfied", "dissatisfied"]),
                    "resolved": RNG.random() < 0.8, "not_accepted": month == 6 and half == 1}
            cid = (await post("/complaints", {
                "channel": "hotline", "category": "complaint", "community_id": f"{code}C1",
                "description": "诉求", "contact_phone": f"1391234{month:02}{half:02}",
                "at": local(day)}))["id"]
            base = f"/complaints/{cid}"
            if plan["not_accepted"]:
                await post(f"{base}/close", {"outcome": "not_accepted", "at": local(day, 10)})
                complaint_plans.append(plan)
                continue
            await post(f"{base}/dispatch", {"handling_unit": {"kind": "township", "id": code,
                                                                   "name": code},
                                                 "at": local(day, 10)})
            await post(f"{base}/sign-for", {"at": local(day, 16 if plan["sign_late"] else 11)})
            contact_day = day + timedelta(days=2 if plan["contact_late"] else 0)
            await post(f"{base}/first-contact", {"at": local(contact_day, 17)})
            result_day = day + timedelta(days=9 if plan["result_late"] else 4)
            await post(f"{base}/result", {"result": "已办理", "at": local(result_day)})
            await post(f"{base}/follow-up", {"resolved": plan["resolved"],
                                                  "satisfaction": plan["rating"],
                                                  "at": local(result_day, 15)})
            await post(f"{base}/close", {"at": local(result_day, 16)})
            complaint_plans.append(plan)

    # --- responsibility list and village access lists ----------------------------------------
    for n in range(10):
        domain = ("生态环境", "安全生产", "市场监管", "自然资源")[n % 4]
        await post("/responsibility-list/items", {
            "code": f"SD-{n:03}", "matter": f"事项{n}", "domain": domain,
            "lead_department": "乡镇" if n == 9 else f"市{domain}局", "lead_duty": "监管执法",
            "township_duty": "发现报告、劝阻、协助", "legal_basis": "法律法规"})
    await post("/responsibility-list/versions", {"effective_on": "2025-03-01",
                                                      "document_number": "怀办发〔2025〕6号"})
    await post("/responsibility-list/items/SD-003/repeal", {"reason": "职责调整"})
    await post("/responsibility-list/versions", {"effective_on": "2025-09-01",
                                                      "document_number": "怀办发〔2025〕21号"})
    for kind, name in (("statutory_duty", "村民委员会选举"), ("assistance", "人口普查"),
                       ("negative", "招商引资任务"), ("certificate", "居住证明"),
                       ("signboard", "村务监督委员会")):
        last = await post("/village-access/entries", {"kind": kind, "name": name,
                                                           "basis": "厅字〔2022〕28号",
                                                           "effective_on": "2025-01-10"})
