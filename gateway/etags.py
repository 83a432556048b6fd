"""ETags for every JSON answer of a GET that does not set its own: a weak content hash, so that
`If-None-Match` answers 304 on any resource or list (routes with a record version set a strong
ETag themselves and are left alone). Event streams pass through untouched."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from starlette.responses import Response

__all__ = ["install_etags"]


def _matches(etag: str, if_none_match: str | None) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def install_etags(app: FastAPI) -> None:
    @app.middleware("http")
    async def _etag(request: Request, call_next):
        response = await call_next(request)
        if (request.method != "GET" or response.status_code != 200 or "etag" in response.headers
                or not response.headers.get("content-type", "").startswith("application/json")):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers["ETag"] = etag
        if _matches(etag, request.headers.get("if-none-match")):
            return Response(status_code=304, headers={k: v for k, v in headers.items()
                                                      if k.lower() != "content-type"})
        return Response(body, status_code=200, headers=headers)
