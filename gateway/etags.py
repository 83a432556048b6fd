"""ETags for every JSON answer of a GET that does not set its own: a weak content hash, so that
`If-None-Match` answers 304 on any resource or list (routes with a record version set a strong
ETag themselves and are left alone). Event streams pass through untouched."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI

__all__ = ["ETagMiddleware", "install_etags"]


def _matches(etag: str, if_none_match: str | None) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def install_etags(app: FastAPI) -> None:
    app.add_middleware(ETagMiddleware)


class ETagMiddleware:
    """A pure ASGI middleware (``@app.middleware("http")`` would run every request, commands
    included, through extra tasks and memory streams): anything but a GET passes straight
    through; a GET's answer is buffered only when it is a 200 JSON answer without an ETag."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []

        async def buffering_send(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", ())}
                if (message["status"] == 200 and b"etag" not in headers
                        and headers.get(b"content-type", b"").startswith(b"application/json")):
                    start = message
                    return
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._answer(scope, start, b"".join(chunks), send)
                return
            await send(message)

        await self.app(scope, receive, buffering_send)

    @staticmethod
    async def _answer(scope, start: dict, body: bytes, send) -> None:
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
        headers.append((b"etag", etag.encode()))
        if_none_match = next((v.decode("latin-1") for k, v in scope["headers"]
                              if k == b"if-none-match"), None)
        if _matches(etag, if_none_match):
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
