"""Bodies and calls shared by the talent e2e tests."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.readmodels.talent import TalentProjection, metadata
from services.kernel.db import create_engine
from services.kernel.metrics import Metrics
from services.kernel.sources import StoreTailSource
from services.kernel.subscription import SubscriptionRunner

T = "/api/v1/talent"
PROBLEM = "application/problem+json"


def studio_body(name: str = "李红名师工作室", field: str = "teacher",
                certified_on: str = "2024-05-20", **extra) -> dict:
    return {"name": name, "field": field, "lead": {"name": "李红", "title": "特级教师"},
            "host_unit": "怀仁市第一中学", "certified_on": certified_on, **extra}


def expert_body(name: str = "王建国", kind: str = "contact_expert",
                registered_on: str = "2024-01-10", **extra) -> dict:
    return {"name": name, "kind": kind, "field": "材料科学", "affiliation": "太原理工大学",
            "registered_on": registered_on, **extra}


def visit_body(visited_on: str = "2024-02-05", issues: int = 0, **extra) -> dict:
    return {"visited_on": visited_on, "visitors": ["市委组织部部长"], "occasion": "festival",
            "issues": [{"description": f"问题{n}", "action": "协调解决", "owner": "市人社局",
                        "due_on": "2024-03-31"} for n in range(issues)], **extra}


def position_body(slots: int = 3, host_unit: str = "怀仁市人民医院", **extra) -> dict:
    return {"host_unit": host_unit, "post": "医务助理", "slots": slots, "season": "summer",
            "starts_on": "2024-07-08", "ends_on": "2024-08-23", "published_on": "2024-06-15",
            **extra}


def student_body(name: str = "赵敏", placed_on: str = "2024-07-01", **extra) -> dict:
    return {"student_name": name, "school": "太原理工大学", "major": "临床医学",
            "placed_on": placed_on, **extra}


async def talent_head(client) -> int:
    """Events in the talent store: a rejected command must not change it."""
    return await client.app.state.context.stores["talent"].head_position()


async def ok(client, path: str, body: dict, headers: dict | None = None):
    """POST a command that must be accepted; returns the response."""
    response = await client.post(f"{T}{path}", json=body, headers=headers or client.admin)
    assert response.status_code == 201, (path, response.text)
    return response


async def fresh(client, path: str, accepted, headers: dict | None = None, params=None) -> dict:
    """GET a query after the command ``accepted`` is in the read model."""
    response = await client.get(f"{T}{path}", params=params, headers={
        **(headers or client.admin),
        "X-Consistency-Token": accepted.json()["consistency_token"]})
    assert response.status_code == 200, (path, response.text)
    assert response.headers["x-consistency"] == "fresh"
    return response.json()


async def compare_rebuilt_with_live(context, tmp_path) -> dict[str, int]:
    """Rebuild the talent read models into a fresh database and compare every table row by row.
    Returns the row count of each table (so callers can check something was compared)."""
    store = context.stores["talent"]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/rebuilt.db")
    try:
        runner = SubscriptionRunner(TalentProjection(), engine, Metrics())
        await runner.create_schema()
        assert await StoreTailSource("talent", store).catch_up(runner) == await store.head_position()
        counts = {}
        for table in metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            async with context.read_engine.connect() as conn:
                live = [tuple(r) for r in (await conn.execute(query)).all()]
            async with engine.connect() as conn:
                rebuilt = [tuple(r) for r in (await conn.execute(query)).all()]
            assert rebuilt == live, table.name
            counts[table.name] = len(live)
        return counts
    finally:
        await engine.dispose()
