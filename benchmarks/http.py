"""A minimal HTTP/1.1 keep-alive client on asyncio streams, and load generators.

Deliberately tiny (tens of microseconds per request) so that on a 2-core machine the client
takes as little CPU as possible from the server it measures; the same client drives the
platform and the bare-endpoint baseline, so their ratio is fair.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Connection", "LoadResult", "closed_loop", "open_loop"]


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {host}:{port}\r\n{extra}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def request(self, method: str, path: str, body: dict | None = None,
                      headers: str = "") -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\n{self._head}{headers}"
                f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n")
        self.writer.write(head.encode() + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            return status, data
        return status, await self.reader.readexactly(length)


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


Request = Callable[[Connection, int], Awaitable[int]]
"""Sends request number n on the connection; returns the HTTP status."""


async def closed_loop(connect: Callable[[], Connection], request: Request, *, concurrency: int,
                      seconds: float, warmup: float = 1.0, start: int = 0) -> LoadResult:
    """``concurrency`` connections, each sending its next request as soon as the previous is
    answered, for ``warmup`` + ``seconds``; only the measured window is reported."""
    counter = iter(range(start, 1 << 62))
    result = LoadResult(seconds)
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + seconds

    async def worker() -> None:
        connection = await connect().open()
        try:
            while (now := time.perf_counter()) < stop_at:
                try:
                    status = await request(connection, next(counter))
                except (ConnectionError, asyncio.IncompleteReadError, OSError):
                    result.errors += 1
                    await connection.close()
                    connection = await connect().open()
                    continue
                done = time.perf_counter()
                if now >= measure_from:
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    if status < 400:
                        result.latencies.append(done - now)
                    else:
                        result.errors += 1
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


async def open_loop(connect: Callable[[], Connection], request: Request, *, rate: float,
                    seconds: float, connections: int = 32, start: int = 0) -> LoadResult:
    """Requests started at a steady ``rate`` per second (not waiting for answers), over a
    pool of ``connections``; latencies are measured from each request's scheduled time."""
    result = LoadResult(seconds)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await connect().open())
    began = time.perf_counter()
    tasks = []

    async def one(n: int, scheduled: float) -> None:
        connection = await pool.get()
        try:
            status = await request(connection, n)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status < 400:
                result.latencies.append(time.perf_counter() - scheduled)
            else:
                result.errors += 1
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            result.errors += 1
            connection = await connect().open()
        finally:
            pool.put_nowait(connection)

    total = int(rate * seconds)
    for n in range(total):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(start + n, scheduled)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began
    while not pool.empty():
        await pool.get_nowait().close()
    return result
