"""Prometheus metrics with consistent names and labels, one set per process registry."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Every metric the platform exports; one instance per registry (per process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        if registry is None:  # process_resident_memory_bytes, cpu, open fds; python_info
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
        self.commands = Counter(
            "zugong_commands_total", "Commands handled, by service, command and outcome.",
            ["service", "command", "outcome"], registry=r)
        self.command_latency = Histogram(
            "zugong_command_duration_seconds", "Command handling latency.",
            ["service", "command"], buckets=_LATENCY_BUCKETS, registry=r)
        self.events_appended = Counter(
            "zugong_events_appended_total", "Events appended to a store, by service and type.",
            ["service", "type"], registry=r)
        self.relay_published = Counter(
            "zugong_relay_published_total", "Events published to Kafka by the relay.",
            ["service"], registry=r)
        self.relay_backlog = Gauge(
            "zugong_relay_backlog_events", "Stored events not yet published.",
            ["service"], registry=r)
        self.relay_publish_latency = Histogram(
            "zugong_relay_publish_duration_seconds", "Time to publish one relay batch.",
            ["service"], buckets=_LATENCY_BUCKETS, registry=r)
        self.projection_events = Counter(
            "zugong_projection_events_total", "Events applied by a projection.",
            ["projection"], registry=r)
        self.projection_skipped = Counter(
            "zugong_projection_duplicates_total",
            "Redelivered events a projection recognised and skipped.", ["projection"], registry=r)
        self.projection_batches = Counter(
            "zugong_projection_batches_total", "Batches committed by a projection.",
            ["projection"], registry=r)
        self.projection_errors = Counter(
            "zugong_projection_errors_total", "Failed projection batch attempts.",
            ["projection"], registry=r)
        self.projection_dead_letters = Counter(
            "zugong_projection_dead_letters_total", "Events parked as dead letters.",
            ["projection"], registry=r)
        self.projection_lag_events = Gauge(
            "zugong_projection_lag_events", "Events behind the source head.",
            ["projection", "source"], registry=r)
        self.projection_lag_seconds = Gauge(
            "zugong_projection_lag_seconds",
            "Age of the newest applied event when it was applied.",
            ["projection", "source"], registry=r)
        self.projection_last_applied = Gauge(
            "zugong_projection_last_applied_timestamp_seconds",
            "Unix time a projection last committed a batch.", ["projection"], registry=r)
        self.http_latency = Histogram(
            "zugong_http_request_duration_seconds", "HTTP request latency by route and status.",
            ["app", "method", "route", "status"], buckets=_LATENCY_BUCKETS, registry=r)
        self.kafka_consumer_lag = Gauge(
            "zugong_kafka_consumer_lag_messages",
            "Messages on a partition the consumer group has not consumed yet (high water - next).",
            ["group", "topic", "partition"], registry=r)
        self.dead_letters_published = Counter(
            "zugong_dead_letters_published_total",
            "Dead letters published to the dead-letter topic.", ["projection"], registry=r)
        self.sla_breaches = Counter(
            "zugong_sla_breaches_total",
            "Service-level deadlines missed (a complaint not answered in time, an alert not "
            "handled), by service and kind.", ["service", "kind"], registry=r)
        self.consistency_waits = Counter(
            "zugong_consistency_waits_total",
            "Queries that waited on a consistency token, by result.", ["result"], registry=r)
