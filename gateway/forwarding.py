"""Command forwarding to the owning service: in-process when embedded (the service route's
endpoint called directly, or through ASGI for a route that cannot be), HTTP otherwise.

Over HTTP the gateway uses aiohttp with keep-alive connections: httpx cost ≈ 1.5 ms of CPU per
forwarded request on this machine (httpcore's pool bookkeeping, anyio, and a failing import on
every request), aiohttp ≈ 0.18 ms — with the gateway, four services, relays, the projector,
PostgreSQL and Kafka on two cores, that was the gateway's largest cost.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp
import httpx
from fastapi import Request
from fastapi.responses import Response
from yarl import URL

from services.kernel.http import problem_response
from services.kernel.service_app import InProcessCommands

__all__ = ["ServiceClient"]

_FORWARDED_REQUEST_HEADERS = ("authorization", "idempotency-key", "if-match", "content-type",
                              "x-correlation-id", "x-causation-id")
_FORWARDED_RESPONSE_HEADERS = ("content-type", "etag", "location", "x-consistency-token",
                               "idempotent-replayed", "www-authenticate")
_FORWARDED_RESPONSE_RAW = frozenset(h.encode() for h in _FORWARDED_RESPONSE_HEADERS)
_KEEPALIVE_SECONDS = 4.0  # below uvicorn's 5 s: never reuse a connection the service is closing


class ServiceClient:
    """Forwards a command to one service. ``app`` for in-process, ``base_url`` for HTTP."""

    def __init__(self, name: str, *, base_url: str | None = None, app=None,
                 timeout: float = 30.0) -> None:
        self.name = name
        self._app = app
        self._client: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeout = timeout
        self._commands = InProcessCommands(app, name) if app is not None else None
        if app is not None:
            transport = httpx.ASGITransport(app=app)
            self._client = httpx.AsyncClient(transport=transport, base_url="http://in-process",
                                             timeout=timeout)
        else:
            self._base_url = (base_url or "").rstrip("/")

    def _http(self) -> aiohttp.ClientSession:
        """The keep-alive session, made in the running loop on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=_KEEPALIVE_SECONDS),
                timeout=aiohttp.ClientTimeout(total=self._timeout), auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"))
        return self._session

    async def forward(self, request: Request) -> Response:
        if self._commands is not None:
            answer = await self._commands.call(request)
            if answer is not None:
                return answer
        headers = {h: request.headers[h] for h in _FORWARDED_REQUEST_HEADERS
                   if h in request.headers}
        headers["x-correlation-id"] = request.state.correlation_id
        if self._app is not None:
            return await self._forward_in_process(request, headers)
        scope = request.scope
        path = scope.get("raw_path") or quote(scope["path"]).encode()
        query = scope.get("query_string", b"")
        target = self._base_url + path.decode("latin-1") + \
            (f"?{query.decode('latin-1')}" if query else "")
        try:
            async with self._http().request(request.method, URL(target, encoded=True),
                                            data=await request.body(),
                                            headers=headers) as upstream:
                content = await upstream.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            return problem_response(
                503, "Service unavailable",
                f"the {self.name} service did not answer ({type(error).__name__}); "
                "retry later", slug="service-unavailable", headers={"Retry-After": "1"})
        out = {h: upstream.headers[h] for h in _FORWARDED_RESPONSE_HEADERS
               if h in upstream.headers}
        return Response(content=content, status_code=upstream.status, headers=out)

    async def _forward_in_process(self, request: Request, headers: dict[str, str]) -> Response:
        """Call the service's ASGI app directly: the same request the HTTP path would send,
        without httpx's request and response models and its transport machinery (which
        cost more per command than the command itself)."""
        body = await request.body()
        headers["content-length"] = str(len(body))
        path = request.scope["path"]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": request.method, "scheme": "http", "path": path,
            "raw_path": path.encode(), "root_path": "",
            "query_string": request.scope.get("query_string", b""),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            "client": ("127.0.0.1", 0), "server": ("in-process", 80), "extensions": {},
        }
        sent_body = False
        done = asyncio.Event()
        status = 500
        out: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out.extend((k, v) for k, v in message.get("headers", ())
                           if k.lower() in _FORWARDED_RESPONSE_RAW)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self._app(scope, receive, send)
        except Exception:
            if not done.is_set():  # the app failed before answering: the gateway answers 500
                raise
        finally:
            done.set()
        response = Response(content=b"".join(chunks), status_code=status)
        response.raw_headers = [h for h in response.raw_headers
                                if h[0] != b"content-type"] + out
        return response

    async def get(self, path: str) -> httpx.Response:
        if self._client is not None:
            return await self._client.get(path)
        async with self._http().get(URL(self._base_url + path, encoded=True)) as upstream:
            return httpx.Response(upstream.status, content=await upstream.read(),
                                  headers=list(upstream.headers.items()))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._session is not None:
            await self._session.close()
