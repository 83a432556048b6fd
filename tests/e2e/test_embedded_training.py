"""The training service through the gateway's HTTP API, embedded mode (SQLite, in-process).

Every command is exercised accepted and rejected; a rejected command answers problem+json
and appends nothing to the training store."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from tests.e2e.training_helpers import (
    CLASSES,
    PROBLEM,
    class_body,
    enrol,
    expected_cadre_id,
    post,
    recruit,
    register_unit,
    schedule,
    session_body,
    training_events,
)
from tests.support.embedded import bearer

pytestmark = pytest.mark.e2e


async def assert_rejected(client, path: str, body, status: int, *, code: str | None = None,
                   pointer: str | None = None, headers: dict | None = None) -> dict:
    """POST that must be refused with ``status`` as problem+json, appending nothing."""
    before = await training_events(client)
    response = await client.post(path, json=body, headers=headers or client.admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    if code:
        assert code in [e.get("code") for e in problem.get("errors", [])], problem
    if pointer:
        assert pointer in [e.get("pointer") for e in problem.get("errors", [])], problem
    assert "Traceback" not in response.text
    assert await training_events(client) == before
    return problem


async def get(client, path: str, token: str | None = None, **params):
    headers = {**client.admin, **({"X-Consistency-Token": token} if token else {})}
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    if token:
        assert response.headers["x-consistency"] == "fresh"
    return response.json()


async def cadres(client, count: int, unit_id: str | None = None) -> list[str]:
    unit_id = unit_id or await register_unit(client, administrative=count + 5)
    return [await recruit(client, unit_id, sequence=n, name=f"学员{n}",
                          birth=date(1985, 1, 1 + n)) for n in range(count)]


# -- classes ------------------------------------------------------------------------------------

async def test_schedule_a_class_and_read_it_back(platform):
    response = await post(platform, CLASSES, class_body(organizer="市委组织部", venue="市委党校"))
    accepted = response.json()
    assert set(accepted) == {"id", "version", "consistency_token"}
    assert response.headers["location"] == f"{CLASSES}/{accepted['id']}"
    assert response.headers["etag"] == '"1"'
    got = await platform.get(response.headers["location"], headers={
        **platform.admin, "X-Consistency-Token": accepted["consistency_token"]})
    assert got.status_code == 200 and got.headers["x-consistency"] == "fresh"
    view = got.json()
    assert (view["name"], view["kind"], view["mode"], view["status"]) == (
        "2024年中青年干部培训班", "young_cadre", "offline", "scheduled")
    assert view["off_the_job"] is True and view["planned_hours"] == 28
    assert view["venue"] == "市委党校" and got.headers["etag"] == '"1"'
    assert view["stats"]["completion_rate"] is None
    unchanged = await platform.get(response.headers["location"],
                                   headers={**platform.admin, "If-None-Match": '"1"'})
    assert unchanged.status_code == 304


@pytest.mark.parametrize("mutate, status, pointer", [
    (lambda b: b.update(ends_on="2024-04-01"), 422, "#/ends_on"),
    (lambda b: b.update(kind="evening_school"), 422, "#/kind"),
    (lambda b: b.update(mode="by_post"), 422, "#/mode"),
    (lambda b: b.update(capacity=0), 422, "#/capacity"),
    (lambda b: b.update(planned_hours=-3), 422, "#/planned_hours"),
    (lambda b: b.update(starts_on="2024-02-30"), 422, "#/starts_on"),
    (lambda b: b.pop("name"), 422, "#/name"),
    (lambda b: b.update(head_teacher="x"), 422, "#/head_teacher"),
])
async def test_bad_class_schedules_are_422_and_append_nothing(platform, mutate, status, pointer):
    body = class_body()
    mutate(body)
    await assert_rejected(platform, CLASSES, body, status, pointer=pointer)


async def test_open_complete_cancel_and_wrong_transitions(platform):
    first = await schedule(platform)
    url = f"{CLASSES}/{first['id']}"
    await assert_rejected(platform, f"{url}/completion", {}, 409, code="class_state")
    await assert_rejected(platform, f"{url}/opening", {"effective_on": "2024-05-01"}, 422,
                   code="date_range", pointer="#/effective_on")
    await assert_rejected(platform, f"{url}/opening", {}, 412, headers={**platform.admin,
                                                               "If-Match": '"7"'})
    opened = await post(platform, f"{url}/opening", {},
                        headers={**platform.admin, "If-Match": '"1"'})
    assert opened.json()["version"] == 2
    await assert_rejected(platform, f"{url}/opening", {}, 409)
    done = await post(platform, f"{url}/completion", {"effective_on": "2024-04-19"})
    view = await get(platform, url, done.json()["consistency_token"])
    assert (view["status"], view["opened_on"], view["completed_on"]) == (
        "completed", "2024-04-08", "2024-04-19")
    await assert_rejected(platform, f"{url}/cancellation", {"reason": "x"}, 409, code="class_state")

    second = await schedule(platform, name="2024年主体班", kind="main_body")
    await assert_rejected(platform, f"{CLASSES}/{second['id']}/cancellation", {}, 422, pointer="#/reason")
    cancelled = await post(platform, f"{CLASSES}/{second['id']}/cancellation",
                           {"reason": "与重点工作冲突，延期举办", "effective_on": "2024-03-01"})
    view = await get(platform, f"{CLASSES}/{second['id']}", cancelled.json()["consistency_token"])
    assert (view["status"], view["cancelled_on"], view["cancel_reason"]) == (
        "cancelled", "2024-03-01", "与重点工作冲突，延期举办")
    await assert_rejected(platform, f"{CLASSES}/{second['id']}/opening", {}, 409)
    await assert_rejected(platform, f"{CLASSES}/no-such-class/opening", {}, 404)


# -- sessions -----------------------------------------------------------------------------------

async def test_sessions_with_the_1_plus_1_pairing_and_invited_lecturers(platform):
    cls = await schedule(platform)
    url = f"{CLASSES}/{cls['id']}/sessions"
    first = await post(platform, url, session_body())
    assert first.headers["location"] == f"{url}/1"
    invited = await post(platform, url, session_body(
        topic="全面从严治党", effective_on="2024-04-10", lecturer="张教授", invited=True,
        affiliation="中共山西省委党校"), headers={**platform.admin, "Idempotency-Key": "s2"})
    assert invited.headers["location"] == f"{url}/2"
    replay = await post(platform, url, session_body(
        topic="全面从严治党", effective_on="2024-04-10", lecturer="张教授", invited=True,
        affiliation="中共山西省委党校"), headers={**platform.admin, "Idempotency-Key": "s2"})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == f"{url}/2"
    session = await get(platform, f"{url}/2", invited.json()["consistency_token"])
    assert session["lecturer"] == {"name": "张教授", "title": None,
                                   "affiliation": "中共山西省委党校", "invited": True}
    assert session["tutor"]["name"] == "刘晓梅" and session["hours"] == 4

    await assert_rejected(platform, url, session_body(tutor="王建国"), 422, code="one_plus_one",
                   pointer="#/tutor/name")
    await assert_rejected(platform, url, session_body(invited=True), 422, code="affiliation_required")
    await assert_rejected(platform, url, session_body(effective_on="2024-04-20"), 422,
                   code="date_range", pointer="#/effective_on")
    await assert_rejected(platform, url, session_body(hours=21), 422, code="hours_exceed_plan")
    await assert_rejected(platform, url, session_body(hours=0), 422, pointer="#/hours")
    await assert_rejected(platform, url, {**session_body(), "tutor": None}, 422, pointer="#/tutor")
    missing = await platform.get(f"{url}/9", headers=platform.admin)
    assert missing.status_code == 404


# -- enrolment ---------------------------------------------------------------------------------

async def test_enrolling_a_cadre_training_does_not_know_yet_is_a_retryable_409(platform):
    """The lag contract: refused with a clear, retryable problem; the same request (same
    Idempotency-Key) succeeds once training has received the recruitment."""
    cls = await schedule(platform)
    birth, sequence = date(1991, 2, 3), 77
    cadre_id = expected_cadre_id(platform.settings, birth, "female", sequence)
    headers = {**platform.admin, "Idempotency-Key": f"enrol-{cadre_id}"}
    url = f"{CLASSES}/{cls['id']}/enrolments"
    problem = await assert_rejected(platform, url, {"cadre_id": cadre_id}, 409,
                             code="cadre_not_yet_known", pointer="#/cadre_id", headers=headers)
    assert problem["type"].endswith("/cadre-not-yet-known")
    assert "not (yet) known" in problem["detail"] and "retry" in problem["detail"]

    unit = await register_unit(platform)
    assert await recruit(platform, unit, sequence, birth=birth) == cadre_id
    for _ in range(300):
        retry = await platform.post(url, json={"cadre_id": cadre_id}, headers=headers)
        if retry.status_code != 409:
            break
    assert retry.status_code == 201, retry.text
    # names come from the personnel read model, fed apart from training's own cadre view:
    # wait until it has the recruitment too
    for _ in range(500):
        if (await platform.get(f"/api/v1/cadres/{cadre_id}", headers=platform.admin)).status_code == 200:
            break
        await asyncio.sleep(0.01)
    trainees = await get(platform, f"{CLASSES}/{cls['id']}/trainees",
                         retry.json()["consistency_token"])
    assert [(t["cadre_id"], t["name"], t["status"]) for t in trainees["items"]] == [
        (cadre_id, "李娜", "active")]


async def test_capacity_duplicates_and_unknown_class(platform):
    a, b, c = await cadres(platform, 3)
    cls = await schedule(platform, capacity=2)
    url = f"{CLASSES}/{cls['id']}/enrolments"
    await enrol(platform, cls["id"], a)
    second = await enrol(platform, cls["id"], b, source="elective", effective_on="2024-03-20")
    await assert_rejected(platform, url, {"cadre_id": c}, 422, code="capacity_full")
    await assert_rejected(platform, url, {"cadre_id": a}, 409, code="already_enrolled")
    await assert_rejected(platform, url, {"cadre_id": a, "source": "volunteered"}, 422, pointer="#/source")
    await assert_rejected(platform, f"{CLASSES}/nope/enrolments", {"cadre_id": a}, 404)
    view = await get(platform, f"{CLASSES}/{cls['id']}", second.json()["consistency_token"])
    assert view["enrolled"] == 2 and view["stats"]["active"] == 2


async def test_one_cadre_cannot_be_in_two_overlapping_off_the_job_classes(platform):
    [cadre] = await cadres(platform, 1)
    young = await schedule(platform)
    advanced = await schedule(platform, name="2024年进修班", kind="advanced",
                              starts_on="2024-04-15", ends_on="2024-04-26")
    online = await schedule(platform, name="网络专题班", kind="thematic", mode="online",
                            starts_on="2024-04-01", ends_on="2024-04-30")
    later = await schedule(platform, name="2024年主体班", kind="main_body",
                           starts_on="2024-04-20", ends_on="2024-04-30")
    await enrol(platform, young["id"], cadre)
    problem = await assert_rejected(platform, f"{CLASSES}/{advanced['id']}/enrolments",
                             {"cadre_id": cadre}, 422, code="overlapping_class")
    assert "2024年中青年干部培训班" in problem["detail"]
    await enrol(platform, online["id"], cadre)  # online is not off the job
    await enrol(platform, later["id"], cadre)  # starts after the first one ends
    # cancelling the first class frees its dates
    await post(platform, f"{CLASSES}/{young['id']}/cancellation", {"reason": "调整计划"})
    await assert_rejected(platform, f"{CLASSES}/{advanced['id']}/enrolments", {"cadre_id": cadre}, 422,
                   code="overlapping_class")  # still overlaps the main-body class
    await post(platform, f"{CLASSES}/{later['id']}/cancellation", {"reason": "调整计划"})
    await enrol(platform, advanced["id"], cadre)


async def test_concurrent_enrolments_cannot_beat_capacity_or_the_overlap_rule(platform):
    people = await cadres(platform, 7)
    for cadre in people:  # wait until training knows them all
        probe = await schedule(platform, name=f"探测{cadre[:4]}", mode="online", capacity=1)
        await enrol(platform, probe["id"], cadre)
    small = await schedule(platform, capacity=3)
    answers = await asyncio.gather(*[platform.post(
        f"{CLASSES}/{small['id']}/enrolments", json={"cadre_id": c}, headers=platform.admin)
        for c in people[:6]])
    assert sorted(r.status_code for r in answers) == [201] * 3 + [422] * 3
    first = await schedule(platform, name="甲班", capacity=5)
    second = await schedule(platform, name="乙班", kind="advanced", capacity=5,
                            starts_on="2024-04-15", ends_on="2024-04-20")
    answers = await asyncio.gather(*[platform.post(
        f"{CLASSES}/{cls['id']}/enrolments", json={"cadre_id": people[6]}, headers=platform.admin)
        for cls in (first, second)])
    assert sorted(r.status_code for r in answers) == [201, 422]
    assert "overlapping_class" in next(r.text for r in answers if r.status_code == 422)


# -- attendance and completion -------------------------------------------------------------------

async def test_attendance_leave_withdrawal_and_completion_credit(platform):
    a, b, c = await cadres(platform, 3)
    cls = await schedule(platform, planned_hours=28)
    url = f"{CLASSES}/{cls['id']}"
    for n, hours in enumerate((4, 1, 4)):
        await post(platform, f"{url}/sessions", session_body(
            topic=f"第{n + 1}讲", effective_on=f"2024-04-{9 + n:02d}", hours=hours))
    for cadre in (a, b):
        await enrol(platform, cls["id"], cadre)
    roll = f"{url}/sessions/1/attendance"
    await assert_rejected(platform, roll, {"entries": [{"cadre_id": a, "status": "present"}]}, 409,
                   code="class_state")
    await post(platform, f"{url}/opening", {})
    await assert_rejected(platform, roll, {"entries": [{"cadre_id": c, "status": "present"}]}, 422,
                   code="not_enrolled", pointer="#/entries/0/cadre_id")
    await assert_rejected(platform, roll, {"entries": [{"cadre_id": a, "status": "asleep"}]}, 422,
                   pointer="#/entries/0/status")
    await assert_rejected(platform, roll, {"entries": []}, 422, pointer="#/entries")
    await assert_rejected(platform, roll, {"entries": [{"cadre_id": a, "status": "present"}] * 2}, 422,
                   code="duplicate_entry")
    await assert_rejected(platform, f"{url}/sessions/9/attendance",
                   {"entries": [{"cadre_id": a, "status": "present"}]}, 404)

    await post(platform, roll, {"entries": [{"cadre_id": a, "status": "leave"},
                                            {"cadre_id": b, "status": "present"}]})
    second = await post(platform, f"{url}/sessions/2/attendance", {"entries": [
        {"cadre_id": a, "status": "leave"}, {"cadre_id": b, "status": "late"}]})
    trainees = await get(platform, f"{url}/trainees", second.json()["consistency_token"])
    assert {t["cadre_id"]: (t["status"], t["leave_hours"]) for t in trainees["items"]} == {
        a: ("withdrawn", 5), b: ("active", 0)}  # 5 hours of leave > 28 / 7
    await assert_rejected(platform, f"{url}/sessions/3/attendance",
                   {"entries": [{"cadre_id": a, "status": "present"}]}, 422,
                   code="trainee_withdrawn")
    await post(platform, f"{url}/sessions/3/attendance",
               {"entries": [{"cadre_id": b, "status": "left_early"}]})
    done = await post(platform, f"{url}/completion", {})
    view = await get(platform, url, done.json()["consistency_token"])
    stats = view["stats"]
    assert (stats["enrolled"], stats["withdrawn"], stats["completed"]) == (2, 1, 1)
    assert stats["attendance"] == {"present": 1, "late": 1, "left_early": 1, "absent": 0,
                                   "leave": 2, "recorded": 5}
    assert stats["attendance_rate"] == 0.6 and stats["leave_rate"] == 0.4
    assert stats["completion_rate"] == 0.5
    assert [s["attendance_rate"] for s in view["session_list"]] == [0.5, 0.5, 1.0]

    hours = await get(platform, f"/api/v1/training/cadres/{b}/credit-hours", year=2024)
    assert (hours["hours_in_year"], hours["required_hours"], hours["met"], hours["shortfall"]) == (
        28, 90, False, 62)
    assert hours["name"] == "学员1" and hours["classes"][0]["kind"] == "young_cadre"
    withdrawn = await get(platform, f"/api/v1/training/cadres/{a}/credit-hours", year=2024)
    assert withdrawn["hours_in_year"] == 0


async def test_withdrawal_frees_the_dates_for_another_class(platform):
    [cadre] = await cadres(platform, 1)
    first = await schedule(platform, planned_hours=7)
    await post(platform, f"{CLASSES}/{first['id']}/sessions", session_body(hours=2))
    await enrol(platform, first["id"], cadre)
    await post(platform, f"{CLASSES}/{first['id']}/opening", {})
    await post(platform, f"{CLASSES}/{first['id']}/sessions/1/attendance",
               {"entries": [{"cadre_id": cadre, "status": "leave"}]})
    overlapping = await schedule(platform, name="2024年进修班", kind="advanced")
    enrolled = await enrol(platform, overlapping["id"], cadre)
    assert enrolled.status_code == 201


# -- credit hours ----------------------------------------------------------------------------------

async def test_credit_hours_against_section_and_county_requirements(platform):
    [cadre] = await cadres(platform, 1)
    completions = []
    for year, hours in ((2020, 100), (2022, 200), (2024, 96), (2025, 300)):
        cls = await schedule(platform, name=f"{year}年进修班", kind="advanced",
                             starts_on=f"{year}-05-06", ends_on=f"{year}-05-24",
                             planned_hours=hours)
        await enrol(platform, cls["id"], cadre)
        await post(platform, f"{CLASSES}/{cls['id']}/opening", {})
        completions.append(await post(platform, f"{CLASSES}/{cls['id']}/completion", {}))
    token = completions[-1].json()["consistency_token"]
    url = f"/api/v1/training/cadres/{cadre}/credit-hours"
    section = await get(platform, url, token, year=2024)
    assert (section["level"], section["hours_in_year"], section["met"]) == ("section", 96, True)
    county = await get(platform, url, year=2024, level="county")
    assert (county["period_from"], county["period_to"]) == ("2020-01-01", "2024-12-31")
    assert (county["hours_in_period"], county["required_hours"], county["met"]) == (396, 550, False)
    assert county["shortfall"] == 154 and county["hours_in_year"] == 96
    later = await get(platform, url, year=2025, level="county")
    assert (later["hours_in_period"], later["met"]) == (596, True)  # 2021..2025
    bad = await platform.get(url, params={"year": 2024, "level": "provincial"},
                             headers=platform.admin)
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert (await platform.get(url, headers=platform.admin)).status_code == 422  # no year
    nobody = await platform.get("/api/v1/training/cadres/nobody/credit-hours",
                                params={"year": 2024}, headers=platform.admin)
    assert nobody.status_code == 404


# -- mass events and campaigns ----------------------------------------------------------------------

async def test_mass_events_head_counts_and_revision(platform):
    url = "/api/v1/training/mass-events"
    art = await post(platform, url, {"title": "“七一”文艺党课", "kind": "art_party_lecture",
                                     "head_count": 780, "effective_on": "2024-06-28"})
    assert art.headers["location"] == f"{url}/{art.json()['id']}"
    await post(platform, url, {"title": "警示教育片观影", "kind": "screening", "mode": "online",
                               "head_count": 300, "effective_on": "2024-09-10"})
    await assert_rejected(platform, url, {"title": "x", "kind": "other", "head_count": 0,
                                   "effective_on": "2024-06-28"}, 422, pointer="#/head_count")
    await assert_rejected(platform, url, {"title": "x", "kind": "other", "head_count": 5,
                                   "effective_on": "2999-06-28"}, 422, code="future_date")
    revisions = f"{url}/{art.json()['id']}/head-count-revisions"
    await assert_rejected(platform, revisions, {"head_count": 780, "reason": "核对"}, 422, code="unchanged")
    await assert_rejected(platform, f"{url}/nope/head-count-revisions", {"head_count": 1, "reason": "x"},
                   404)
    revised = await post(platform, revisions, {"head_count": 790, "reason": "补录"})
    view = await get(platform, f"{url}/{art.json()['id']}", revised.json()["consistency_token"])
    assert (view["head_count"], view["revisions"]) == (790, 1)
    back = await post(platform, revisions, {"head_count": 780, "reason": "复核后更正"},
                      headers={**platform.admin, "If-Match": '"2"'})
    report = await get(platform, url, back.json()["consistency_token"],
                       **{"from": "2024-01-01", "to": "2024-12-31"})
    assert (report["count"], report["total_head_count"]) == (2, 1080)
    assert report["by_kind"] == {"art_party_lecture": 780, "screening": 300}
    summer = await get(platform, url, **{"from": "2024-06-01", "to": "2024-06-30",
                                         "kind": "art_party_lecture"})
    assert [i["head_count"] for i in summer["items"]] == [780]
    paged = await get(platform, url, limit=1)
    assert len(paged["items"]) == 1 and paged["next_cursor"] and paged["total_head_count"] == 1080
    rest = await get(platform, url, limit=1, cursor=paged["next_cursor"])
    assert rest["items"][0]["id"] != paged["items"][0]["id"] and rest["next_cursor"] is None


async def test_study_campaign_progress_chapter_by_chapter(platform):
    url = "/api/v1/training/campaigns"
    launched = await post(platform, url, {
        "title": "党纪学习教育", "subject": "《中国共产党纪律处分条例》",
        "chapters": ["第一编 总则", "第二编 分则", "附则"], "effective_on": "2024-04-15"})
    campaign = f"{url}/{launched.json()['id']}"
    await assert_rejected(platform, url, {"title": "x", "subject": "y", "chapters": [],
                                   "effective_on": "2024-04-15"}, 422, pointer="#/chapters")
    await assert_rejected(platform, f"{campaign}/chapters", {"chapter": 2, "participants": 90,
                                                      "effective_on": "2024-04-20"},
                   422, code="chapter_order")
    first = await post(platform, f"{campaign}/chapters",
                       {"chapter": 1, "participants": 120, "effective_on": "2024-04-20"})
    view = await get(platform, campaign, first.json()["consistency_token"])
    assert (view["chapters_done"], view["progress"], view["status"]) == (1, 0.3333, "running")
    await assert_rejected(platform, f"{campaign}/chapters", {"chapter": 1, "participants": 90,
                                                      "effective_on": "2024-04-21"}, 409)
    await post(platform, f"{campaign}/chapters",
               {"chapter": 2, "participants": 110, "effective_on": "2024-05-20"})
    last = await post(platform, f"{campaign}/chapters",
                      {"chapter": 3, "participants": 100, "effective_on": "2024-06-20"})
    view = await get(platform, campaign, last.json()["consistency_token"])
    assert (view["progress"], view["status"], view["completed_on"], view["participants"]) == (
        1.0, "completed", "2024-06-20", 330)
    assert [c["studied_on"] for c in view["chapters"]] == ["2024-04-20", "2024-05-20",
                                                           "2024-06-20"]
    listed = await get(platform, url, status="completed")
    assert [c["id"] for c in listed["items"]] == [launched.json()["id"]]
    await assert_rejected(platform, f"{url}/nope/chapters", {"chapter": 1, "participants": 1,
                                                      "effective_on": "2024-04-20"}, 404)


# -- access, listing, documentation ------------------------------------------------------------------

async def test_roles_training_officer_writes_viewer_reads(platform):
    officer = bearer(platform.settings, "training_officer")
    viewer = bearer(platform.settings, "viewer")
    personnel_officer = bearer(platform.settings, "personnel_officer")
    accepted = await post(platform, CLASSES, class_body(), headers=officer)
    await assert_rejected(platform, CLASSES, class_body(), 403, headers=viewer)
    await assert_rejected(platform, CLASSES, class_body(), 403, headers=personnel_officer)
    officer_units = await platform.post("/api/v1/personnel/units", json={"name": "x"},
                                        headers=officer)
    assert officer_units.status_code == 403
    seen = await platform.get(f"{CLASSES}/{accepted.json()['id']}", headers={
        **viewer, "X-Consistency-Token": accepted.json()["consistency_token"]})
    assert seen.status_code == 200
    assert (await platform.get(CLASSES, headers=personnel_officer)).status_code == 403
    assert (await platform.get("/api/v1/cadres", headers=officer)).status_code == 200  # to pick
    for method, path in (("GET", CLASSES), ("POST", CLASSES)):
        response = await platform.request(method, path, json=class_body())
        assert response.status_code == 401 and response.headers["content-type"] == PROBLEM


async def test_class_list_filters_and_pages(platform):
    kinds = ["young_cadre", "advanced", "main_body", "advanced", "thematic"]
    for n, kind in enumerate(kinds):
        last = await post(platform, CLASSES, class_body(
            name=f"班次{n}", kind=kind, starts_on=f"2024-0{n + 1}-10", ends_on=f"2024-0{n + 1}-12"))
    everything = await get(platform, CLASSES, last.json()["consistency_token"])
    assert [c["name"] for c in everything["items"]] == [f"班次{n}" for n in range(5)]
    seen, cursor = [], None
    while True:
        page = await get(platform, CLASSES, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [c["name"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [f"班次{n}" for n in range(5)]
    advanced = await get(platform, CLASSES, kind="advanced")
    assert [c["name"] for c in advanced["items"]] == ["班次1", "班次3"]
    spring = await get(platform, CLASSES, **{"from": "2024-02-01", "to": "2024-03-31"})
    assert [c["name"] for c in spring["items"]] == ["班次1", "班次2"]
    backwards = await platform.get(CLASSES, params={"from": "2024-05-01", "to": "2024-01-01"},
                                   headers=platform.admin)
    assert backwards.status_code == 422
    bad_cursor = await platform.get(CLASSES, params={"cursor": "%%%"}, headers=platform.admin)
    assert bad_cursor.status_code == 400


async def test_openapi_documents_the_training_api(platform):
    spec = (await platform.get("/openapi.json")).json()
    for path in (CLASSES, f"{CLASSES}/{{class_id}}", f"{CLASSES}/{{class_id}}/enrolments",
                 f"{CLASSES}/{{class_id}}/sessions/{{session_no}}/attendance",
                 "/api/v1/training/reports/classes-held", "/api/v1/training/reports/credit-hours",
                 "/api/v1/training/cadres/{cadre_id}/credit-hours", "/api/v1/training/mass-events",
                 "/api/v1/training/campaigns/{campaign_id}/chapters"):
        assert path in spec["paths"], path
    ready = await platform.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["consumers"]["ok"] is True
