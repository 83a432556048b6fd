"""The embedded gateway calls a service route's endpoint directly (``InProcessCommands``)
instead of sending the request through the service's FastAPI app: every command route must be
callable that way, and each answer (status, headers, body) must be the one the service's own
app gives, the command metrics and the service's request timing included.

The gateway's command routes (``DirectCommandRoute``) solve a plainly valid request without
FastAPI's generic handler, and the service route then takes the gateway's validated body and
headers instead of validating them again: every answer must be the one FastAPI's own handler
gives, and every command must take that path."""

from __future__ import annotations

import json

import pytest

import services.kernel.service_app as service_app
from services.kernel.service_app import (
    DirectCommandRoute,
    InProcessCommands,
    _api_routes,
    _shared_parameters,
)
from tests.e2e.helpers import event_count, unit_body
from tests.support.embedded import bearer
from zugong.runtime import SERVICES

pytestmark = pytest.mark.e2e
VOLATILE = {"x-correlation-id", "content-length", "date", "server"}


def test_every_command_route_of_every_service_is_called_directly(tmp_path):
    from services.kernel.metrics import Metrics
    from tests.support.embedded import embedded_settings

    settings = embedded_settings(tmp_path / "var")
    for name, module in SERVICES.items():
        app = module.create_app(settings, metrics=Metrics())
        posts = [r.path for r in _api_routes(app.routes) if "POST" in r.methods]
        direct = [r.path for r in InProcessCommands(app, name)._routes]
        assert posts and direct == posts, name


def test_every_command_is_validated_once_by_the_gateways_route(tmp_path):
    from gateway.app import create_app
    from services.kernel.metrics import Metrics
    from tests.support.embedded import embedded_settings

    settings = embedded_settings(tmp_path / "var")
    gateway = {r.path: r for r in _api_routes(create_app(settings, metrics=Metrics(),
                                                          context=None).routes)
               if "POST" in r.methods}
    assert all(isinstance(r, DirectCommandRoute) and service_app._request_only(r.dependant)
               for r in gateway.values())
    commands = 0
    for name, module in SERVICES.items():
        for route in InProcessCommands(module.create_app(settings, metrics=Metrics()), name)._routes:
            commands += 1
            shared = _shared_parameters(gateway[route.path], route)
            declared = [f.name for f in (*route.dependant.path_params,
                                         *route.dependant.header_params,
                                         *route.dependant.body_params)]
            assert shared is not None and sorted(shared) == sorted(declared), route.path
    assert commands == len(gateway)


async def _scenario(platform, tag: str) -> list[tuple[int, dict, object]]:
    """Success, idempotent replay, key reused with another body, stale and malformed If-Match,
    unknown record, a rule violation and a missing token; the answers with volatile parts
    (ids, tokens) replaced by their shape."""
    admin = platform.admin
    answers = []
    ids: list[str] = []

    def shape(value):
        if isinstance(value, str):
            for known in ids:
                value = value.replace(known, "<id>")
            return value.replace(tag, "<tag>")
        return value

    async def post(url, body, headers):
        response = await platform.post(url, json=body, headers=headers)
        headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
        body = response.json()
        if response.status_code == 201:
            ids.append(body["id"])
            body = {k: type(v).__name__ for k, v in body.items()}
            headers.pop("x-consistency-token")
        answers.append((response.status_code, {k: shape(v) for k, v in headers.items()},
                        {k: shape(v) for k, v in body.items()}))
        return response

    keyed = {**admin, "Idempotency-Key": f"key-{tag}"}
    created = await post("/api/v1/personnel/units", unit_body(name=f"单位{tag}"), keyed)
    await post("/api/v1/personnel/units", unit_body(name=f"单位{tag}"), keyed)
    before = await event_count(platform)
    await post("/api/v1/personnel/units", unit_body(name=f"别的{tag}"), keyed)
    unit = created.json()["id"]
    url = f"/api/v1/personnel/units/{unit}/establishment-adjustments"
    await post(url, {"administrative": 3, "institution": 1}, {**admin, "If-Match": '"1"'})
    before = await event_count(platform)
    await post(url, {"administrative": 4, "institution": 1}, {**admin, "If-Match": '"1"'})
    await post(url, {"administrative": 4, "institution": 1}, {**admin, "If-Match": "yesterday"})
    await post(f"/api/v1/personnel/units/nosuch-{tag}/establishment-adjustments",
               {"administrative": 4, "institution": 1}, admin)
    await post(url, {"administrative": -1, "institution": 1}, admin)
    await post(url, {"administrative": 4, "institution": 1}, {})
    assert await event_count(platform) == before  # nothing rejected was appended
    return answers


