"""Validate request bodies against Microsoft's Batch REST specification (Swagger 2.0, API version
2025-06-01, ../shared/batch/) with jsonschema: the spec's own definitions, made strict (an object
may hold only the properties the spec defines, so a misspelt or invented field fails too), its
enums case-sensitive as the service reads them."""

from __future__ import annotations

import copy
import functools
import json

from conftest import REPO, require

SPEC = REPO.parent / "shared" / "batch" / "BatchService-2025-06-01.json"
BODIES = {"pool": "BatchPoolCreateOptions", "job": "BatchJobCreateOptions", "task": "BatchTaskCreateOptions"}


def _strict(node):
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items() if not k.startswith("x-ms-")}
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@functools.lru_cache(maxsize=None)
def _definitions() -> dict:
    require(SPEC.exists(), f"the Batch REST specification {SPEC}")
    return _strict(copy.deepcopy(json.loads(SPEC.read_text(encoding="utf-8"))["definitions"]))


def errors(body: dict, definition: str) -> list[str]:
    """Every way ``body`` breaks the spec's ``definition`` (empty when it is valid)."""
    import jsonschema

    schema = {"$ref": f"#/definitions/{definition}", "definitions": _definitions()}
    validator = jsonschema.Draft4Validator(schema)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body))


def assert_valid(doc: dict) -> None:
    """``doc``: a dry run's ``{"pool", "job", "tasks"}``; each body valid against the spec."""
    problems = []
    if doc.get("pool"):
        problems += [f"pool {p}" for p in errors(doc["pool"], BODIES["pool"])]
    problems += [f"job {p}" for p in errors(doc["job"], BODIES["job"])]
    for task in doc["tasks"]:
        problems += [f"task {task.get('id')} {p}" for p in errors(task, BODIES["task"])]
    assert not problems, "not valid against the Batch REST spec 2025-06-01:\n  " + "\n  ".join(problems[:20])
