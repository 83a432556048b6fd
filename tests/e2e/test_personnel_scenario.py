"""A year of cadre work (2025) in a county, driven through the gateway's HTTP API.

Twelve units and some 470 cadres: go-live registration of those in service, then the
year the article reports — 25 exam recruits, 112 institution hires, 11 transfers-in, 18 leaders
converted to ranks freeing 21 posts, 11 + 36 promoted to 四级主任科员 by graduate degree / years
of service, a reserve of 63 (24 正科 + 39 副科), 31 section-level leaders exchanged — with
appointments, departures, reviews and exits around them, some recorded late (backdated).

The test keeps its own model of every cadre as a dated event list and computes each figure
from it, independently of the platform, then checks every query against it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from tests.e2e.personnel_helpers import assert_rebuild_equals_live, command, query, settle
from tests.support.national_ids import national_id

pytestmark = pytest.mark.e2e

RNG_SEED = 2025
YEAR_START, YEAR_END = date(2025, 1, 1), date(2025, 12, 31)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌鹏辉"
RANK_ORDER = ["clerk_2", "clerk_1", "principal_staff_4", "principal_staff_3", "principal_staff_2",
              "principal_staff_1"]
LEVEL_ORDER = ["deputy_section_chief", "section_chief"]
BANDS = [("0-30", 0, 30), ("31-35", 31, 35), ("36-40", 36, 40), ("41-45", 41, 45),
         ("46-50", 46, 50), ("51-55", 51, 55), ("56+", 56, 200)]


def age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def years_between(since: date, on: date) -> int:
    return max(0, ((on.year - since.year) * 12 + on.month - since.month) // 12)


EDUCATION = ["secondary", "associate", "bachelor", "postgraduate"]


def highest_education(p: Person, kinds=("full_time", "in_service")) -> str:
    found = [e[3]["level"] for e in p.events if e[2] == "education" and e[3]["kind"] in kinds]
    return max(found, key=EDUCATION.index) if found else "unknown"


def band(a: int) -> str:
    return next(name for name, low, high in BANDS if low <= a <= high)


def retirement(p: Person) -> date:
    years = 60 if p.gender == "male" else 55
    try:
        return p.birth.replace(year=p.birth.year + years)
    except ValueError:
        return p.birth.replace(year=p.birth.year + years, day=28)


# -- the test's own model ----------------------------------------------------------------------
@dataclass
class Unit:
    key: str
    name: str
    kind: str
    admin: int = 0
    inst: int = 0
    posts: dict = field(default_factory=dict)
    id: str = ""


@dataclass
class Person:
    seq: int
    name: str
    gender: str
    birth: date
    category: str
    id: str = ""
    events: list = field(default_factory=list)  # (date, order, kind, data)
    tags: set = field(default_factory=set)

    def add(self, on: date, what: str, /, **data) -> None:
        self.events.append((on, len(self.events), what, data))


def state(p: Person, on: date | None = None) -> dict | None:
    """The cadre on ``on`` (default: after everything), replayed from the model's events."""
    s: dict | None = None
    degrees = []
    for day, _, kind, d in sorted(p.events, key=lambda e: (e[0], e[1])):
        if on is not None and day > on:
            continue
        if kind == "education":
            degrees.append((d["degree"], d["kind"]))
            continue
        if kind in ("recruited", "registered"):
            s = {"unit": d["unit"], "unit_since": day, "recruited_on": day,
                 "joined": d.get("joined", day), "rank": d.get("rank"),
                 "rank_since": d.get("rank_since", day if d.get("rank") else None),
                 "posts": [dict(x) for x in d.get("posts", [])], "status": "active",
                 "reserve": None, "channel": d.get("channel", "go_live")}
            continue
        if s is None:
            continue
        if kind == "promoted":
            s["rank"], s["rank_since"] = d["rank"], day
        elif kind == "appointed":
            s["posts"] = [] if not d.get("concurrent") else s["posts"]
            s["posts"].append({"level": d["level"], "title": d["title"], "since": day})
        elif kind == "converted":
            s["posts"] = []
            if d["rank"] != s["rank"]:
                s["rank"], s["rank_since"] = d["rank"], day
        elif kind == "exchanged":
            s["unit"], s["unit_since"] = d["to"], day
            s["posts"] = [{"level": d["level"], "title": d["title"], "since": day}] if d.get(
                "level") else []
        elif kind == "departed":
            s["status"], s["posts"] = "departed", []
        elif kind == "reserve_in":
            s["reserve"] = {"level": d["level"], "since": day}
        elif kind == "reserve_out":
            s["reserve"] = None
    if s is None:
        return None
    if on is not None:
        s["posts"] = [x for x in s["posts"] if x["since"] <= on]
        if s["rank_since"] and s["rank_since"] > on:
            s["rank"] = s["rank_since"] = None
    s["degrees"] = degrees
    return s


