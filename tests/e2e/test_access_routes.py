"""Every route of the gateway's OpenAPI (and of each service's) refuses a request without a
token (401) and from every role that lacks the permission the route declares (403); admin gets
past both. Also: every operation has a unique, explicit operation id."""

from __future__ import annotations

import contextlib
import re

import httpx
import pytest

from services.kernel.auth import ROLE_PERMISSIONS, TokenIssuer
from services.kernel.metrics import Metrics
from tests.support.routes import PUBLIC_OPERATIONS, SampleMaker, operations, route_permissions
from zugong.runtime import SERVICES

SSE = "text/event-stream"


def _tokens(settings) -> dict[str, dict[str, str]]:
    issuer = TokenIssuer(settings.auth.jwt_secret)
    return {role: {"Authorization": "Bearer " + issuer.mint(
        f"{role}-1", role, township="T-elsewhere" if role == "township_operator" else None)}
        for role in ROLE_PERMISSIONS}


async def _check_every_route(client: httpx.AsyncClient, app, settings) -> int:
    tokens = _tokens(settings)
    declared = route_permissions(app)
    maker = SampleMaker(app.openapi())
    checked = 0
    failures = []
    for method, path, op in operations(app):
        if op.get("operationId") in PUBLIC_OPERATIONS:
            continue
        permissions = declared[(method, path)]
        if len(permissions) != 1:
            failures.append(f"{method} {path} declares {permissions}, not exactly one permission")
            continue
        needed = permissions[0]
        request = maker.request(method, path, op)
        response = await client.request(**request)
        if response.status_code != 401:
            failures.append(f"{method} {path} without a token: {response.status_code}")
        response = await client.request(**request, headers={"Authorization": "Bearer nonsense"})
        if response.status_code != 401:
            failures.append(f"{method} {path} with a bad token: {response.status_code}")
        lacking = [role for role, perms in ROLE_PERMISSIONS.items() if needed not in perms]
        assert lacking, f"{needed} is held by every role"
        for role in lacking:
            response = await client.request(**request, headers=tokens[role])
            if response.status_code != 403:
                failures.append(f"{method} {path} as {role} (lacks {needed}): "
                                f"{response.status_code}")
        if SSE not in op.get("responses", {}).get("200", {}).get("content", {}):
            response = await client.request(**request, headers=tokens["admin"])
            if response.status_code in (401, 403):
                failures.append(f"{method} {path} as admin: {response.status_code}")
        checked += 1
    assert not failures, "\n".join(failures)
    return checked


async def test_every_gateway_route_refuses_missing_token_and_roles_without_permission(platform):
    checked = await _check_every_route(platform, platform.app, platform.settings)
    assert checked >= 160
    # no route hides from the schema (and so from this test), probes aside
    documented = {(m, p) for m, p, _ in operations(platform.app)}
    hidden = {k for k in route_permissions(platform.app) if k not in documented}
    assert {path for _, path in hidden} <= {"/healthz", "/readyz", "/metrics"}


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_every_service_route_refuses_missing_token_and_roles_without_permission(
        tmp_path, service):
    from tests.support.embedded import embedded_settings

    settings = embedded_settings(tmp_path / "var")
    app = SERVICES[service].create_app(settings, metrics=Metrics())
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://service"))
        assert await _check_every_route(client, app, settings) >= 10


def test_operation_ids_are_set_unique_and_stable(tmp_path):
    from tests.support.embedded import embedded_settings
    from zugong.runtime import create_embedded_app

    settings = embedded_settings(tmp_path / "var")
    apps = {"gateway": create_embedded_app(settings, Metrics())}
    apps.update({name: module.create_app(settings, metrics=Metrics())
                 for name, module in SERVICES.items()})
    for name, app in apps.items():
        ids = [op.get("operationId") for _, _, op in operations(app)]
        assert all(ids), f"{name}: an operation without an id"
        assert len(ids) == len(set(ids)), f"{name}: duplicate operation ids"
        # explicit ids, not FastAPI's generated `<function>_<path>_<method>` ones
        generated = [i for i in ids if re.search(r"_(get|post|put|patch|delete)$", i)]
        assert not generated, f"{name}: generated operation ids {generated}"
