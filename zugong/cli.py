"""The `zugong` command: run the platform (embedded or one process of the distributed mode),
mint development tokens, run a local Kafka broker, export contract schemas, and operate it
(projections status/rebuild, dead letters, store verification: see zugong/ops/)."""

from __future__ import annotations

import asyncio
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
app.add_typer(kafka_app, name="kafka")
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


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Bind port.")] = None,
) -> None:
    """Start the whole platform in one process (SQLite under var/, no broker)."""
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
    _serve(create_embedded_app(settings), host, port, settings)


@app.command()
def token(
    role: Annotated[str, typer.Option(help="admin | personnel_officer | operator | viewer")] = "admin",
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
    service: Annotated[str, typer.Argument(help="Service to run: personnel.")],
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
    """Publish a service's stored events to Kafka (outbox relay)."""
    from prometheus_client import start_http_server

    from services.kernel.metrics import Metrics
    from zugong.runtime import build_relay

    settings = _settings()
    if not settings.kafka.bootstrap_servers:
        console.print("set ZUGONG_KAFKA__BOOTSTRAP_SERVERS")
        raise typer.Exit(2)
    metrics = Metrics()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=metrics.registry)

    async def main() -> None:
        from services.kernel.kafka_admin import ensure_topics

        await ensure_topics(settings.kafka.bootstrap_servers, settings.all_topics(service),
                            settings.kafka.partitions)
        the_relay = build_relay(service, settings, metrics)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await the_relay.store.create_schema()
        await the_relay.run(stop)

    asyncio.run(main())


@app.command()
def projector() -> None:
    """Run the projector: a faust-streaming worker consuming the event topics into read models."""
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
    if settings.metrics_port:
        from prometheus_client import start_http_server
        start_http_server(settings.metrics_port, registry=metrics.registry)

    async def runners():
        engine = create_engine(settings.database.readmodel_url)
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
        session_timeout=settings.kafka.session_timeout)
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
