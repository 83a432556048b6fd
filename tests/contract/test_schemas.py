"""The committed JSON Schemas must equal what the models generate (run `make schemas`)."""

from __future__ import annotations

from pathlib import Path

from contracts import registry
from contracts.schemas_export import render_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def test_committed_schemas_match_the_models():
    rendered = render_schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert set(committed) == set(rendered), "schema files added or removed: run `make schemas`"
    drifted = [name for name, text in rendered.items() if committed[name] != text]
    assert not drifted, f"schemas drifted from the models: {drifted}; run `make schemas`"


def test_every_registered_type_is_explicit_and_versioned():
    for model in registry.models():
        wire = model.wire_type()
        assert wire.startswith("zugong.") and wire.endswith(f".v{model.schema_version}")
        assert "." + model.__module__ not in wire


def test_old_payloads_still_decode():
    """A stored v1 payload (as written on the first day) must keep decoding."""
    payload = {"unit_id": "u1", "name": "怀仁市委组织部", "kind": "party_government_organ",
               "establishment": {"administrative": 20, "institution": 5}, "effective_on": None}
    event = registry.decode("zugong.personnel.unit_registered.v1", payload)
    assert event.name == "怀仁市委组织部"
