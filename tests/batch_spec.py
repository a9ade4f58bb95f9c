"""Check a REST body against Microsoft's Batch REST specification (../shared/batch/, Swagger 2.0):
every property must be one the definition declares (not read-only), of its type, enums exact
(they are case-sensitive), required properties present. Independent of the SDK that built the body."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from conftest import REPO

SPEC = REPO.parent / "shared" / "batch" / "BatchService-2025-06-01.json"
_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


@lru_cache(maxsize=1)
def definitions() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))["definitions"]


def errors(body, definition: str) -> list[str]:
    """Every way ``body`` breaks the spec's ``definition`` (e.g. "BatchPoolCreateOptions")."""
    found: list[str] = []
    _check(body, {"$ref": f"#/definitions/{definition}"}, definition, found)
    return found


def _check(value, schema: dict, where: str, found: list[str]) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = definitions()[name]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return
    if kind == "object":
        if not isinstance(value, dict):
            found.append(f"{where}: expected an object, got {type(value).__name__}")
            return
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{where}: required property {name!r} is missing")
        for name, item in value.items():
            if name in properties:
                if properties[name].get("readOnly"):
                    found.append(f"{where}.{name}: read-only, not for requests")
                _check(item, properties[name], f"{where}.{name}", found)
            elif isinstance(extra, dict):
                _check(item, extra, f"{where}.{name}", found)
            else:
                found.append(f"{where}: unknown property {name!r}")
    elif kind == "array":
        if not isinstance(value, list):
            found.append(f"{where}: expected an array")
            return
        for i, item in enumerate(value):
            _check(item, schema.get("items", {}), f"{where}[{i}]", found)
    elif kind == "string":
        if not isinstance(value, str):
            found.append(f"{where}: expected a string, got {value!r}")
        elif schema.get("format") == "duration" and not _DURATION.match(value):
            found.append(f"{where}: {value!r} is not an ISO 8601 duration")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            found.append(f"{where}: expected an integer, got {value!r}")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append(f"{where}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{where}: expected a boolean, got {value!r}")
