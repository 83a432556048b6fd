"""The dashboard's answers are cached per period while the read models do not change: a repeat
is served without recomputing, a write makes the next answer (read with the write's
consistency token) show it, and ETags follow the content."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.dashboard_helpers import settle_all
from tests.e2e.personnel_helpers import command, person, unit

pytestmark = pytest.mark.e2e
PERIOD = {"from": "2023-01-01", "to": "2023-12-31"}
EXAM = "personnel.recruited.exam"


def figure(response, key: str):
    assert response.status_code == 200, response.text
    return next(f["value"] for f in response.json()["figures"] if f["key"] == key)


async def recruit(client, unit_id: str, n: int) -> dict:
    return await command(client, "/cadres", {
        **person(f"考录{n}", date(1998, 1, 1 + n), "male", 100 + n),
        "category": "civil_servant", "unit_id": unit_id, "channel": "exam_recruitment",
        "effective_on": "2023-08-01"})


async def test_cached_until_a_projection_advances_then_the_new_figure(platform):
    dashboard = platform.app.state.context.dashboard
    unit_id = await unit(platform, "市财政局", administrative=10)
    await recruit(platform, unit_id, 1)
    await settle_all(platform)

    first = await platform.get("/api/v1/dashboard", params=PERIOD, headers=platform.admin)
    assert figure(first, EXAM) == 1
    computed = dashboard.computed
    again = await platform.get("/api/v1/dashboard", params=PERIOD, headers=platform.admin)
    assert again.content == first.content
    assert dashboard.computed == computed, "an unchanged read model is answered from the cache"
    etag = first.headers["ETag"]
    assert (await platform.get("/api/v1/dashboard", params=PERIOD, headers={
        **platform.admin, "If-None-Match": etag})).status_code == 304

    token = (await recruit(platform, unit_id, 2))["consistency_token"]
    fresh = await platform.get("/api/v1/dashboard", params=PERIOD, headers={
        **platform.admin, "X-Consistency-Token": token})
    assert fresh.headers["X-Consistency"] == "fresh"
    assert figure(fresh, EXAM) == 2, "the write is in the next answer"
    assert dashboard.computed == computed + 1
    assert fresh.headers["ETag"] != etag
    assert (await platform.get("/api/v1/dashboard", params=PERIOD, headers={
        **platform.admin, "If-None-Match": etag})).status_code == 200


async def test_periods_are_cached_apart(platform):
    unit_id = await unit(platform, "市财政局", administrative=10)
    await recruit(platform, unit_id, 1)
    await settle_all(platform)
    in_2023 = await platform.get("/api/v1/dashboard", params=PERIOD, headers=platform.admin)
    in_2022 = await platform.get("/api/v1/dashboard", params={"from": "2022-01-01",
                                                               "to": "2022-12-31"},
                                 headers=platform.admin)
    assert (figure(in_2023, EXAM), figure(in_2022, EXAM)) == (1, 0)
    assert in_2022.json()["from"] == "2022-01-01"


async def test_a_bad_consistency_token_is_400(platform):
    response = await platform.get("/api/v1/dashboard", params=PERIOD, headers={
        **platform.admin, "X-Consistency-Token": "not-a-token"})
    assert response.status_code == 400


async def test_an_index_added_later_is_created_on_an_existing_read_model(tmp_path):
    """`create_all` skips existing tables with their indexes; the embedded runtime adds them."""
    import sqlite3

    import sqlalchemy as sa

    from gateway.readmodels.personnel import metadata
    from tests.support.embedded import embedded_client, embedded_settings

    settings = embedded_settings(tmp_path / "var")
    path = tmp_path / "var" / "readmodel.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_rm_personnel_cadre_events_labels")
    engine.dispose()

    def indexes() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}

    assert "ix_rm_personnel_cadre_events_labels" not in indexes()
    async with embedded_client(settings):
        assert "ix_rm_personnel_cadre_events_labels" in indexes()
