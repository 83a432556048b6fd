"""The operating sub-commands of `zugong`: projections, dlq, store."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from services.kernel.settings import Settings

__all__ = ["dlq_app", "projections_app", "store_app"]

projections_app = typer.Typer(help="Read-model projections: status and rebuilds.",
                              no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: events a projection could not apply.",
                      no_args_is_help=True)
store_app = typer.Typer(help="Event stores: integrity and delivery to the topics.",
                        no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _settings() -> Settings:
    from services.kernel.logging import configure_logging

    settings = Settings()
    configure_logging("WARNING", json=settings.log_json)
    return settings


def _run(coro):
    from zugong.ops.common import OperationError

    try:
        return asyncio.run(coro)
    except OperationError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _ago(moment) -> str:
    if moment is None:
        return "never"
    from datetime import UTC, datetime

    seconds = (datetime.now(UTC) - moment).total_seconds()
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


@projections_app.command("status")
def projections_status(
    as_json: JsonOption = False,
    max_lag: Annotated[int | None, typer.Option(
        help="Exit with status 1 when a projection is further behind than this.")] = None,
) -> None:
    """Per projection: position on each source, lag behind the store heads (embedded) or the
    topics' end offsets (distributed), last applied time, dead letters."""
    from zugong.ops.status import projection_status

    settings = _settings()
    statuses = _run(projection_status(settings))
    if as_json:
        _print_json([s.as_dict() for s in statuses])
    else:
        mode = "distributed (Kafka topics)" if settings.distributed else "embedded (stores)"
        table = Table(title=f"Projections — {mode}")
        for column in ("projection", "source", "position", "head", "lag", "last applied",
                       "dead letters"):
            table.add_column(column, justify="right" if column in ("position", "head", "lag")
                             else "left", overflow="fold")
        for status in statuses:
            letters = ", ".join(f"{n} {k}" for k, n in sorted(status.dead_letters.items())) or "0"
            if not status.sources:
                table.add_row(status.name, "-", "-", "-", "-", "never", letters)
            for i, source in enumerate(status.sources):
                lag = "?" if source.lag is None else f"{source.lag:,}"
                style = "red" if source.lag else None
                table.add_row(status.name if i == 0 else "", source.source,
                              f"{source.position:,}", "?" if source.head is None
                              else f"{source.head:,}", Text(lag, style=style),
                              _ago(source.updated_at), letters if i == 0 else "")
        out.print(table)
    if max_lag is not None and any(s.lag > max_lag for s in statuses):
        raise typer.Exit(1)


class _RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "", style="cyan")


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[list[str] | None, typer.Argument(
        help="Projections to rebuild (default: all).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Build and verify a fresh copy and compare it with the live read "
        "model, but swap nothing.")] = False,
    allow_dead_letters: Annotated[bool, typer.Option(
        help="Swap in even if the replay parked events.")] = False,
    batch_size: Annotated[int | None, typer.Option(help="Events per transaction.")] = None,
    processes: Annotated[int | None, typer.Option(
        help="Processes replaying side by side (embedded, SQLite; default: 2 when the machine "
        "has 2 cores or more).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Replay every event from the beginning (the stores when embedded, the Kafka topics when
    distributed) into fresh tables, verify them, and swap them in while queries keep running.
    Projections fire no side effects during the replay."""
    from zugong.ops.rebuild import rebuild

    settings = _settings()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  _RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                  disable=as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        reports = _run(rebuild(settings, names or None, swap=not dry_run,
                               allow_dead_letters=allow_dead_letters, progress=progress,
                               batch_size=batch_size, processes=processes))
    if as_json:
        _print_json([r.__dict__ | {"rate": r.rate} for r in reports])
    else:
        for report in reports:
            out.print(f"[bold]{report.projection}[/bold]: {report.events:,} events in "
                      f"{report.seconds:.1f}s ({report.rate:,.0f}/s); rows "
                      + ", ".join(f"{t} {n:,}" for t, n in report.rows.items()))
            for check in report.checks:
                out.print(f"  [green]✓[/green] {check}")
            for problem in report.problems:
                out.print(f"  [red]✗[/red] {problem}")
            if report.swapped:
                out.print(f"  [green]swapped in[/green] ({report.swap_seconds * 1000:.0f} ms, "
                          f"attempt {report.attempts})")
            elif report.differences is not None:
                if report.differences:
                    for table, (live, rebuilt) in report.differences.items():
                        out.print(f"  [yellow]≠[/yellow] {table}: {live} rows only live, "
                                  f"{rebuilt} only rebuilt")
                else:
                    out.print("  [green]=[/green] identical to the live read model")
            elif report.problems:
                out.print("  [red]not swapped[/red]: the live read model is unchanged")
    if any(r.problems for r in reports):
        raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list(
    projection: Annotated[str | None, typer.Option(help="Only this projection.")] = None,
    status: Annotated[str, typer.Option(
        help="parked | replayed | discarded | superseded | all")] = "parked",
    limit: Annotated[int, typer.Option()] = 100,
    as_json: JsonOption = False,
) -> None:
    """Dead letters (parked ones by default), oldest first."""
    from zugong.ops.dlq import list_dead_letters

    letters = _run(list_dead_letters(_settings(), projection=projection,
                                     status=None if status == "all" else status, limit=limit))
    if as_json:
        _print_json([letter.as_dict() for letter in letters])
        return
    table = Table(title=f"Dead letters ({status})")
    for column in ("id", "projection", "stream", "version", "type", "source@position", "parked",
                   "status", "reason"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(str(letter.id), letter.projection, letter.stream_id or "-",
                      str(letter.stream_version or "-"), letter.type or "-",
                      f"{letter.source}@{letter.position}", _ago(letter.parked_at),
                      letter.status, letter.reason[:120])
    out.print(table)


@dlq_app.command("show")
def dlq_show(letter_id: Annotated[int, typer.Argument(help="Dead letter id.")]) -> None:
    """One dead letter with its full reason and payload."""
    from zugong.ops.dlq import show

    _print_json(_run(show(_settings(), letter_id)).as_dict(payload=True))


@dlq_app.command("replay")
def dlq_replay(letter_id: Annotated[int, typer.Argument(help="Dead letter id.")]) -> None:
    """Apply a parked event once through its projection (after a fix), with the events held
    behind it on the same stream."""
    from zugong.ops.dlq import replay

    result = _run(replay(_settings(), letter_id))
    out.print(f"replayed {', '.join(map(str, result.replayed))}")


@dlq_app.command("discard")
def dlq_discard(letter_id: Annotated[int, typer.Argument(help="Dead letter id.")]) -> None:
    """Drop a parked event on purpose; it stays in the table as discarded."""
    from zugong.ops.dlq import discard

    letter = _run(discard(_settings(), letter_id))
    out.print(f"dead letter {letter.id} discarded")


@store_app.command("verify")
def store_verify(
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Stream versions and global positions contiguous; in distributed mode, every event up
    to the relay checkpoint on its topic, in stream order."""
    from zugong.ops.verify import verify_stores

    reports = _run(verify_stores(_settings(), service))
    if as_json:
        _print_json([{"service": r.service, "events": r.events, "ok": r.ok,
                      "checks": [c.__dict__ for c in r.checks]} for r in reports])
    else:
        marks = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]",
                 "skip": "[dim]-[/dim]"}
        for report in reports:
            out.print(f"[bold]{report.service}[/bold]: {report.events:,} events")
            for check in report.checks:
                out.print(f"  {marks[check.status]} {check.name}: {check.detail}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)