class County:
    """Issues commands through the gateway and mirrors each accepted one in the model."""

    def __init__(self, client) -> None:
        self.client = client
        self.units: dict[str, Unit] = {}
        self.people: list[Person] = []
        self.rng = random.Random(RNG_SEED)
        self.slots: Counter = Counter()   # (unit, category) → occupied
        self.filled: Counter = Counter()  # (unit, level) → posts filled

    def person(self, birth: date, gender: str, category: str) -> Person:
        name = self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))
        p = Person(len(self.people), name, gender, birth, category)
        self.people.append(p)
        return p

    def identity(self, p: Person) -> dict:
        region = f"1406{24 + p.seq // 500:02d}"
        return {"name": p.name, "gender": p.gender, "birth_date": p.birth.isoformat(),
                "national_id": national_id(p.birth, p.gender, p.seq % 500, region)}

    def active(self, on: date | None = None) -> list[tuple[Person, dict]]:
        return [(p, s) for p in self.people if (s := state(p, on)) and s["status"] == "active"]

    def vacant(self, unit: str, category: str) -> int:
        u = self.units[unit]
        return (u.admin if category == "civil_servant" else u.inst) - self.slots[(unit, category)]

    def post_vacant(self, unit: str, level: str) -> int:
        return self.units[unit].posts[level] - self.filled[(unit, level)]

    def _leave(self, p: Person) -> None:
        s = state(p)
        self.slots[(s["unit"], p.category)] -= 1
        for x in s["posts"]:
            self.filled[(s["unit"], x["level"])] -= 1

    # -- commands ---------------------------------------------------------------------------
    async def go_live(self, p: Person, unit: str, since: date, joined: date, rank: str | None,
                      rank_since: date | None, posts: list[tuple[str, str]] = ()) -> None:
        body = {**self.identity(p), "category": p.category, "unit_id": self.units[unit].id,
                "channel": "go_live", "effective_on": since.isoformat(),
                "joined_work_on": joined.isoformat(),
                "posts": [{"level": lv, "title": t, "since": since.isoformat()} for lv, t in posts]}
        if rank:
            body.update(rank=rank, rank_since=rank_since.isoformat())
        p.id = (await command(self.client, "/cadres", body))["id"]
        self.slots[(unit, p.category)] += 1
        self.filled.update((unit, lv) for lv, _ in posts)
        p.add(since, "registered", unit=unit, joined=joined, rank=rank, rank_since=rank_since,
              posts=[{"level": lv, "title": t, "since": since} for lv, t in posts])

    async def recruit(self, p: Person, units: list[str], channel: str, on: date, *,
                      rank: str | None = None, joined: date | None = None) -> None:
        unit = max(units, key=lambda u: self.vacant(u, p.category))
        assert self.vacant(unit, p.category) > 0
        self.slots[(unit, p.category)] += 1
        body = {**self.identity(p), "category": p.category, "unit_id": self.units[unit].id,
                "channel": channel, "effective_on": on.isoformat()}
        if rank:
            body["rank"] = rank
        if joined:
            body["joined_work_on"] = joined.isoformat()
        p.id = (await command(self.client, "/cadres", body))["id"]
        model_rank = rank or ("clerk_1" if p.category == "civil_servant" else None)
        p.add(on, "recruited", unit=unit, channel=channel, rank=model_rank, joined=joined or on)

    async def education(self, p: Person, level: str, degree: str, kind: str, done: date) -> None:
        await command(self.client, f"/cadres/{p.id}/education", {
            "kind": kind, "level": level, "degree": degree, "school": "山西大学",
            "completed_on": done.isoformat()})
        p.add(done, "education", degree=degree, kind=kind, level=level)

    async def promote(self, p: Person, rank: str, basis: str, on: date) -> None:
        await command(self.client, f"/cadres/{p.id}/rank-promotions", {
            "target_rank": rank, "basis": basis, "effective_on": on.isoformat()})
        p.add(on, "promoted", rank=rank, basis=basis)

    async def appoint(self, p: Person, level: str, title: str, on: date) -> None:
        await command(self.client, f"/cadres/{p.id}/appointments", {
            "level": level, "title": title, "effective_on": on.isoformat()})
        self.filled[(state(p)["unit"], level)] += 1
        p.add(on, "appointed", level=level, title=title)

    async def convert(self, p: Person, rank: str, reason: str, on: date) -> int:
        s = state(p)
        freed = len(s["posts"])
        for x in s["posts"]:
            self.filled[(s["unit"], x["level"])] -= 1
        await command(self.client, f"/cadres/{p.id}/post-to-rank-conversions", {
            "target_rank": rank, "reason": reason, "effective_on": on.isoformat()})
        p.add(on, "converted", rank=rank, reason=reason, freed=freed)
        return freed

    async def exchange(self, p: Person, to: str, kind: str, on: date,
                       post: tuple[str, str] | None) -> None:
        body = {"to_unit_id": self.units[to].id, "kind": kind, "effective_on": on.isoformat()}
        if post:
            body["post"] = {"level": post[0], "title": post[1]}
        await command(self.client, f"/cadres/{p.id}/exchanges", body)
        self._leave(p)
        self.slots[(to, p.category)] += 1
        if post:
            self.filled[(to, post[0])] += 1
        p.add(on, "exchanged", to=to, kind=kind, level=post[0] if post else None,
              title=post[1] if post else None, freed=len(state(p)["posts"]))

    async def depart(self, p: Person, kind: str, on: date) -> None:
        had_reserve = state(p)["reserve"]
        await command(self.client, f"/cadres/{p.id}/departures", {
            "kind": kind, "effective_on": on.isoformat()})
        self._leave(p)
        p.add(on, "departed", kind=kind, freed=len(state(p)["posts"]))
        if had_reserve:
            p.add(on, "reserve_out", reason="left", level=had_reserve["level"])

    async def enter_reserve(self, p: Person, level: str, on: date) -> None:
        entry = await command(self.client, "/reserve-entries", {
            "cadre_id": p.id, "level": level, "effective_on": on.isoformat(),
            "source": "democratic_recommendation"})
        p.tags.add(f"entry:{entry['id']}")
        p.add(on, "reserve_in", level=level, entry=entry["id"])

    def entry_of(self, p: Person) -> str:
        return max((t for t in p.tags if t.startswith("entry:")), key=lambda t: int(t.rsplit(".", 1)[1]))[6:]

    async def review(self, p: Person, rating: str, on: date) -> None:
        await command(self.client, f"/reserve-entries/{self.entry_of(p)}/reviews", {
            "rating": rating, "effective_on": on.isoformat()})
        p.add(on, "reviewed", rating=rating)

    async def exit_reserve(self, p: Person, reason: str, on: date) -> None:
        level = state(p)["reserve"]["level"]
        await command(self.client, f"/reserve-entries/{self.entry_of(p)}/exits", {
            "reason": reason, "effective_on": on.isoformat()})
        p.add(on, "reserve_out", reason=reason, level=level)


