"""Enumerating an app's routes with the permission each declares, and making requests for any
OpenAPI operation (path parameters, required query parameters and a minimal body generated
from the schema)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.kernel.auth import Permission

PUBLIC_OPERATIONS = {"healthz", "readyz", "metrics"}
"""Probes and Prometheus scraping are deliberately unauthenticated."""


def _routes(routes) -> list:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI >= 0.16x keeps includes lazy
        out += _routes(included.routes) if included is not None else [route]
    return out


def _permissions(dependant) -> list[Permission]:
    found = [getattr(dependant.call, "required_permission", None)]
    for sub in dependant.dependencies:
        found += _permissions(sub)
    return [p for p in found if p is not None]


def route_permissions(app: FastAPI) -> dict[tuple[str, str], list[Permission]]:
    """(METHOD, path) → the permissions its dependencies require, for every API route."""
    return {(method, route.path): _permissions(route.dependant)
            for route in _routes(app.routes) if isinstance(route, APIRoute)
            for method in route.methods}


def operations(app: FastAPI) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, item in app.openapi()["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]


class SampleMaker:
    """Values that satisfy (most of) a JSON Schema: enough to get past auth and usually past
    validation too."""

    def __init__(self, spec: dict) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def value(self, schema: dict, depth: int = 0) -> Any:
        if "$ref" in schema:
            return self.value(self.components[schema["$ref"].rsplit("/", 1)[-1]], depth)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.value(options[0], depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {name: self.value(props[name], depth + 1)
                    for name in schema.get("required", []) if name in props}
        if kind == "array":
            count = schema.get("minItems", 0)
            return [self.value(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        fmt = schema.get("format")
        if fmt == "date":
            return "2024-03-01"
        if fmt == "date-time":
            return "2024-03-01T08:00:00+08:00"
        return "x" * max(1, int(schema.get("minLength", 1)))

    def request(self, method: str, path: str, op: dict) -> dict[str, Any]:
        params = {p["name"]: p for p in op.get("parameters", [])}
        url = path
        for name, p in params.items():
            if p["in"] == "path":
                url = url.replace("{" + name + "}", str(self.value(p.get("schema", {}))
                                                        if p.get("schema", {}).get("type")
                                                        == "integer" else "unknown-1"))
        query = {name: self.value(p.get("schema", {})) for name, p in params.items()
                 if p["in"] == "query" and p.get("required")}
        body = None
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = self.value(content["application/json"].get("schema", {}))
        return {"method": method, "url": url, "params": query,
                **({"json": body} if body is not None else {})}
