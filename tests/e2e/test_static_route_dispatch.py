"""The gateway remembers how each parameterless path was routed (``StaticRouteDispatch``): for
every route, method and a method it does not allow, the route reached and the scope it is
handed (or the error raised) must be those of FastAPI's own routing, and a change of the
routes must be seen."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from gateway.app import create_app
from services.kernel.metrics import Metrics
from services.kernel.service_app import DirectCommandRoute, StaticRouteDispatch, _api_routes
from tests.support.embedded import embedded_settings

pytestmark = pytest.mark.e2e


class Reached(Exception):
    def __init__(self, route, scope) -> None:
        self.route, self.scope = route, scope


@pytest.fixture
def gateway(tmp_path, monkeypatch):
    async def handle(self, scope, receive, send):  # stops at the route, with its scope
        raise Reached(self, {**scope, "fastapi": dict(scope.get("fastapi", {}))})

    monkeypatch.setattr(APIRoute, "handle", handle)
    return create_app(embedded_settings(tmp_path / "var"), metrics=Metrics(), context=None)


async def _route(call, app, method: str, path: str):
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": [], "app": app,
             "state": {}}
    sent = []

    async def send(message) -> None:
        sent.append(message)

    try:
        await call(scope, None, send)
        return "sent", sent
    except Reached as reached:
        return reached.route, reached.scope
    except HTTPException as error:
        return "error", error.status_code, error.detail


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "x1", path)


async def test_every_route_is_routed_as_fastapi_routes_it(gateway):
    dispatch = gateway.router.middleware_stack
    assert isinstance(dispatch, StaticRouteDispatch)
    routes = _api_routes(gateway.routes)
    assert len(routes) > 150
    checked = remembered = 0
    for route in routes:
        path = _concrete(route.path)
        for method in [*sorted(route.methods), "PATCH"]:
            normal = await _route(dispatch.routed, gateway, method, path)
            first = await _route(gateway.router, gateway, method, path)
            again = await _route(gateway.router, gateway, method, path)
            assert first == normal and again == normal, (method, path)
            if (method, path, "") in dispatch._known:
                remembered += 1
                assert again[0] is route
            checked += 1
    static = sum(len(r.methods) for r in routes
                 if "{" not in r.path and isinstance(r, DirectCommandRoute))
    assert checked > 300 and remembered == static


async def test_unknown_paths_and_redirects_are_answered_as_before(gateway):
    for method, path in [("GET", "/nope"), ("POST", "/api/v1/personnel/units/"),
                         ("POST", "/api/v1/personnel/units/x/y/z"), ("DELETE", "/api/v1/cadres")]:
        normal = await _route(gateway.router.middleware_stack.routed, gateway, method, path)
        for _ in range(2):
            assert await _route(gateway.router, gateway, method, path) == normal


async def test_a_route_added_later_is_seen(gateway):
    path = "/api/v1/personnel/units"
    first = await _route(gateway.router, gateway, "POST", path)
    assert (await _route(gateway.router, gateway, "POST", path))[0] is first[0]
    earlier = APIRouter(route_class=DirectCommandRoute)

    @earlier.post(path)
    async def shadow() -> dict:
        return {}

    gateway.router.routes.insert(0, earlier.routes[0])
    now = await _route(gateway.router, gateway, "POST", path)
    assert now[0] is earlier.routes[0]
    assert now == await _route(gateway.router.middleware_stack.routed, gateway, "POST", path)
