"""Platform settings: one pydantic-settings class, nested sections, read from ZUGONG_* variables
(nested with ``__``, e.g. ``ZUGONG_KAFKA__BOOTSTRAP_SERVERS``) and an optional ``.env``.

The switch between embedded and distributed is configuration only: database URLs, the Kafka
bootstrap servers and the services' base URLs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.personnel_rules import PersonnelRules

__all__ = ["AuthSettings", "DatabaseSettings", "GatewaySettings", "HourRequirement", "KafkaSettings",
           "Settings"]

PLACEHOLDERS = {"", "change-me", "changeme", "secret", "dev", "development"}


class DatabaseSettings(BaseModel):
    """Where each service's event store and the read models live."""

    personnel_url: str = Field(
        "sqlite+aiosqlite:///var/personnel.db", description="Personnel event store URL.")
    talent_url: str = Field(
        "sqlite+aiosqlite:///var/talent.db", description="Talent event store URL.")
    governance_url: str = Field(
        "sqlite+aiosqlite:///var/governance.db", description="Governance event store URL.")
    readmodel_url: str = Field(
        "sqlite+aiosqlite:///var/readmodel.db", description="Read models and checkpoints URL.")
    training_url: str = Field(
        "sqlite+aiosqlite:///var/training.db",
        description="Training event store URL (also holds training's view of cadres).")
    pool_size: int = Field(10, description="Connection pool size (PostgreSQL).")

    def store_url(self, service: str) -> str:
        """The event store URL of ``service`` (field ``<service>_url``)."""
        return getattr(self, f"{service}_url")


class KafkaSettings(BaseModel):
    """The broker, used in distributed mode only."""

    bootstrap_servers: str | None = Field(
        None, description="host:port list; unset means embedded (no broker).")
    partitions: int = Field(3, description="Partitions of event topics the platform creates.")
    projector_group: str = Field(
        "zugong-projector", description="Projector consumer group / faust app id.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (several platforms sharing one cluster).")
    session_timeout: float = Field(
        10.0, description="Projector consumer session timeout (s): how long a dead projector "
        "keeps its partitions before the group reassigns them.")
    projector_batch_size: int = Field(
        5000, ge=1, description="Most events a projector hands to its projections in one "
        "transaction (reached only with a backlog: each batch's statements, round trips and "
        "commit are shared by its events).")
    projector_batch_within: float = Field(
        0.005, gt=0, description="Seconds a projector waits for a batch to fill before applying "
        "what it has: the freshness it adds when traffic is light.")
    relay_poll_interval: float = Field(
        0.05, gt=0, description="Seconds between a relay's looks at its store when idle. On "
        "PostgreSQL a NOTIFY from the events table wakes it at once, and it looks only every "
        "second while it listens; this is the fallback.")
    dead_letter_topic: str = Field(
        "zugong.deadletter", description="Where the projector also publishes parked events "
        "(key: projection; the dead_letters table stays the record). Prefixed like the others.")


class AuthSettings(BaseModel):
    """Bearer tokens. Development mints HS256 tokens with a generated secret."""

    jwt_secret: str = Field("", description="HS256 secret; generated under var/ in development.")
    jwt_public_key: str | None = Field(None, description="PEM public key for RS256 (production).")
    jwks_url: str | None = Field(
        None, description="JWKS of the identity provider for RS256 (production): an https URL, "
        "or the path of a JWKS JSON file; keys are picked by the token's `kid`.")
    issuer: str | None = Field(None, description="Required `iss` claim, when set.")
    audience: str | None = Field(None, description="Required `aud` claim, when set.")


class HourRequirement(BaseModel):
    """A training requirement: ``hours`` credit hours within ``years`` calendar years ending
    with the year asked about (section level: 90 in 1; county level: 550 in 5)."""

    hours: int = Field(ge=1, description="Credit hours required.")
    years: int = Field(ge=1, le=10, description="Calendar years the hours may be spread over.")


