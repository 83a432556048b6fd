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

    @classmethod
    def from_store(cls, *, id: str, source: str, type: str, time: datetime, subject: str,
                   streamid: str, streamversion: int, position: int, schemaversion: int,
                   effectiveon: str | None, correlationid: str, causationid: str, actor: str,
                   data: dict[str, Any]) -> EventEnvelope:
        """The envelope of an event read back from a store, whose typed columns hold values
        validated when the event was recorded: built as ``model_construct`` builds a model,
        without validating them again (a replay builds one per event, and validating cost
        more than reading the row). Equal to the validated envelope of the same values;
        ``time`` must be timezone-aware."""
        envelope = _new(cls)
        _set(envelope, "__dict__", {
            "specversion": "1.0", "id": id, "source": source, "type": type, "time": time,
            "subject": subject, "datacontenttype": "application/json", "streamid": streamid,
            "streamversion": streamversion, "position": position, "schemaversion": schemaversion,
            "effectiveon": effectiveon, "correlationid": correlationid,
            "causationid": causationid, "actor": actor, "data": data})
        _set(envelope, "__pydantic_fields_set__", set(_GIVEN))
        _set(envelope, "__pydantic_extra__", None)
        _set(envelope, "__pydantic_private__", None)
        return envelope

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]


_new, _set = object.__new__, object.__setattr__
_GIVEN = frozenset(EventEnvelope.model_fields) - {"specversion", "datacontenttype"}
