"""Running the embedded platform in-process for tests (ASGI, lifespan included)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from services.kernel.auth import TokenIssuer
from services.kernel.metrics import Metrics
from services.kernel.settings import Settings
from zugong.runtime import SERVICES, create_embedded_app


def embedded_settings(var_dir: Path, **overrides) -> Settings:
    return Settings(
        environment="development", var_dir=var_dir,
        database={**{f"{name}_url": f"sqlite+aiosqlite:///{var_dir}/{name}.db" for name in SERVICES},
                  "readmodel_url": f"sqlite+aiosqlite:///{var_dir}/readmodel.db"},
        **overrides)


def bearer(settings: Settings, role: str = "admin", subject: str = "tester") -> dict[str, str]:
    token = TokenIssuer(settings.auth.jwt_secret).mint(subject, role)
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def embedded_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_embedded_app(settings, Metrics())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            client.app = app
            yield client
