"""Write-path baseline: the `eventsourcing` library (pyeventsourcing) saving new aggregates
to SQLite in-process — no HTTP — for comparison with Zugong's commands over HTTP.

Run by the benchmark in its own process: prints one JSON line with the rate, latencies and
peak RSS."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Unit(Aggregate):
    @event("Registered")
    def __init__(self, name: str, kind: str, administrative: int, institution: int) -> None:
        self.name, self.kind = name, kind
        self.administrative, self.institution = administrative, institution


class Units(Application):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--synchronous", choices=["default", "normal"], default="default",
                        help="normal: PRAGMA synchronous=NORMAL, the durability Zugong's store "
                        "uses (WAL, no fsync per commit); default: the library's (FULL)")
    args = parser.parse_args()
    if args.synchronous == "normal":
        from eventsourcing.sqlite import SQLiteConnectionPool

        create = SQLiteConnectionPool._create_connection

        def create_normal(self):
            connection = create(self)
            connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
            return connection

        SQLiteConnectionPool._create_connection = create_normal
    app = Units(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": args.db})
    latencies: list[float] = []
    n = 0
    measure_from = time.perf_counter() + args.warmup
    stop_at = measure_from + args.seconds
    while (started := time.perf_counter()) < stop_at:
        app.save(Unit(f"单位{n}", "township", 5, 5))
        n += 1
        if started >= measure_from:
            latencies.append(time.perf_counter() - started)
    latencies.sort()
    print(json.dumps({
        "rate": len(latencies) / args.seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99)],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
