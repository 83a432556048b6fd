from __future__ import annotations

import pytest_asyncio

from tests.support.embedded import bearer, embedded_client, embedded_settings


@pytest_asyncio.fixture
async def platform(tmp_path):
    """The embedded platform on fresh SQLite files, reached over ASGI."""
    settings = embedded_settings(tmp_path / "var")
    async with embedded_client(settings) as client:
        client.settings = settings
        client.admin = bearer(settings, "admin")
        yield client