def day_in(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


# -- the county at go-live -----------------------------------------------------------------------
UNITS = [  # key, name, kind, section chiefs, deputy posts held (a tuple = one person, two posts)
    ("org", "市委组织部", "party_government_organ", 2, [1, 1, 1]),
    ("pub", "市委宣传部", "party_government_organ", 2, [1, 1]),
    ("dev", "市发改局", "party_government_organ", 2, [1, 1, 1]),
    ("fin", "市财政局", "party_government_organ", 2, [1, 1, 1]),
    ("edu", "市教育局", "party_government_organ", 2, [1, 1, 1]),
    ("hea", "市卫健局", "party_government_organ", 2, [1, 1]),
    ("med", "市融媒体中心", "institution", 1, [1, 1]),
    ("hos", "市人民医院", "institution", 2, [1, 1, 1]),
    ("yz", "云中镇", "township", 3, [2, 1, 1, 1, 1]),
    ("jst", "金沙滩镇", "township", 3, [2, 1, 1, 1, 1]),
    ("mjz", "毛家皂镇", "township", 3, [2, 1, 1, 1, 1]),
    ("ht", "河头乡", "township", 3, [1, 1, 1, 1, 1]),
]
DEPUTY_TITLES = ["副部长", "副局长", "党组成员", "副镇长", "武装部长", "纪委书记", "人大副主席",
                 "组织委员", "宣传委员", "副主任"]
CIVIL_UNITS = ["org", "pub", "dev", "fin", "edu", "hea", "yz", "jst", "mjz", "ht"]
INST_WEIGHTS = {"org": 2, "pub": 2, "dev": 3, "fin": 3, "edu": 14, "hea": 10, "med": 16, "hos": 24,
                "yz": 8, "jst": 8, "mjz": 8, "ht": 8}


async def build_county(c: County) -> None:
    rng = c.rng
    for key, name, kind, *_ in UNITS:
        c.units[key] = Unit(key, name, kind)
    plan: list[tuple] = []  # (person, unit, since, joined, rank, rank_since, posts)

    def civil(unit, born, joined, rank, rank_since, posts=(), since=None, gender=None, tag=None):
        p = c.person(born, gender or rng.choice(("male", "female")), "civil_servant")
        if tag:
            p.tags.add(tag)
        plan.append((p, unit, since or joined, joined, rank, rank_since, list(posts)))
        return p

    # leaders: section chiefs and deputies (institutions' deputies are institution staff)
    for key, _, kind, chiefs, deputies in UNITS:
        for i in range(chiefs):
            born = date(rng.randint(1966, 1978), rng.randint(1, 12), rng.randint(1, 28))
            joined = date(born.year + 22, 7, 1)
            civil(key, born, joined, rng.choice(["principal_staff_2", "principal_staff_1"]),
                  date(rng.randint(2016, 2021), rng.randint(1, 12), 1),
                  [("section_chief", ["党委书记", "局长", "镇长", "部长", "主任"][i % 5] + str(i))],
                  since=date(rng.randint(2012, 2019), 3, 1), tag="leader")
        for j, posts_held in enumerate(deputies):
            titles = [("deputy_section_chief", DEPUTY_TITLES[(j + k) % len(DEPUTY_TITLES)] + str(j))
                      for k in range(posts_held)]
            born = date(rng.randint(1972, 1990), rng.randint(1, 12), rng.randint(1, 28))
            joined = date(born.year + 23, 8, 1)
            since = date(rng.randint(max(2012, joined.year + 1), 2020), 6, 1)
            if kind == "institution":
                p = c.person(born, rng.choice(("male", "female")), "institution_staff")
                plan.append((p, key, since, joined, None, None, titles))
                continue
            civil(key, born, joined, rng.choice(["principal_staff_4", "principal_staff_3"]),
                  date(rng.randint(2019, 2022), 1, 1), titles, since=since,
                  tag="leader" if posts_held == 1 else "double")
    # civil servants without posts, by cohort
    for i in range(46):   # mid clerks: candidates for promotion by years of service
        joined = date(rng.randint(2016, 2020), rng.choice((4, 7, 9)), 1)
        if joined > date(2020, 4, 1):
            joined = date(2019, 7, 1)
        civil(CIVIL_UNITS[i % 10], date(joined.year - rng.randint(22, 25), rng.randint(1, 12),
                                        rng.randint(1, 28)),
              joined, "clerk_1", date(joined.year + 1, joined.month, 1), tag="mid")
    for i in range(14):   # graduates of 2024 (11 of them with a master's degree)
        civil(CIVIL_UNITS[i % 10], date(1999, rng.randint(1, 12), rng.randint(1, 28)),
              date(2024, 8, 1), "clerk_1", date(2024, 8, 1), tag="grad")
    for i in range(30):   # 四级主任科员
        born = date(rng.randint(1982, 1990), rng.randint(1, 12), rng.randint(1, 28))
        civil(CIVIL_UNITS[i % 10], born, date(born.year + 24, 7, 1), "principal_staff_4",
              date(rng.randint(2019, 2023), rng.randint(1, 12), 1), tag="p4")
    for i in range(24):   # seniors, some of them reaching retirement in 2025
        gender = "male" if i % 3 else "female"
        born = date(rng.randint(1966, 1976) if gender == "male" else rng.randint(1971, 1980),
                    rng.randint(1, 12), rng.randint(1, 28))
        civil(CIVIL_UNITS[i % 10], born, date(born.year + 22, 7, 1),
              rng.choice(["principal_staff_3", "principal_staff_2"]),
              date(rng.randint(2014, 2020), 1, 1), gender=gender, tag="senior")
    for i, gender in enumerate(["male", "female", "male", "female", "male", "male"]):
        born = date(1965, 3 + i, 10) if gender == "male" else date(1970, 3 + i, 12)
        civil(CIVIL_UNITS[(i * 3) % 10], born, date(born.year + 21, 7, 1), "principal_staff_2",
              date(2017, 1, 1), gender=gender, tag="retiree")
    for i in range(24):   # young clerks: the deputy reserve and the leavers
        joined = date(rng.randint(2021, 2023), 8, 1)
        civil(CIVIL_UNITS[i % 10], date(rng.randint(1996, 1999), rng.randint(1, 12),
                                        rng.randint(1, 28)), joined, "clerk_1", joined, tag="young")
    # institution staff
    units_by_weight = [k for k, w in INST_WEIGHTS.items() for _ in range(w)]
    for i in range(110):
        born = date(rng.randint(1968, 2000), rng.randint(1, 12), rng.randint(1, 28))
        joined = date(max(born.year + 21, 1990), 9, 1)
        p = c.person(born, rng.choice(("male", "female")), "institution_staff")
        plan.append((p, units_by_weight[i % len(units_by_weight)],
                     max(joined, date(2005, 9, 1)), joined, None, None, []))

    # establishment and approvals: what go-live needs plus room for the year
    need_admin, need_inst, need_posts = Counter(), Counter(), Counter()
    for p, unit, *_, posts in plan:
        (need_admin if p.category == "civil_servant" else need_inst)[unit] += 1
        need_posts.update((unit, level) for level, _ in posts)
    for key, u in c.units.items():
        u.admin = need_admin[key] + (8 if u.kind != "institution" else 2)
        u.inst = need_inst[key] + INST_WEIGHTS[key] + (3 if u.kind == "township" else 2)
        u.posts = {"section_chief": need_posts[(key, "section_chief")],
                   "deputy_section_chief": need_posts[(key, "deputy_section_chief")] + 1}
        u.id = (await command(c.client, "/units", {
            "name": u.name, "kind": u.kind,
            "establishment": {"administrative": u.admin, "institution": u.inst}}))["id"]
        await command(c.client, f"/units/{u.id}/leadership-posts", {
            "approved": u.posts, "effective_on": "2010-01-01", "document_number": "怀编〔2010〕1号"})
        await command(c.client, f"/units/{u.id}/rank-quotas", {
            "quotas": {"principal_staff_4": 30, "principal_staff_3": 20}, "effective_on": "2019-06-01"})
    # one chain of registrations per unit: the units' streams do not contend
    async def register(unit: str) -> None:
        for p, key, since, joined, rank, rank_since, posts in plan:
            if key == unit:
                await c.go_live(p, unit, since, joined, rank, rank_since, posts)

    await asyncio.gather(*(register(key) for key in c.units))


# -- the year ------------------------------------------------------------------------------------
async def run_year(c: County) -> dict:
    rng = c.rng
    notes: dict = {}
    tagged = {t: [p for p in c.people if t in p.tags] for t in
              ("leader", "double", "mid", "grad", "p4", "senior", "retiree", "young")}

    # reserve entries of 2024, recorded at go-live
    reserve_2024 = [p for p in tagged["young"] if state(p)["unit"] in ("yz", "jst", "mjz", "ht")][:4]
    for p in reserve_2024:
        await c.enter_reserve(p, "deputy_section_chief", date(2024, 6, 1))

    # Q1: 18 leaders converted to ranks (3 of them held two posts: 21 posts freed)
    converted = tagged["double"][:3] + sorted(
        (p for p in tagged["leader"] if state(p)["unit"] not in ("med", "hos")),
        key=lambda p: p.birth)[:15]
    reasons = ["age"] * 12 + ["health"] * 3 + ["capability"] * 3
    freed = 0
    for p, reason in zip(converted, reasons, strict=True):
        s = state(p)
        level = max((x["level"] for x in s["posts"]), key=LEVEL_ORDER.index)
        allowed = (["principal_staff_2", "principal_staff_1"] if level == "section_chief"
                   else ["principal_staff_4", "principal_staff_3"])
        target = next(r for r in allowed if RANK_ORDER.index(r) >= RANK_ORDER.index(s["rank"]))
        freed += await c.convert(p, target, reason, day_in(rng, date(2025, 2, 1), date(2025, 3, 31)))
    notes["posts_freed_by_conversion"] = freed

    # Q1–Q2: 11 transfers-in, and the first institution hires
    for _ in range(11):
        born = date(rng.randint(1985, 1995), rng.randint(1, 12), rng.randint(1, 28))
        p = c.person(born, rng.choice(("male", "female")), "civil_servant")
        await c.recruit(p, CIVIL_UNITS, "transfer_in",
                        day_in(rng, date(2025, 2, 1), date(2025, 6, 30)),
                        rank=rng.choice(["clerk_1", "principal_staff_4"]),
                        joined=date(born.year + 23, 7, 1))
    for _ in range(40):
        p = c.person(date(rng.randint(1995, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                     rng.choice(("male", "female")), "institution_staff")
        await c.recruit(p, list(c.units), "institution_hiring", date(2025, 3, 1))

    # Q2: six 四级主任科员 promoted to 三级 on the ladder; retirements; appointments
    p4_ready = [p for p in tagged["p4"] if years_between(state(p)["rank_since"], date(2025, 4, 1)) >= 2]
    for p in p4_ready[:6]:
        await c.promote(p, "principal_staff_3", "years_in_rank", date(2025, 4, 1))
    notes["p3"] = 6
    for p in tagged["retiree"]:
        await c.depart(p, "retirement", retirement(p))
    appointee = reserve_2024[0]
    unit_key = state(appointee)["unit"]
    await c.appoint(appointee, "deputy_section_chief", "副镇长（新）", date(2025, 5, 10))
    await c.exit_reserve(appointee, "promoted", date(2025, 5, 10))
    for p in (p for p in tagged["young"] if p not in reserve_2024):
        s = state(p)
        if s["unit"] == unit_key or len([1 for q in tagged["young"] if q.tags & {"appointed"}]) >= 9:
            continue
        if c.post_vacant(s["unit"], "deputy_section_chief") > 0:
            await c.appoint(p, "deputy_section_chief", "副职（新）", date(2025, 5, 20))
            p.tags.add("appointed")
    await c.exit_reserve(reserve_2024[1], "over_age", date(2025, 6, 15))
    await c.exit_reserve(reserve_2024[2], "assessment", date(2025, 6, 20))

    # one of the 2025 reserve enters in April and resigns in October (exit: left)
    leaver = next(p for p in tagged["young"] if not p.tags & {"appointed"} and p not in reserve_2024)
    await c.enter_reserve(leaver, "deputy_section_chief", date(2025, 4, 15))

    # June: 36 promoted to 四级主任科员 on years of service
    on = date(2025, 6, 1)
    service = [p for p in tagged["mid"]
               if years_between(state(p)["rank_since"], on) >= 2 and years_between(
                   state(p)["joined"], on) >= 5]
    assert len(service) >= 36, len(service)
    for p in service[:36]:
        await c.promote(p, "principal_staff_4", "years_of_service", on)

    # the graduates' degrees, recorded now (completed in 2024: backdated), then 11 promoted
    for p in tagged["grad"][:11]:
        await c.education(p, "postgraduate", "master", "full_time", date(2024, 6, 30))
    for p in tagged["grad"][11:]:
        await c.education(p, "bachelor", "bachelor", "full_time", date(2024, 6, 30))
    for p in tagged["grad"][:11]:
        await c.promote(p, "principal_staff_4", "graduate_degree", date(2025, 9, 1))

    # Q3: 25 exam recruits and the other 72 institution hires
    for _ in range(25):
        p = c.person(date(rng.randint(1997, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                     rng.choice(("male", "female")), "civil_servant")
        await c.recruit(p, CIVIL_UNITS, "exam_recruitment", date(2025, 8, 1))
    for _ in range(72):
        p = c.person(date(rng.randint(1994, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                     rng.choice(("male", "female")), "institution_staff")
        await c.recruit(p, list(c.units), "institution_hiring", date(2025, 9, 1))

    # Q3: 31 section-level leaders exchanged, each into a vacant post of their level
    kinds = ["grassroots_training"] * 12 + ["rank_promotion_exchange"] * 8 + ["adjacent_field"] * 11
    movers = [p for p in c.people if p.category == "civil_servant" and p not in converted
              and state(p)["status"] == "active" and state(p)["posts"]
              and len(state(p)["posts"]) == 1]
    rng.shuffle(movers)
    exchanged = []
    for p in movers:
        if len(exchanged) == 31:
            break
        s = state(p)
        level = s["posts"][0]["level"]
        targets = [key for key in c.units if key != s["unit"]
                   and c.vacant(key, "civil_servant") > 0 and c.post_vacant(key, level) > 0]
        if not targets:
            continue
        kind = kinds[len(exchanged)]
        await c.exchange(p, rng.choice(targets), kind, day_in(rng, date(2025, 7, 1),
                                                              date(2025, 9, 30)),
                         (level, "交流任职"))
        exchanged.append(p)
    assert len(exchanged) == 31
    notes["exchanged"] = exchanged

    # Q4: departures
    await c.depart(leaver, "resignation", date(2025, 10, 8))
    others = [p for p in tagged["young"] if not p.tags & {"appointed"} and p is not leaver
              and p not in reserve_2024]
    await c.depart(others[0], "resignation", date(2025, 11, 3))
    await c.depart(tagged["senior"][0], "transfer_out", date(2025, 10, 20))
    await c.depart(tagged["senior"][1], "death", date(2025, 11, 18))

    # December: the year's reserve entries recorded late (effective April–July): 24 正科 + 38 副科
    candidates_deputy = [p for p in c.people if (s := state(p)) and s["status"] == "active"
                         and not s["posts"] and not s["reserve"] and s["recruited_on"] < date(2025, 4, 1)
                         and age(p.birth, date(2025, 7, 31)) <= 35 and p is not leaver]
    candidates_section = [p for p in c.people if (s := state(p)) and s["status"] == "active"
                          and s["posts"] and all(x["level"] == "deputy_section_chief" for x in s["posts"])
                          and not s["reserve"] and age(p.birth, date(2025, 4, 1)) <= 39]
    candidates_section += [p for p in c.people if (s := state(p)) and s["status"] == "active"
                           and not s["posts"] and not s["reserve"] and s["recruited_on"] < date(2025, 4, 1)
                           and 36 <= age(p.birth, date(2025, 4, 1)) <= 39]
    assert len(candidates_section) >= 24 and len(candidates_deputy) >= 38, (
        len(candidates_section), len(candidates_deputy))
    section = candidates_section[:24]
    deputy = [p for p in candidates_deputy if p not in section][:38]
    def entry_day(p: Person) -> date:
        exits = [e[0] for e in p.events if e[2] == "reserve_out"]
        return max([day_in(rng, date(2025, 4, 1), date(2025, 7, 31)), *exits])

    for p in section:
        await c.enter_reserve(p, "section_chief", entry_day(p))
    for p in deputy:
        await c.enter_reserve(p, "deputy_section_chief", entry_day(p))
    # their education, also recorded late
    def done(years_old: int, month: int = 7) -> date:
        return min(date(p.birth.year + years_old, month, 1), date(2024, 7, 1))

    for i, p in enumerate(section + deputy):
        if state(p)["degrees"]:
            continue
        if i % 9 == 0:
            await c.education(p, "associate", "none", "full_time", done(20))
            await c.education(p, "bachelor", "bachelor", "in_service", done(24, 1))
        elif i % 7 == 0:
            await c.education(p, "postgraduate", "master", "full_time", done(25))
        else:
            await c.education(p, "bachelor", "bachelor", "full_time", done(22))
    for p in (section + deputy)[::3]:
        await c.review(p, rng.choice(["excellent", "competent"]), day_in(rng, date(2025, 12, 1),
                                                                          date(2025, 12, 20)))
    notes["reserve_people"] = [leaver, *section, *deputy]
    return notes


# -- what the model says each query should answer ------------------------------------------------
def expected_movements(c: County, start: date, end: date) -> dict:
    recruited: dict = {}
    promotions: dict = {}
    counts: dict[str, Counter] = {k: Counter() for k in (
        "exchanged", "departed", "reserve_in", "reserve_out", "appointed", "conversion_reason")}
    conversions = freed_conv = 0
    freed = Counter()
    for p in c.people:
        for day, _, kind, d in p.events:
            if not start <= day <= end:
                continue
            if kind == "recruited":
                recruited.setdefault(d["channel"], Counter())[p.category] += 1
            elif kind == "promoted":
                promotions.setdefault(d["rank"], Counter())[d["basis"]] += 1
            elif kind == "converted":
                conversions += 1
                freed_conv += d["freed"]
                counts["conversion_reason"][d["reason"]] += 1
            elif kind == "exchanged":
                counts["exchanged"][d["kind"]] += 1
                freed["exchange"] += d["freed"]
            elif kind == "departed":
                counts["departed"][d["kind"]] += 1
                freed["departure"] += d["freed"]
            elif kind == "reserve_in":
                counts["reserve_in"][d["level"]] += 1
            elif kind == "reserve_out":
                counts["reserve_out"][d["reason"]] += 1
            elif kind == "appointed":
                counts["appointed"][d["level"]] += 1
    pool = Counter(s["reserve"]["level"] for p in c.people
                   if (s := state(p, end)) and s["reserve"])
    return {
        "recruited": {k: dict(v) for k, v in recruited.items()},
        "recruited_total": sum(sum(v.values()) for v in recruited.values()),
        "promotions": {k: dict(v) for k, v in promotions.items()},
        "promotions_total": sum(sum(v.values()) for v in promotions.values()),
        "conversions": conversions, "conversion_posts_freed": freed_conv,
        "conversions_by_reason": dict(counts["conversion_reason"]),
        "posts_freed": {"conversion": freed_conv, "exchange": freed["exchange"],
                        "departure": freed["departure"], "reappointment": 0},
        "appointments": dict(counts["appointed"]),
        "exchanges": dict(counts["exchanged"]), "exchanges_total": sum(counts["exchanged"].values()),
        "departures": dict(counts["departed"]), "departures_total": sum(counts["departed"].values()),
        "reserve_entered": dict(counts["reserve_in"]), "reserve_exited": dict(counts["reserve_out"]),
        "reserve_pool_at_end": dict(pool),
    }


def expected_structure(c: County, u: Unit, on: date) -> dict:
    members = [(p, s) for p, s in c.active() if s["unit"] == u.key]
    admin = sum(p.category == "civil_servant" for p, _ in members)
    inst = sum(p.category == "institution_staff" for p, _ in members)
    posts = Counter(x["level"] for _, s in members for x in s["posts"])
    ranks = Counter(s["rank"] for _, s in members if s["rank"])
    ages = [age(p.birth, on) for p, _ in members]
    return {
        "establishment": [
            {"slot": "administrative", "approved": u.admin, "occupied": admin,
             "vacant": u.admin - admin, "over": 0},
            {"slot": "institution", "approved": u.inst, "occupied": inst, "vacant": u.inst - inst,
             "over": 0}],
        "posts": {lv: (u.posts[lv], posts[lv]) for lv in u.posts if u.posts[lv] or posts[lv]},
        "quota_held": {r: ranks[r] for r in ("principal_staff_4", "principal_staff_3")},
        "age": {"headcount": len(ages),
                "age_bands": {name: sum(band(a) == name for a in ages) for name, *_ in BANDS},
                "average_age": round(sum(ages) / len(ages), 1) if ages else None,
                "share_50_plus": round(sum(a >= 50 for a in ages) / len(ages), 4) if ages else None,
                "share_55_plus": round(sum(a >= 55 for a in ages) / len(ages), 4) if ages else None},
    }


def expected_eligible_p4(c: County, on: date) -> dict[str, list[str]]:
    """Candidates for 四级主任科员 on ``on``, by the rules written out again here."""
    out = {}
    for p in c.people:
        s = state(p, on)
        if not s or s["status"] != "active" or p.category != "civil_servant":
            continue
        bases = []
        ladder = s["rank"] == "clerk_1" and years_between(s["rank_since"], on) >= 2
        if ladder:
            bases.append("years_in_rank")
            if years_between(s["joined"], on) >= 5:
                bases.append("years_of_service")
        if (RANK_ORDER.index(s["rank"] or "clerk_2") < RANK_ORDER.index("principal_staff_4")
                and any(d in ("master", "doctorate") for d, _ in s["degrees"])
                and years_between(s["recruited_on"], on) >= 1):
            bases.append("graduate_degree")
        if bases:
            out[p.id] = bases
    return out


async def test_a_year_of_cadre_work(platform, tmp_path):
    c = County(platform)
    await build_county(c)
    notes = await run_year(c)
    await settle(platform)
    ids = {p.id: p for p in c.people}

    # -- movement figures: the article's, and any period from the model --------------------------
    year = await query(platform, "/personnel-movements", **{"from": "2025-01-01", "to": "2025-12-31"})
    assert year["recruited"] == {"exam_recruitment": {"civil_servant": 25},
                                 "institution_hiring": {"institution_staff": 112},
                                 "transfer_in": {"civil_servant": 11}}
    assert year["conversions"] == 18 and year["conversion_posts_freed"] == 21 >= 20
    assert year["promotions"]["principal_staff_4"] == {"graduate_degree": 11, "years_of_service": 36}
    assert year["reserve_entered"] == {"section_chief": 24, "deputy_section_chief": 39}
    assert sum(year["reserve_entered"].values()) == 63
    assert year["exchanges_total"] == 31
    for start, end in [(YEAR_START, YEAR_END), (date(2025, 1, 1), date(2025, 6, 30)),
                       (date(2025, 7, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31)),
                       (date(2025, 3, 1), date(2025, 3, 1))]:
        got = await query(platform, "/personnel-movements", **{"from": start.isoformat(),
                                                               "to": end.isoformat()})
        expected = expected_movements(c, start, end)
        assert {k: got[k] for k in expected} == expected, (start, end)

    # -- unit structure ---------------------------------------------------------------------------
    for u in c.units.values():
        got = await query(platform, f"/units/{u.id}/structure", on="2025-12-31")
        want = expected_structure(c, u, YEAR_END)
        assert got["establishment"] == want["establishment"], u.name
        assert {p["level"]: (p["approved"], p["filled"]) for p in got["leadership_posts"]} == \
            want["posts"], u.name
        assert {r["rank"]: r["held"] for r in got["rank_quotas"]
                if r["rank"] in want["quota_held"]} == want["quota_held"], u.name
        assert got["age"] == want["age"], u.name

    # -- reserve pool --------------------------------------------------------------------------
    pool = await query(platform, "/reserve-pool", on="2025-12-31")
    in_pool = [(p, s) for p, s in c.active() if s["reserve"]]
    assert pool["total"] == len(in_pool) == 63
    for line in pool["levels"]:
        members = [p for p, s in in_pool if s["reserve"]["level"] == line["level"]]
        ages = [age(p.birth, YEAR_END) for p in members]
        assert line["count"] == len(members)
        assert line["average_age"] == round(sum(ages) / len(ages), 1)
        assert line["age_bands"] == {name: sum(band(a) == name for a in ages) for name, *_ in BANDS}
        assert line["education"] == {k: sum(highest_education(p) == k for p in members)
                                     for k in (*EDUCATION, "unknown")}
        assert line["full_time_education"] == {
            k: sum(highest_education(p, ("full_time",)) == k for p in members)
            for k in (*EDUCATION, "unknown")}
        limit = 40 if line["level"] == "section_chief" else 35
        assert line["over_age"] == sum(a > limit for a in ages)

    # -- promotion eligibility (a candidate list, before and after the year) -----------------
    for on in (date(2025, 1, 1), date(2025, 6, 1), YEAR_END):
        got = await query(platform, "/promotion-eligibility", target_rank="principal_staff_4",
                          on=on.isoformat())
        assert {x["cadre"]["id"]: x["bases"] for x in got["candidates"]} == \
            expected_eligible_p4(c, on), on
    early = await query(platform, "/promotion-eligibility", target_rank="principal_staff_4",
                        on="2025-05-31", basis="years_of_service")
    promoted_on_service = {p.id for p in c.people for e in p.events
                           if e[2] == "promoted" and e[3]["basis"] == "years_of_service"}
    assert promoted_on_service <= {x["cadre"]["id"] for x in early["candidates"]}

    # -- exchange candidates and retirements ------------------------------------------------
    for years in (5, 8):
        got = await query(platform, "/exchange-candidates", on="2025-12-31",
                          **({"years": years} if years != 5 else {}))
        want = {p.id for p, s in c.active() if years_between(s["unit_since"], YEAR_END) >= years}
        assert {x["cadre"]["id"] for x in got["candidates"]} == want and got["years"] == years
    leaders = await query(platform, "/exchange-candidates", on="2025-12-31", leaders_only="true")
    assert {x["cadre"]["id"] for x in leaders["candidates"]} == {
        p.id for p, s in c.active() if s["posts"] and years_between(s["unit_since"], YEAR_END) >= 5}
    got = await query(platform, "/retirements", on="2025-12-31", years=3)
    dates = {p.id: retirement(p) for p, _ in c.active()}

    def within(n: int) -> set[str]:
        return {i for i, d in dates.items() if YEAR_END < d <= YEAR_END.replace(year=2025 + n)}
    assert (got["within_1"], got["within_3"], got["within_5"]) == (
        len(within(1)), len(within(3)), len(within(5)))
    assert got["overdue"] == sum(d <= YEAR_END for d in dates.values())
    assert {x["cadre"]["id"] for x in got["cadres"]} == within(3)

    # -- the roster: every active cadre once, then each filter --------------------------------
    seen, cursor = [], None
    while True:
        page = await query(platform, "/cadres", limit=150, **({"cursor": cursor} if cursor else {}))
        seen += [x["id"] for x in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(p.id for p, _ in c.active()) and len(seen) == len(set(seen))

    async def roster(**params) -> set[str]:
        return {x["id"] for x in (await query(platform, "/cadres", limit=500, on="2025-12-31",
                                              **params))["items"]}
    for key in ("org", "yz", "hos"):
        assert await roster(unit_id=c.units[key].id) == {
            p.id for p, s in c.active() if s["unit"] == key}
    assert await roster(category="institution_staff") == {
        p.id for p, _ in c.active() if p.category == "institution_staff"}
    for rank in ("clerk_1", "principal_staff_4", "principal_staff_2"):
        assert await roster(rank=rank) == {p.id for p, s in c.active() if s["rank"] == rank}
    for level in ("section_chief", "deputy_section_chief"):
        assert await roster(post_level=level) == {
            p.id for p, s in c.active() if s["posts"]
            and max((x["level"] for x in s["posts"]), key=LEVEL_ORDER.index) == level}
    for level in ("section_chief", "deputy_section_chief"):
        assert await roster(reserve_level=level) == {
            p.id for p, s in c.active() if s["reserve"] and s["reserve"]["level"] == level}
    for name, *_ in BANDS:
        assert await roster(age_band=name) == {
            p.id for p, _ in c.active() if band(age(p.birth, YEAR_END)) == name}
    surname = Counter(p.name[0] for p in c.people).most_common(1)[0][0]
    assert await roster(q=surname) >= {p.id for p, _ in c.active() if p.name.startswith(surname)}
    assert len(await roster(status="departed")) == sum(
        1 for p in c.people if state(p)["status"] == "departed") == 10

    # -- cadre detail and as-of views --------------------------------------------------------
    sample = [notes["exchanged"][0], notes["exchanged"][1], notes["reserve_people"][0],
              notes["reserve_people"][5], *[p for p in c.people if "grad" in p.tags][:2],
              *[p for p in c.people if "double" in p.tags][:1],
              *[p for p in c.people if "retiree" in p.tags][:1]]
    for p in sample:
        for on in (date(2024, 12, 31), date(2025, 3, 31), date(2025, 8, 15), None):
            params = {"as_of": on.isoformat()} if on else {}
            want = state(p, on)
            if want is None:
                response = await platform.get(f"/api/v1/cadres/{p.id}", params=params,
                                              headers=platform.admin)
                assert response.status_code == 404
                continue
            got = await query(platform, f"/cadres/{p.id}", **params)
            assert got["unit"]["id"] == c.units[want["unit"]].id, (p.name, on)
            assert (got["rank"], got["status"]) == (want["rank"], want["status"]), (p.name, on)
            assert sorted(x["level"] for x in got["posts"]) == sorted(
                x["level"] for x in want["posts"]), (p.name, on)
            assert (got["reserve"] or {}).get("level") == (want["reserve"] or {}).get("level")
            assert len(got["history"]) == sum(1 for e in p.events if on is None or e[0] <= on)
    assert all(p.id in ids for p in sample)

    # -- and everything rebuilt from the store equals the live read models ------------------
    counts = await assert_rebuild_equals_live(platform, tmp_path)
    assert counts["rm_cadres"] == len(c.people)
