"""The demo year, loaded through the HTTP API into an embedded platform, shows the article's
figures on the dashboard; loading it a second time appends nothing anywhere."""

from __future__ import annotations

import time

import pytest
import pytest_asyncio

from tests.e2e.dashboard_helpers import dashboard, settle_all
from tests.support.embedded import bearer, embedded_client, embedded_settings
from zugong.demo import load

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# The article's figures (docs: shared/domain/BRIEF.md, "The article's figures"); "20+" and the
# like are lower bounds, the rest exact.
ARTICLE_EXACT = {
    "training.classes_held": 8,
    "training.invited_lectures": 1,
    "training.art_party_lecture_attendees": 780,
    "personnel.recruited.exam": 25,
    "personnel.recruited.institution": 112,
    "personnel.recruited.transfer_in": 11,
    "personnel.promoted.principal_staff_4.graduate_degree": 11,
    "personnel.promoted.principal_staff_4.years_of_service": 36,
    "personnel.reserve.total": 63,
    "personnel.reserve.section_chief": 24,
    "personnel.reserve.deputy_section_chief": 39,
    "personnel.exchanges": 31,
    "personnel.conversions": 18,
    "governance.rectification.problems_solved": 26,
    "governance.village_reserve.candidates": 1352,
    "governance.village_reserve.leader_candidates": 417,
    "governance.townships.with_party_building_office": 8,
    "governance.townships.total": 8,
    "governance.hires.institution_staff": 104,
    "governance.hires.community_assistant": 24,
    "governance.hires.grid_worker": 30,
    "governance.institutional_rules": 7,
    "governance.compounds.monitoring_connected": 151,
    "talent.studios.certified_two_years": 25,
    "talent.studios.funding_each": 50_000,
    "talent.visits.natives_elsewhere": 40,
    "talent.think_tank_experts": 36,
    "talent.doctoral_secondments": 2,
    "talent.university_agreements": 1,
    "org_department.transferred_in": 6,
    "org_department.institution_recruited": 4,
}
ARTICLE_AT_LEAST = {
    "personnel.conversions.posts_freed": 20,
    "governance.rectification.measures_adopted": 40,
    "governance.compounds.service_station_share": 0.70,
    "talent.visits.contact_experts": 100,
    "talent.internships.positions": 870,
}
YEAR = ("2025-01-01", "2025-12-31")


@pytest_asyncio.fixture(scope="module")
async def demo(tmp_path_factory):
    settings = embedded_settings(tmp_path_factory.mktemp("demo") / "var")
    async with embedded_client(settings) as client:
        headers = bearer(settings, "admin", subject="demo-loader")
        started = time.monotonic()
        client.sent = await load(client, headers)
        client.load_seconds = time.monotonic() - started
        await settle_all(client)
        client.headers = headers
        yield client


async def test_the_demo_year_shows_the_articles_figures(demo):
    figures = await dashboard(demo, demo.headers, *YEAR)
    assert {k: figures[k] for k in ARTICLE_EXACT} == ARTICLE_EXACT
    for key, floor in ARTICLE_AT_LEAST.items():
        assert figures[key] >= floor, (key, figures[key])
    # and the year before holds only what the plans put there (studios, a lecture, …)
    before = await dashboard(demo, demo.headers, "2024-01-01", "2024-12-31")
    assert before["training.classes_held"] == 0 and before["personnel.recruited.exam"] == 0
    assert before["training.art_party_lecture_attendees"] == 650
    assert demo.load_seconds < 180, demo.load_seconds


async def test_loading_the_demo_twice_changes_nothing(demo):
    ctx = demo.app.state.context
    heads = {name: await store.head_position() for name, store in ctx.stores.items()}
    assert all(heads.values()), heads
    first = await dashboard(demo, demo.headers, *YEAR)
    again = await load(demo, demo.headers)
    assert again == demo.sent  # the same commands, each answered from the command log
    assert {name: await store.head_position() for name, store in ctx.stores.items()} == heads
    await settle_all(demo)
    assert await dashboard(demo, demo.headers, *YEAR) == first
