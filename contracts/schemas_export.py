"""Generates contracts/schemas/: one JSON Schema per event type and version, plus the envelope."""

from __future__ import annotations

import json
from pathlib import Path

from contracts import registry
from contracts.envelope import EventEnvelope

__all__ = ["render_schemas", "write_schemas"]


def render_schemas() -> dict[str, str]:
    """File name → schema text, deterministic."""
    out = {"envelope.json": EventEnvelope.model_json_schema()}
    for model in registry.models():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:zugong:event:{model.wire_type()}"
        schema["x-event-type"] = model.wire_type()
        schema["x-stream-kind"] = model.stream_kind
        out[f"{model.wire_type()}.json"] = schema
    return {name: json.dumps(s, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for name, s in out.items()}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
