"""`make bench`: Zugong's speed side by side with its natural baselines, measured in one run.

Prints a table (medians over repeated runs, ratios against the baselines of the same run) and
writes it with the machine description to BENCHMARKS.md. A program, never a timed test.

    uv run --group bench python -m benchmarks            # everything (~15-25 min)
    uv run --group bench python -m benchmarks --quick    # smaller sets, one run each
    uv run --group bench python -m benchmarks --only write,queries
    uv run --group bench python -m benchmarks --quick --only queries --cadres 100000 --data /tmp/q
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import scenarios as sc
from benchmarks.processes import REPO, self_peak_rss_mb

SECTIONS = ("write", "diagnostics", "freshness", "rebuild", "queries", "distributed", "pipeline")
console = Console(soft_wrap=True)


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def section(self, title: str) -> None:
        self.rows.append((f"**{title}**", "", "", "", "", ""))

    def add(self, what: str, rate: str = "", p50: str = "", p99: str = "", ratio: str = "",
            verdict: str = "") -> None:
        self.rows.append((what, rate, p50, p99, ratio, verdict))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def per_s(value: float) -> str:
    return f"{value:,.0f}/s"


def verdict(ok: bool, target: str) -> str:
    return f"{'met' if ok else 'MISSED'} ({target})"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory = f"{int(memory.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown"
    postgres = "unknown"
    try:
        from zugong.devinfra.postgres import find_postgres_bindir

        postgres = subprocess.run([str(find_postgres_bindir() / "postgres"), "--version"],
                                  capture_output=True, text=True).stdout.strip()
    except Exception:
        pass
    from zugong.devinfra.kafka import DEFAULT_KAFKA_VERSION

    return {"CPU": f"{cpu}, {os.cpu_count()} logical cores", "Memory": memory,
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version,
            "PostgreSQL": postgres, "Kafka": f"Apache Kafka {DEFAULT_KAFKA_VERSION} (KRaft, one node)"}


async def run(args: argparse.Namespace, workdir: Path) -> tuple[Results, sc.Context, dict]:
    ctx = sc.Context(workdir, runs=args.runs, seconds=args.seconds, concurrency=args.concurrency)
    results = Results()
    figures: dict[str, float] = {}
    only = set(args.only.split(",")) if args.only else set(SECTIONS)

    if "write" in only:
        console.print("[bold]write path[/bold]: embedded platform, bare endpoint, eventsourcing")
        async with sc.embedded_platform(ctx, workdir / "var-write") as (port, _):
            embedded = await sc.write_path(ctx, port)
        async with sc.bare_endpoint(ctx) as (port, _):
            bare = await sc.write_path(ctx, port)
        library = sc.eventsourcing_baseline(ctx, "default")
        library_normal = sc.eventsourcing_baseline(ctx, "normal")
        rate = sc.median(embedded, "rate")
        figures.update(write_embedded=rate, write_bare=sc.median(bare, "rate"),
                       write_library=sc.median(library, "rate"),
                       write_library_normal=sc.median(library_normal, "rate"))
        results.section(f"Write path — register a unit, {ctx.concurrency} connections, "
                        f"{ctx.seconds:.0f} s x {ctx.runs}")
        results.add("Zugong embedded (gateway → service → SQLite, projector in-process), HTTP",
                    per_s(rate), ms(sc.median(embedded, "p50")), ms(sc.median(embedded, "p99")),
                    "", verdict(rate >= 2000, "≥ 2,000/s"))
        results.add("baseline: bare FastAPI endpoint, same server settings, HTTP",
                    per_s(figures["write_bare"]), ms(sc.median(bare, "p50")),
                    ms(sc.median(bare, "p99")), f"Zugong = {rate / figures['write_bare']:.0%}",
                    verdict(rate >= 0.4 * figures["write_bare"], "≥ 40%"))
        results.add("baseline: eventsourcing → SQLite in-process (library defaults: "
                    "synchronous=FULL)", per_s(figures["write_library"]),
                    ms(sc.median(library, "p50")), ms(sc.median(library, "p99")),
                    f"Zugong = {rate / figures['write_library']:.1f}x",
                    verdict(rate >= 1.5 * figures["write_library"], "≥ 1.5x"))
        results.add("baseline: eventsourcing → SQLite in-process (synchronous=NORMAL, "
                    "Zugong's durability)", per_s(figures["write_library_normal"]),
                    ms(sc.median(library_normal, "p50")), ms(sc.median(library_normal, "p99")),
                    f"Zugong = {rate / figures['write_library_normal']:.2f}x",
                    verdict(rate >= 1.5 * figures["write_library_normal"], "≥ 1.5x"))

    if "diagnostics" in only:
        console.print("[bold]diagnostics[/bold]: SQLite statement round trips")
        trips = await sc.sqlite_round_trips(ctx)
        results.section("Diagnostics — one event store on SQLite, sequential calls (no HTTP)")
        for label, values in trips.items():
            if "appends" in values:
                results.add(f"EventStore.append, {label}", per_s(values["appends"]))
            results.add(f"one-row read (EventStore.stream_version), {label}",
                        per_s(values["reads"]))

    if "freshness" in only:
        console.print("[bold]freshness[/bold]: embedded at a steady rate")
        var = workdir / "var-fresh"
        async with sc.embedded_platform(ctx, var, "embedded platform") as (port, _):
            fresh = await sc.freshness(ctx, port, f"sqlite+aiosqlite:///{var}/readmodel.db",
                                       rate=args.rate)
            calm = await sc.freshness(ctx, port, f"sqlite+aiosqlite:///{var}/readmodel.db",
                                      rate=args.low_rate, start=10_000_000)
        p99 = sc.median(fresh, "p99")
        results.section("Freshness — command accepted → visible in the read model the gateway "
                        "reads (polled every 1 ms)")
        results.add(f"Zugong embedded, {args.rate:.0f} commands/s offered",
                    per_s(sc.median(fresh, "rate")), ms(sc.median(fresh, "p50")),
                    ms(p99), "", verdict(p99 <= 0.020, "p99 ≤ 20 ms"))
        results.add(f"Zugong embedded, {args.low_rate:.0f} commands/s offered",
                    per_s(sc.median(calm, "rate")), ms(sc.median(calm, "p50")),
                    ms(sc.median(calm, "p99")), "", "")

    if "rebuild" in only:
        console.print(f"[bold]rebuild[/bold]: writing {args.rebuild_events:,} events "
                      f"({args.cadres:,} cadres)")
        var = workdir / "var-history"
        started = time.perf_counter()
        written = await sc.build_history(ctx, var, args.rebuild_events, args.cadres)
        ctx.notes.append(f"history: {written:,} events written in "
                         f"{time.perf_counter() - started:.0f} s")
        console.print("[bold]rebuild[/bold]: zugong projections rebuild")
        rebuilt = await asyncio.to_thread(sc.rebuild, ctx, var, args.rebuild_runs)
        rate = sc.median(rebuilt, "rate")
        figures["rebuild"] = rate
        results.section(f"Rebuild — {written:,} events from the store into fresh read models, "
                        f"verified and swapped in ({args.rebuild_runs} run)")
        results.add(f"zugong projections rebuild: replay into all "
                    f"{rebuilt[0]['projections']} projections (events ÷ replay wall time)",
                    per_s(rate), "", "",
                    f"replay {sc.median(rebuilt, 'replay_seconds'):.1f} s (CPU "
                    f"{sc.median(rebuilt, 'replay_cpu_seconds'):.1f} s, every replay process); "
                    f"whole command (replay, "
                    f"verify, swap, start-up) {sc.median(rebuilt, 'wall_seconds'):.1f} s, swaps "
                    f"{sc.median(rebuilt, 'swap_ms'):.0f} ms", verdict(rate >= 50_000, "≥ 50,000/s"))
        results.add("zugong projections rebuild: whole command (events ÷ wall time)",
                    per_s(sc.median(rebuilt, "events") / sc.median(rebuilt, "wall_seconds")),
                    "", "", "", "")

    if "queries" in only:
        var = await query_data(ctx, args, workdir, reuse=workdir / "var-history"
                               if "rebuild" in only else None)
        console.print("[bold]queries[/bold]: over the rebuilt read model")
        async with sc.embedded_platform(ctx, var, "embedded platform (queries)") as (port, _):
            measured = await sc.queries(ctx, port, var, (1, args.query_concurrency))
        results.section(f"Queries — {args.cadres:,} cadres, embedded; each query alone "
                        f"(1 connection) and under load ({args.query_concurrency} connections), "
                        f"{ctx.seconds:.0f} s x {ctx.runs}")
        for label, runs in measured.items():
            p99 = sc.median(runs, "p99")
            target = sc.query_target(label)
            results.add(label, per_s(sc.median(runs, "rate")), ms(sc.median(runs, "p50")),
                        ms(p99), "", verdict(p99 <= target, f"p99 ≤ {target * 1000:.0f} ms"))

    if only & {"distributed", "pipeline"}:
        console.print("[bold]infrastructure[/bold]: Kafka and PostgreSQL")
        async with sc.infrastructure(ctx) as infra:
            if "distributed" in only:
                console.print("[bold]write path[/bold]: distributed")
                async with sc.distributed_platform(ctx, infra, "dist-write") as (port, _, _env):
                    distributed = await sc.write_path(ctx, port)
                console.print("[bold]freshness[/bold]: distributed")
                async with sc.distributed_platform(ctx, infra, "dist-fresh") as (port, _, env):
                    fresh = await sc.freshness(ctx, port, env["ZUGONG_DATABASE__READMODEL_URL"],
                                               rate=args.rate)
                    calm = await sc.freshness(ctx, port, env["ZUGONG_DATABASE__READMODEL_URL"],
                                              rate=args.low_rate, start=10_000_000)
                rate = sc.median(distributed, "rate")
                results.section("Distributed — gateway, service, relay, projector as processes; "
                                "PostgreSQL and Kafka")
                ratio = (f"{rate / figures['write_bare']:.0%} of bare"
                         if "write_bare" in figures else "")
                results.add("write path (HTTP through the gateway)", per_s(rate),
                            ms(sc.median(distributed, "p50")), ms(sc.median(distributed, "p99")),
                            ratio, "")
                p99 = sc.median(fresh, "p99")
                results.add(f"freshness, {args.rate:.0f} commands/s offered",
                            per_s(sc.median(fresh, "rate")), ms(sc.median(fresh, "p50")), ms(p99),
                            "", verdict(p99 <= 0.100, "p99 ≤ 100 ms"))
                results.add(f"freshness, {args.low_rate:.0f} commands/s offered",
                            per_s(sc.median(calm, "rate")), ms(sc.median(calm, "p50")),
                            ms(sc.median(calm, "p99")), "", "")
            if "pipeline" in only:
                console.print(f"[bold]pipeline[/bold]: {args.pipeline_events:,} events")
                ours, raw = await sc.pipeline(ctx, infra, args.pipeline_events)
                rate, raw_rate = sc.median(ours, "rate"), sc.median(raw, "rate")
                results.section(f"Pipeline — {args.pipeline_events:,} stored events → relay → "
                                "Kafka → projector → PostgreSQL read model (steady state)")
                results.add("Zugong pipeline", per_s(rate), "", "",
                            f"{rate / raw_rate:.0%} of raw",
                            verdict(rate >= 20_000 and rate >= 0.3 * raw_rate,
                                    "≥ 20,000/s and ≥ 30% of raw"))
                results.add("baseline: raw aiokafka produce + consume, same broker and payloads",
                            per_s(raw_rate))
                results.add("diagnostic: the relay alone (store → Kafka, no projector)",
                            per_s(sc.median(ours, "relay")))
                cpu = {name: statistics.median(run["cpu_us"][name] for run in ours)
                       for name in ours[0]["cpu_us"]}
                results.add("diagnostic: CPU per event, 10%→100% (µs): " + ", ".join(
                    f"{name} {value:.0f}" for name, value in cpu.items())
                    + f"; total {sum(cpu.values()):.0f}")
    return results, ctx, figures


async def query_data(ctx: sc.Context, args: argparse.Namespace, workdir: Path,
                     reuse: Path | None) -> Path:
    """The folder whose stores and read model the queries run over: the rebuild section's when
    it ran; else ``--data`` when it already holds this many cadres (kept between runs to save
    the build); else a fresh history of ``--cadres`` recruitments (a cadre and its slot each,
    2,000 units) rebuilt into a read model by `zugong projections rebuild`."""
    if reuse is not None:
        return reuse
    var = args.data or workdir / "var-queries"
    marker = var / "bench-cadres.txt"
    if marker.exists() and marker.read_text().strip() == str(args.cadres):
        ctx.notes.append(f"queries: history and read model reused from {var}")
        return var
    if var.exists():
        shutil.rmtree(var)
    events = 2 * args.cadres + 2000
    console.print(f"[bold]queries[/bold]: writing {events:,} events ({args.cadres:,} cadres)")
    started = time.perf_counter()
    written = await sc.build_history(ctx, var, events, args.cadres)
    console.print("[bold]queries[/bold]: zugong projections rebuild (builds the read model)")
    rebuilt = await asyncio.to_thread(sc.rebuild, ctx, var, 1)
    ctx.notes.append(f"queries: history of {written:,} events written and rebuilt into the read "
                     f"model in {time.perf_counter() - started:.0f} s "
                     f"(replay {sc.median(rebuilt, 'rate'):,.0f} events/s)")
    marker.write_text(str(args.cadres))
    return var


def render(results: Results, ctx: sc.Context, info: dict, args, seconds: float,
           loads: tuple) -> str:
    table = Table(title="Zugong benchmarks (medians)", show_lines=False)
    for column in ("", "throughput", "p50", "p99", "vs baseline", "target"):
        table.add_column(column, overflow="fold")
    for row in results.rows:
        table.add_row(*[cell.replace("**", "") for cell in row],
                      style="bold" if row[0].startswith("**") else None)
    console.print(table)
    rss = sorted(ctx.rss.items(), key=lambda kv: -kv[1])
    rss.append(("benchmark driver (this program)", self_peak_rss_mb()))
    lines = ["# Benchmarks", "",
             f"Measured by `make bench` (`python -m benchmarks`) on "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {seconds / 60:.0f} min: medians of "
             f"{ctx.runs} runs of "
             f"{ctx.seconds:.0f} s each unless said otherwise; every ratio is against a baseline "
             "measured in the same run of the program.", "",
             "## Machine", ""]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    lines += [f"- **Load average** (1, 5, 15 min) at start {loads[0]}, at end {loads[1]}. "
              "This machine is shared with other engineers running test suites: the figures "
              "are noisy and pessimistic.", ""]
    lines += ["## Results", "", "| | throughput | p50 | p99 | vs baseline | target |",
              "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in results.rows]
    lines += ["", "## Peak resident memory (VmHWM) per process", "", "| process | peak RSS |",
              "|---|---|"]
    lines += [f"| {label} | {value:,.0f} MiB |" for label, value in rss]
    if ctx.notes:
        lines += ["", "## Notes from the run", ""] + [f"- {n}" for n in ctx.notes]
    lines += ["", f"Command: `python -m benchmarks {' '.join(args.argv)}`".rstrip() + "", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sets, one short run each")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0, help="freshness command rate")
    parser.add_argument("--low-rate", type=float, default=25.0,
                        help="a second freshness rate the platform sustains on this machine")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000)
    parser.add_argument("--cadres", type=int, default=100_000)
    parser.add_argument("--pipeline-events", type=int, default=30_000)
    parser.add_argument("--rebuild-runs", type=int, default=1,
                        help="runs of the (long) rebuild; the other sections use --runs")
    parser.add_argument("--query-concurrency", type=int, default=8,
                        help="connections for the loaded query runs (each query also runs alone)")
    parser.add_argument("--data", type=Path,
                        help="queries: keep the history and read model in this folder and reuse "
                             "it on the next run with the same --cadres")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    if args.quick:
        args.runs, args.seconds = 1, 2.0
        given = " ".join(args.argv)  # sizes given explicitly win over --quick's
        # the pipeline keeps its 30,000 events: the projector's batches (up to 5,000 events
        # under a backlog) would leave no steady state to measure in fewer
        for name, value in (("rebuild_events", 50_000), ("cadres", 5_000)):
            if f"--{name.replace('_', '-')}" not in given:
                setattr(args, name, value)
    workdir = Path(tempfile.mkdtemp(prefix="zugong-bench-"))
    workdir.chmod(0o755)
    started, load = time.monotonic(), os.getloadavg()
    info = machine()
    try:
        results, ctx, _ = asyncio.run(run(args, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(results, ctx, info, args, time.monotonic() - started,
                  (", ".join(f"{x:.1f}" for x in load),
                   ", ".join(f"{x:.1f}" for x in os.getloadavg())))
    args.out.write_text(merge(args.out, text))
    console.print(f"wrote {args.out}")


START, END = "<!-- results:start (written by make bench) -->", "<!-- results:end -->"


def merge(path: Path, results: str) -> str:
    """The new results between the markers; the hand-written analysis around them is kept."""
    block = f"{START}\n{results}\n{END}"
    if path.exists():
        old = path.read_text()
        if START in old and END in old:
            return old[:old.index(START)] + block + old[old.index(END) + len(END):]
    return block + "\n\n## Analysis\n\n(what limits each figure; not rewritten by make bench)\n"


if __name__ == "__main__":
    main()