class GatewaySettings(BaseModel):
    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, description="Bind port.")
    consistency_timeout: float = Field(
        5.0, description="Longest wait (s) for a consistency token before answering stale.")
    readiness_max_lag_events: int = Field(
        10_000, description="/readyz fails when a projection is further behind than this.")
    personnel_url: str | None = Field(
        None, description="Base URL of the personnel service; unset = in-process.")
    talent_url: str | None = Field(
        None, description="Base URL of the talent service; unset = in-process.")
    training_url: str | None = Field(
        None, description="Base URL of the training service; unset = in-process.")
    training_requirements: dict[str, HourRequirement] = Field(
        default_factory=lambda: {"section": HourRequirement(hours=90, years=1),
                                 "county": HourRequirement(hours=550, years=5)},
        description="Credit hours (学时) each cadre level must reach, and over how many years.")
    governance_url: str | None = Field(
        None, description="Base URL of the governance service; unset = in-process.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")

    def service_url(self, service: str) -> str | None:
        """Base URL of ``service`` (field ``<service>_url``); None means in-process."""
        return getattr(self, f"{service}_url", None)


class Settings(BaseSettings):
    """Everything a Zugong process needs; each process reads the sections it uses."""

    model_config = SettingsConfigDict(
        env_prefix="ZUGONG_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="Outside development, placeholder secrets refuse to start.")
    var_dir: Path = Field(Path("var"), description="Where embedded data and dev secrets live.")
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(True, description="JSON logs (false: human-readable console).")
    metrics_port: int | None = Field(
        None, description="Port for /metrics of processes without HTTP (relay, projector).")
    personal_data_key: str = Field(
        "", description="Key sealing national IDs and phone numbers; generated in development.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    personnel: PersonnelRules = Field(
        default_factory=PersonnelRules, description="Personnel rules (ladder, quotas, reserve "
        "ages, exchange years, retirement ages); defaults per REFERENCE.md part (a).")

    @model_validator(mode="after")
    def _secrets(self) -> Settings:
        if self.environment == "development":
            stored = self._dev_secrets()
            if not self.auth.jwt_secret:
                self.auth.jwt_secret = stored["jwt_secret"]
            if not self.personal_data_key:
                self.personal_data_key = stored["personal_data_key"]
            return self
        if self.auth.jwt_secret.lower() in PLACEHOLDERS and not (
                self.auth.jwt_public_key or self.auth.jwks_url):
            raise ValueError("ZUGONG_AUTH__JWT_SECRET (or JWT_PUBLIC_KEY or JWKS_URL) must be "
                             "set to a real secret outside development")
        if self.personal_data_key.lower() in PLACEHOLDERS:
            raise ValueError("ZUGONG_PERSONAL_DATA_KEY must be set outside development")
        return self

    def _dev_secrets(self) -> dict[str, str]:
        """Generated once per var/ folder; created atomically so that processes started
        together agree on the same secrets."""
        path = self.var_dir / "dev-secrets.json"
        if not path.exists():
            values = {"jwt_secret": secrets.token_urlsafe(32),
                      "personal_data_key": secrets.token_urlsafe(32)}
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(json.dumps(values))
        for _ in range(50):
            with contextlib.suppress(ValueError):
                return json.loads(path.read_text())
            time.sleep(0.02)
        raise RuntimeError(f"cannot read {path}")

    def topic(self, service: str, stream_kind: str) -> str:
        """The topic carrying ``service``'s events of streams of ``stream_kind``."""
        from contracts.topics import topic_for

        name = topic_for(service, stream_kind)
        return f"{self.kafka.topic_prefix}.{name}" if self.kafka.topic_prefix else name

    def dead_letter_topic(self) -> str:
        name = self.kafka.dead_letter_topic
        return f"{self.kafka.topic_prefix}.{name}" if self.kafka.topic_prefix else name

    def all_topics(self, service: str | None = None) -> list[str]:
        from contracts.topics import TOPICS

        return [self.topic(s, k) for (s, k) in TOPICS if service in (None, s)]

    @property
    def distributed(self) -> bool:
        return bool(self.kafka.bootstrap_servers)
