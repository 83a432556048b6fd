"""The `zugong` command: run the platform (embedded or one process of the distributed mode),
mint development tokens, run a local Kafka broker, export contract schemas, and operate it
(projections status/rebuild, dead letters, store verification: see zugong/ops/)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.kernel.logging import configure_logging
from services.kernel.settings import Settings
from zugong.ops.cli import dlq_app, projections_app, store_app

app = typer.Typer(help="Zugong (组工) platform command line.", no_args_is_help=True,
                  add_completion=False)
kafka_app = typer.Typer(help="A local Apache Kafka broker (KRaft) from Maven jars.",
                        no_args_is_help=True)
contracts_app = typer.Typer(help="Event contracts: JSON Schemas.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo year (a county like Huairen) through the HTTP API.",
                       no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(demo_app, name="demo")
app.add_typer(contracts_app, name="contracts")
app.add_typer(projections_app, name="projections")
app.add_typer(dlq_app, name="dlq")
app.add_typer(store_app, name="store")
console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


def _serve(fastapi_app, host: str, port: int, settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(fastapi_app, host=host, port=port, log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()


def _demo_token(settings: Settings) -> str:
    from services.kernel.auth import TokenIssuer
    from zugong.demo import DEMO_SUBJECT

    return TokenIssuer(settings.auth.jwt_secret, issuer=settings.auth.issuer,
                       audience=settings.auth.audience).mint(DEMO_SUBJECT, "admin")


def _load_demo_in_background(base_url: str, token: str, dashboard: str) -> None:
    """The demo loads through the HTTP API from a thread of its own, so the server answers
    meanwhile; nothing is loaded when the platform already holds data."""
    import threading

    from zugong.demo import load_over_http

    def work() -> None:
        try:
            sent = asyncio.run(load_over_http(base_url, token, console=console,
                                              only_if_empty=True))
        except Exception as error:  # the server keeps running without the demo
            console.print(f"[red]demo load failed:[/red] {error}")
            return
        if sent is None:
            console.print("store not empty: demo not loaded (`zugong demo load` forces it)")
        else:
            console.print(f"demo year loaded ({sum(sent.values())} commands): {dashboard}")

    threading.Thread(target=work, name="demo-loader", daemon=True).start()


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Bind port.")] = None,
    demo: Annotated[bool, typer.Option(
        "--demo/--no-demo", envvar="ZUGONG_DEMO",
        help="Load the demo year when the store is empty (ZUGONG_DEMO=0 turns it off).")] = True,
) -> None:
    """Start the whole platform in one process (SQLite under var/, no broker); on an empty
    store, load the demo year in the background."""
    from services.kernel.auth import TokenIssuer
    from zugong.runtime import create_embedded_app

    settings = _settings()
    host = host or settings.gateway.host
    port = port or settings.gateway.port
    token = TokenIssuer(settings.auth.jwt_secret, issuer=settings.auth.issuer,
                        audience=settings.auth.audience).mint("dev-admin", "admin")
    base = f"http://{host}:{port}"
    console.print(f"[bold]Zugong[/bold] embedded — data in {settings.var_dir.resolve()}")
    console.print(f"  API      {base}/api/v1   docs {base}/docs")
    console.print(f"  health   {base}/healthz  {base}/readyz   metrics {base}/metrics")
    console.print("  admin token (development, 30 days):")
    print(token, flush=True)
    console.print(f"  try: curl -H 'Authorization: Bearer <token>' {base}/api/v1/cadres")
    console.print("  Ctrl-C stops.")
    if demo:
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        _load_demo_in_background(f"http://{local}:{port}", _demo_token(settings),
                                 f"{base}/api/v1/dashboard?from=2025-01-01&to=2025-12-31")
    _serve(create_embedded_app(settings), host, port, settings)


@app.command()
def token(
    role: Annotated[str, typer.Option(
        help="A role: admin, personnel_officer, training_officer, talent_officer, "
        "governance_officer, township_operator, operator, viewer.")] = "admin",
    subject: Annotated[str, typer.Option(help="Who the token names (sub).")] = "dev-user",
    township: Annotated[str | None, typer.Option(help="Township claim (operators).")] = None,
    ttl_hours: Annotated[int, typer.Option(help="Validity in hours.")] = 24 * 30,
) -> None:
    """Mint a development token signed with the development secret."""
    from services.kernel.auth import TokenIssuer

    settings = Settings()
    if settings.environment == "production":
        console.print("refusing to mint tokens in production: use your identity provider")
        raise typer.Exit(2)
    issuer = TokenIssuer(settings.auth.jwt_secret, issuer=settings.auth.issuer,
                         audience=settings.auth.audience)
    try:
        print(issuer.mint(subject, role, township=township, ttl_seconds=ttl_hours * 3600))
    except ValueError as error:
        console.print(str(error))
        raise typer.Exit(2) from None


@app.command()
def serve(
    service: Annotated[str, typer.Argument(
        help="Service to run: personnel, training, talent, governance.")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8101,
) -> None:
    """Run one service's command API as its own process (distributed mode)."""
    from zugong.runtime import create_service_app

    settings = _settings()
    _serve(create_service_app(service, settings), host, port, settings)


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the gateway alone (distributed mode): read models + forwarding over HTTP."""
    from zugong.runtime import create_distributed_gateway

    settings = _settings()
    _serve(create_distributed_gateway(settings), host or settings.gateway.host,
           port or settings.gateway.port, settings)


@app.command()
def relay(service: Annotated[str, typer.Argument(help="Service whose store to relay.")]) -> None:
    """Publish a service's stored events to Kafka (outbox relay). With ZUGONG_METRICS_PORT it
    serves /metrics, /healthz and /readyz (store reachable, broker acknowledging) there."""
    from services.kernel.metrics import Metrics
    from services.kernel.ops_server import serve_ops
    from zugong.runtime import build_relay, relay_readiness

    settings = _settings()
    if not settings.kafka.bootstrap_servers:
        console.print("set ZUGONG_KAFKA__BOOTSTRAP_SERVERS")
        raise typer.Exit(2)
    metrics = Metrics()

    async def main() -> None:
        from services.kernel.kafka_admin import ensure_topics

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        the_relay = build_relay(service, settings, metrics)
        ops = None
        if settings.metrics_port:
            ops = asyncio.create_task(serve_ops(settings.metrics_port, metrics.registry,
                                                relay_readiness(the_relay), stop))
        try:
            delay = 0.5
            while not stop.is_set():  # a broker that is not up yet: wait for it, not ready
                try:
                    await ensure_topics(settings.kafka.bootstrap_servers,
                                        settings.all_topics(service), settings.kafka.partitions)
                    break
                except Exception as error:
                    the_relay.broker_error = f"creating topics: {error!r}"[:300]
                    console.print(f"broker not reachable ({error!r}); retrying in {delay:.1f} s")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    delay = min(5.0, delay * 2)
            await the_relay.store.create_schema()
            await the_relay.run(stop)
        finally:
            stop.set()
            if ops is not None:
                await ops

    _run_with_uvloop(main())


def _run_with_uvloop(coroutine) -> None:
    """uvloop when installed (it is, with uvicorn[standard], and uvicorn already runs the
    services on it): the relay's event loop overhead per wake-up is a fraction of asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


