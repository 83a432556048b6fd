"""The gateway's HTTP forwarding (distributed mode): the request the service receives, the answer
the client gets, and a 503 problem when the service does not answer."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI, Request

from gateway.forwarding import ServiceClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    answer = {"method": request.method, "raw_path": request.raw_path, "body": body.decode(),
              "headers": headers}
    return web.json_response(answer, status=201, headers={
        "ETag": '"7"', "X-Consistency-Token": "tok", "X-Internal": "not forwarded",
        "Idempotent-Replayed": "false"})


@pytest.fixture
async def service():
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def gateway(client: ServiceClient) -> httpx.AsyncClient:
    app = FastAPI()

    @app.api_route("/{tail:path}", methods=["GET", "POST", "PUT"])
    async def forward(request: Request):
        request.state.correlation_id = "corr-1"
        return await client.forward(request)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_forwards_method_path_query_headers_and_body(service: str) -> None:
    client = ServiceClient("personnel", base_url=service + "/")
    try:
        async with gateway(client) as http:
            for _ in range(3):  # the keep-alive connection is reused
                response = await http.post(
                    "/api/v1/personnel/units/u%2F1/moves?a=1&b=%E4%B8%AD", content=b'{"x": 1}',
                    headers={"Authorization": "Bearer t", "Idempotency-Key": "k1",
                             "If-Match": '"3"', "Content-Type": "application/json",
                             "Cookie": "not=forwarded"})
                assert response.status_code == 201
                echoed = response.json()
                assert echoed["method"] == "POST"
                assert echoed["raw_path"] == "/api/v1/personnel/units/u%2F1/moves?a=1&b=%E4%B8%AD"
                assert json.loads(echoed["body"]) == {"x": 1}
                sent = echoed["headers"]
                assert sent["authorization"] == "Bearer t"
                assert sent["idempotency-key"] == "k1"
                assert sent["if-match"] == '"3"'
                assert sent["content-type"] == "application/json"
                assert sent["x-correlation-id"] == "corr-1"
                assert "cookie" not in sent
                assert response.headers["etag"] == '"7"'
                assert response.headers["x-consistency-token"] == "tok"
                assert response.headers["idempotent-replayed"] == "false"
                assert "x-internal" not in response.headers
        assert (await client.get("/healthz")).status_code == 201
    finally:
        await client.aclose()


async def test_a_service_that_does_not_answer_gives_503_problem() -> None:
    client = ServiceClient("personnel", base_url=f"http://127.0.0.1:{free_port()}")
    try:
        async with gateway(client) as http:
            response = await http.post("/api/v1/personnel/units", json={"name": "x"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        problem = response.json()
        assert problem["status"] == 503 and problem["type"].endswith("/service-unavailable")
        assert "personnel" in problem["detail"]
    finally:
        await client.aclose()
