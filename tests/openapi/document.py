"""Reading the OpenAPI document the tests in this folder check: every operation, and every
schema a timestamp may hide in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Document = dict[str, Any]

# names of the fields and parameters that hold an instant
TIMESTAMP_NAMES = {"at", "since", "until", "allowed_until", "local_time"}


def operations(document: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def is_timestamp_name(name: str) -> bool:
    return name in TIMESTAMP_NAMES or name.endswith("_at")


def named_schemas(document: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, name, schema) of every property of every component, and every parameter."""
    for component, schema in document["components"]["schemas"].items():
        yield from _properties(component, schema)
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            where = f"{method.upper()} {path} {parameter['in']}"
            yield where, parameter["name"], parameter.get("schema", {})


def _properties(where: str, schema: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if isinstance(schema, list):
        for item in schema:
            yield from _properties(where, item)
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", name, sub
        yield from _properties(f"{where}.{name}", sub)
    for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        if key in schema:
            yield from _properties(where, schema[key])


def string_forms(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The string alternatives of a schema (itself, or in anyOf/oneOf: nullable fields)."""
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return [option for option in options if option.get("type") == "string"]
