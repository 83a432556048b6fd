"""The CloudEvents 1.0 envelope every Zugong event travels in.

Structured JSON mode: the context attributes sit at the top level, the event payload in
``data``. Zugong adds extension attributes (lower-case, as CloudEvents requires) that give
consumers everything needed to de-duplicate and order: the stream, its version, the global
position in the producing store, and the causal metadata of the command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EventEnvelope"]


class EventEnvelope(BaseModel):
    """One event as published on a topic and delivered to projections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents specification version.")
    id: str = Field(description="Unique event id (UUID); consumers de-duplicate on it.")
    source: str = Field(description="The producing service, e.g. `/zugong/personnel`.")
    type: str = Field(
        description="Stable, versioned event type, e.g. `zugong.personnel.cadre_recruited.v1`."
    )
    time: datetime = Field(description="When the event was recorded (UTC).")
    subject: str = Field(description="The aggregate the event is about, e.g. `cadre/<id>`.")
    datacontenttype: Literal["application/json"] = "application/json"
    streamid: str = Field(description="Event stream (aggregate) id; also the Kafka message key.")
    streamversion: int = Field(ge=1, description="Version of the stream after this event.")
    position: int = Field(ge=1, description="Global position in the producing store.")
    schemaversion: int = Field(ge=1, description="Version of the `data` schema.")
    effectiveon: str | None = Field(
        None, description="Business effective date (ISO date) when it differs from `time`."
    )
    correlationid: str = Field(description="Id shared by everything one request caused.")
    causationid: str = Field(description="Id of the command or event that caused this one.")
    actor: str = Field(description="Who issued the command (token subject).")
    data: dict[str, Any] = Field(description="The event payload, per the type's JSON Schema.")

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]