@app.command()
def projector() -> None:
    """Run the projector: a faust-streaming worker consuming the event topics into read models.
    With ZUGONG_METRICS_PORT it serves /metrics, /healthz and /readyz there."""
    import faust

    from services.kernel.db import create_engine
    from services.kernel.kafka_projector import build_projector_app
    from services.kernel.metrics import Metrics
    from zugong.runtime import projection_runners

    settings = _settings()
    if not settings.kafka.bootstrap_servers:
        console.print("set ZUGONG_KAFKA__BOOTSTRAP_SERVERS")
        raise typer.Exit(2)
    metrics = Metrics()

    async def runners():
        # no ping per checkout (a round trip per projection and batch): a batch on a broken
        # connection fails and is retried on a fresh one
        engine = create_engine(settings.database.readmodel_url, pre_ping=False)
        built = projection_runners(engine, metrics)
        for runner in built:
            await runner.create_schema()
        return built

    (settings.var_dir / "faust").mkdir(parents=True, exist_ok=True)
    faust_app = build_projector_app(
        app_id=settings.kafka.projector_group, bootstrap_servers=settings.kafka.bootstrap_servers,
        topics=settings.all_topics(), runners=runners, partitions=settings.kafka.partitions,
        datadir=str(settings.var_dir / "faust"), metrics=metrics,
        dead_letter_topic=settings.dead_letter_topic(),
        session_timeout=settings.kafka.session_timeout, ops_port=settings.metrics_port,
        max_lag_events=settings.gateway.readiness_max_lag_events,
        batch_size=settings.kafka.projector_batch_size,
        batch_within=settings.kafka.projector_batch_within)
    worker = faust.Worker(faust_app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()


@app.command()
def consume(service: Annotated[str, typer.Argument(
        help="Service whose consumer to run: training (its view of cadres).")]) -> None:
    """Run a service's consumer of other services' events (a faust worker), writing to the
    service's own database: e.g. training's view of cadres from the personnel cadre topic."""
    import faust

    from services.kernel.kafka_projector import build_projector_app
    from services.kernel.metrics import Metrics
    from zugong.runtime import SERVICES

    settings = _settings()
    module = SERVICES.get(service)
    if module is None or not hasattr(module, "consumer_runners"):
        consumers = sorted(n for n, m in SERVICES.items() if hasattr(m, "consumer_runners"))
        console.print(f"{service!r} consumes nothing; one of {consumers}")
        raise typer.Exit(2)
    if not settings.kafka.bootstrap_servers:
        console.print("set ZUGONG_KAFKA__BOOTSTRAP_SERVERS")
        raise typer.Exit(2)
    metrics = Metrics()
    if settings.metrics_port:
        from prometheus_client import start_http_server
        start_http_server(settings.metrics_port, registry=metrics.registry)

    async def runners():
        built = module.consumer_runners(module.build_store(settings, metrics), metrics)
        for runner in built:
            await runner.create_schema()
        return built

    datadir = settings.var_dir / f"faust-{service}"
    datadir.mkdir(parents=True, exist_ok=True)
    faust_app = build_projector_app(
        app_id=f"{settings.kafka.projector_group}.{service}-consumer",
        bootstrap_servers=settings.kafka.bootstrap_servers,
        topics=module.consumed_topics(settings), runners=runners,
        partitions=settings.kafka.partitions, datadir=str(datadir),
        batch_size=settings.kafka.projector_batch_size,
        batch_within=settings.kafka.projector_batch_within)
    worker = faust.Worker(faust_app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()


@kafka_app.command("start")
def kafka_start(
    home: Annotated[Path, typer.Option(help="Broker data folder.")] = Path("var/kafka"),
    port: Annotated[int, typer.Option()] = 9092,
    controller_port: Annotated[int, typer.Option()] = 9093,
) -> None:
    """Run a single-node Kafka 3.9.1 KRaft broker in the foreground (jars fetched once)."""
    from zugong.devinfra.kafka import LocalKafka

    broker = LocalKafka(home, port=port, controller_port=controller_port)
    console.print(f"Kafka on {broker.bootstrap_servers} (data in {home}); Ctrl-C stops.")
    broker.run_foreground()


@demo_app.command("load")
def demo_load(
    base_url: Annotated[str | None, typer.Option(
        help="Gateway base URL (default: the configured gateway host and port).")] = None,
    token: Annotated[str | None, typer.Option(
        help="Bearer token (default: a development admin token for the subject demo-loader; a "
        "reload must use the same subject, idempotency keys are scoped by it).")] = None,
) -> None:
    """Load the demo year through the public HTTP API (loading twice changes nothing)."""
    import time

    from zugong.demo import DemoError, load_over_http

    settings = Settings()
    if token is None and settings.environment == "production":
        console.print("pass --token: no development tokens in production")
        raise typer.Exit(2)
    base_url = base_url or f"http://{settings.gateway.host}:{settings.gateway.port}"
    started = time.monotonic()
    try:
        sent = asyncio.run(load_over_http(base_url, token or _demo_token(settings), console=console))
    except DemoError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{sum(sent.values())} commands in {time.monotonic() - started:.0f} s; "
                  f"dashboard: {base_url}/api/v1/dashboard?from=2025-01-01&to=2025-12-31")


@contracts_app.command("export")
def contracts_export(
    out: Annotated[Path, typer.Option(help="Folder for the schemas.")] = Path("contracts/schemas"),
) -> None:
    """Write the JSON Schema of the envelope and of every event type."""
    from contracts.schemas_export import write_schemas

    for path in write_schemas(out):
        console.print(f"wrote {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
