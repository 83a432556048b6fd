"""Start-up objects are frozen out of the garbage collector while the platform runs (full
collections walked them all: 120-220 ms pauses under load) and unfrozen when it stops."""

from __future__ import annotations

import gc

import pytest

from tests.support.embedded import embedded_client, embedded_settings

pytestmark = pytest.mark.e2e


async def test_startup_objects_frozen_while_running_then_released(tmp_path):
    gc.unfreeze()
    async with embedded_client(embedded_settings(tmp_path / "var")) as client:
        assert gc.get_freeze_count() > 10_000
        assert (await client.get("/healthz")).status_code == 200
    assert gc.get_freeze_count() == 0
