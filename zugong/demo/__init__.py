"""A deterministic synthetic year for a county like Huairen (怀仁), loaded through the public HTTP
API only, so that the city dashboard shows the article's figures.

Every command carries an Idempotency-Key derived from its path and body; ids come from the
answers, which a replayed command returns unchanged. Loading twice therefore replays the same
commands, which the services answer from their command logs without appending anything.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import nullcontext

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zugong.demo.client import DemoApi, DemoError, national_id
from zugong.demo.governance import run_governance
from zugong.demo.personnel import County, build_county, run_year
from zugong.demo.talent import run_talent
from zugong.demo.training import run_training

__all__ = ["DEMO_SUBJECT", "DEMO_YEAR", "DemoError", "load", "load_over_http", "national_id",
           "store_is_empty"]

DEMO_YEAR = 2025
DEMO_SUBJECT = "demo-loader"
"""Idempotency keys are scoped by token subject: a reload must use the same subject."""
# commands per section, for the progress bars (measured on a full load)
EXPECTED = {"personnel": 802, "training": 247, "talent": 522, "governance": 473}


async def load(client: httpx.AsyncClient, headers: dict[str, str], *,
               console: Console | None = None) -> Counter:
    """Drive the demo year through ``client`` (a gateway base URL or an ASGI app); returns
    the commands sent per section. ``console`` shows progress bars."""
    sent: Counter = Counter()
    progress = (Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), console=console, transient=False)
                if console is not None else None)
    tasks = ({s: progress.add_task(s, total=n) for s, n in EXPECTED.items()} if progress else {})

    def advance(section: str) -> None:
        sent[section] += 1
        if progress is not None and section in tasks:
            progress.update(tasks[section], advance=1,
                            total=max(EXPECTED[section], sent[section]))

    api = DemoApi(client, headers, advance)
    with progress if progress is not None else nullcontext():
        county = County(api)
        registered = asyncio.Event()

        async def cadre_year() -> None:
            await build_county(county)
            registered.set()
            await run_year(county)

        async def training_year() -> None:
            await registered.wait()
            trainees = [p.id for p in county.people if "mid" in p.tags][:36]
            await run_training(api, trainees, DEMO_YEAR)

        await asyncio.gather(cadre_year(), training_year(), run_talent(api), run_governance(api))
        for section, task in tasks.items():
            progress.update(task, total=sent[section], completed=sent[section])
    return sent


async def load_over_http(base_url: str, token: str, *, console: Console | None = None,
                         wait_seconds: float = 60.0, only_if_empty: bool = False) -> Counter | None:
    """Wait for the gateway at ``base_url`` to answer, then load the demo year through it.
    With ``only_if_empty`` nothing is loaded (None) when the platform already holds data."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0,
                                 limits=httpx.Limits(max_connections=32)) as client:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"the gateway at {base_url} did not become ready")
            await asyncio.sleep(0.2)
        if only_if_empty and not await store_is_empty(client, headers):
            return None
        return await load(client, headers, console=console)


async def store_is_empty(client: httpx.AsyncClient, headers: dict[str, str]) -> bool:
    """No cadre, class nor township yet: a fresh platform the demo may fill."""
    for path in ("/api/v1/cadres", "/api/v1/training/classes",
                 "/api/v1/governance/townships"):
        response = await client.get(path, params={"limit": 1}, headers=headers)
        if response.status_code != 200 or response.json()["items"]:
            return False
    return True
