"""The demo's HTTP client: every command with a deterministic Idempotency-Key, so loading the
demo twice answers the second time from the services' command logs and appends nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import date

import httpx

__all__ = ["DemoApi", "DemoError", "check_digit", "each", "national_id"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits of a national ID."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def national_id(birth: date, gender: str, sequence: int = 1, region: str = "140624") -> str:
    """A valid synthetic 18-character national ID (region 140624 = Huairen): the sequence's
    parity carries the gender, the last character is the checksum."""
    seq = (sequence * 2) % 1000 + (1 if gender == "male" else 0)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_digit(body)


class DemoError(RuntimeError):
    pass


class DemoApi:
    """POSTs commands and GETs queries through the gateway's public API."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str],
                 advance: Callable[[str], None] = lambda section: None) -> None:
        self.client, self.headers, self.advance = client, headers, advance

    @staticmethod
    def key_of(path: str, body: dict) -> str:
        digest = hashlib.sha256(
            (path + "\n" + json.dumps(body, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()
        return f"demo-{digest[:48]}"

    async def post(self, path: str, body: dict | None = None, *, section: str = "",
                   key: str | None = None) -> httpx.Response:
        """The command, keyed by its path and body (or ``key`` when the same command is
        meant twice); retried while a consumer has not yet seen what it refers to."""
        body = body if body is not None else {}
        headers = {**self.headers, "Idempotency-Key": key or self.key_of(path, body)}
        for attempt in range(400):
            try:
                response = await self.client.post(path, json=body, headers=headers)
            except httpx.TransportError:
                if attempt > 20:
                    raise
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 409 and "not-yet-known" in response.text:
                await asyncio.sleep(0.02)
                continue
            if response.status_code >= 500 and attempt < 5:
                await asyncio.sleep(0.2)
                continue
            break
        if response.status_code != 201:
            raise DemoError(f"POST {path} → {response.status_code}: {response.text[:500]}")
        self.advance(section)
        return response

    async def create(self, path: str, body: dict | None = None, **kwargs) -> str:
        return (await self.post(path, body, **kwargs)).json()["id"]

    async def get(self, path: str, token: str | None = None, **params) -> dict:
        """A query; with ``token`` (a command's consistency token) it reads its writes."""
        headers = {**self.headers, **({"X-Consistency-Token": token} if token else {})}
        response = await self.client.get(path, params=params, headers=headers)
        if response.status_code != 200:
            raise DemoError(f"GET {path} → {response.status_code}: {response.text[:500]}")
        return response.json()

    async def all_complete(self, path: str, count: int, token: str | None = None,
                           **params) -> list[dict]:
        """Every page of a list once it holds ``count`` items: the read model may lag behind
        the commands (a consistency wait can time out under load)."""
        for _ in range(600):
            items = await self.all_pages(path, token, **params)
            if len(items) >= count:
                return items
            await asyncio.sleep(0.1)
        raise DemoError(f"{path} still holds {len(items)} of {count} items")

    async def all_pages(self, path: str, token: str | None = None, **params) -> list[dict]:
        items, cursor = [], None
        while True:
            page = await self.get(path, token, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            if not (cursor := page.get("next_cursor")):
                return items


async def each(items, act, concurrency: int = 8) -> None:
    """``act(n, item)`` on every item, a few at a time (independent streams)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n, item):
        async with gate:
            await act(n, item)

    await asyncio.gather(*(one(n, item) for n, item in enumerate(items)))