async def test_direct_answers_equal_the_service_apps_answers(platform):
    client = platform.app.state.context.services["personnel"]
    direct = await _scenario(platform, "direct")
    metrics = platform.app.state.metrics.registry
    sample = {"app": "personnel", "method": "POST", "route": "/api/v1/personnel/units"}
    assert metrics.get_sample_value("zugong_http_request_duration_seconds_count",
                                    {**sample, "status": "201"}) == 2
    assert metrics.get_sample_value(
        "zugong_commands_total",
        {"service": "personnel", "command": "register_unit", "outcome": "replayed"}) == 1

    commands, client._commands = client._commands, None  # the service's own FastAPI app
    try:
        through_asgi = await _scenario(platform, "asgi")
    finally:
        client._commands = commands
    assert [a[0] for a in direct] == [201, 201, 422, 201, 412, 400, 404, 422, 401]
    assert direct == through_asgi, (direct, through_asgi)


async def _malformed(platform, tag: str) -> list[tuple[int, dict, object]]:
    """Requests the gateway's route does not solve itself: FastAPI's handler answers them."""
    url = "/api/v1/personnel/units"
    admin, viewer = platform.admin, bearer(platform.settings, "viewer")
    raw = "application/json"
    valid = json.dumps(unit_body(name=f"单位{tag}")).encode()
    cases = [
        (admin, raw, b'{"name": '),  # not JSON
        ({}, raw, b'{"name": '),  # not JSON and no token: FastAPI reads the body first
        (admin, "text/plain", b"{}"),  # not a JSON content type
        (admin, "application/json; charset=utf-8", f'{{"name": "{tag}"}}'.encode()),
        (admin, raw, b""),  # no body
        (admin, raw, b"[]"),
        ({**admin, "Idempotency-Key": "k" * 201}, raw, valid),  # a header fails validation
        (viewer, raw, valid),
        (viewer, raw, b"{}"),  # 403 before 422
        ({}, raw, b"{}"),  # 401 before 422
        (admin, raw, b'{"name": "x", "kind": "township", "surprise": 1}'),
    ]
    answers = []
    for headers, content_type, body in cases:
        response = await platform.post(url, content=body,
                                       headers={**headers, "content-type": content_type})
        answers.append((response.status_code,
                        {k: v for k, v in response.headers.items() if k not in VOLATILE},
                        response.content.decode().replace(tag, "<tag>")))
    return answers


async def test_the_gateways_direct_route_answers_as_fastapis_handler(platform, monkeypatch):
    direct = await _scenario(platform, "lean")
    before = await event_count(platform)
    direct_malformed = await _malformed(platform, "lean")
    assert await event_count(platform) == before
    # FastAPI's handler for every request (the route falls back to it when telemetry is on)
    monkeypatch.setattr(service_app, "_get_request_telemetry", lambda: object())
    assert await _scenario(platform, "fastapi") == direct
    assert await _malformed(platform, "fastapi") == direct_malformed
    assert [a[0] for a in direct_malformed] == [422, 422, 422, 422, 422, 422, 422, 403, 403, 401,
                                              422]
