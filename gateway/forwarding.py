"""Command forwarding to the owning service: in-process (ASGI) when embedded, HTTP otherwise."""

from __future__ import annotations

import httpx
from fastapi import Request
from fastapi.responses import Response

from services.kernel.http import problem_response

__all__ = ["ServiceClient"]

_FORWARDED_REQUEST_HEADERS = ("authorization", "idempotency-key", "if-match", "content-type",
                              "x-correlation-id", "x-causation-id")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "etag", "location", "x-consistency-token",
                               "idempotent-replayed", "www-authenticate")


class ServiceClient:
    """Forwards a command to one service. ``app`` for in-process, ``base_url`` for HTTP."""

    def __init__(self, name: str, *, base_url: str | None = None, app=None,
                 timeout: float = 30.0) -> None:
        self.name = name
        if app is not None:
            transport = httpx.ASGITransport(app=app)
            self._client = httpx.AsyncClient(transport=transport, base_url="http://in-process",
                                             timeout=timeout)
        else:
            self._client = httpx.AsyncClient(
                base_url=base_url, timeout=timeout,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=100))

    async def forward(self, request: Request) -> Response:
        headers = {h: request.headers[h] for h in _FORWARDED_REQUEST_HEADERS
                   if h in request.headers}
        headers["x-correlation-id"] = request.state.correlation_id
        try:
            upstream = await self._client.request(
                request.method, request.url.path, content=await request.body(),
                headers=headers, params=request.query_params)
        except httpx.HTTPError as error:
            return problem_response(
                503, "Service unavailable",
                f"the {self.name} service did not answer ({type(error).__name__}); "
                "retry later", slug="service-unavailable", headers={"Retry-After": "1"})
        out = {h: upstream.headers[h] for h in _FORWARDED_RESPONSE_HEADERS
               if h in upstream.headers}
        return Response(content=upstream.content, status_code=upstream.status_code,
                        headers=out)

    async def get(self, path: str) -> httpx.Response:
        return await self._client.get(path)

    async def aclose(self) -> None:
        await self._client.aclose()
