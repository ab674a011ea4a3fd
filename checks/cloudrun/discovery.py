"""Offline validation against the Cloud Run Admin API v1 discovery document.

The document ships with google-api-python-client
(googleapiclient/discovery_cache/documents/run.v1.json). We locate it without
importing googleapiclient (that import costs about a second) and parse it once.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DOCUMENT = ("discovery_cache", "documents", "run.v1.json")
ROOT_SCHEMAS = {"Service": "Service", "Job": "Job"}
API_VERSIONS = {"Service": "serving.knative.dev/v1", "Job": "run.googleapis.com/v1"}

Path_ = tuple[Any, ...]


class DiscoveryMissing(Exception):
    """The discovery document is not installed (google-api-python-client missing)."""


def document_path() -> Path:
    spec = importlib.util.find_spec("googleapiclient")  # finds the package, does not import it
    if spec is None or not spec.submodule_search_locations:
        raise DiscoveryMissing("google-api-python-client ist nicht installiert (make venv)")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*DOCUMENT)
    if not path.is_file():
        raise DiscoveryMissing(f"Discovery-Dokument fehlt: {path}")
    return path


@functools.cache
def schemas() -> dict[str, Any]:
    """The `schemas` section of run.v1.json, parsed once per process."""
    return json.loads(document_path().read_text(encoding="utf-8"))["schemas"]


_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_TYPE_GERMAN = {
    "string": "Text",
    "integer": "Ganzzahl",
    "number": "Zahl",
    "boolean": "true/false",
    "array": "Liste",
    "object": "Zuordnung",
}


def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _walk(value: Any, schema: dict[str, Any], path: Path_) -> Iterator[tuple[Path_, str]]:
    if "$ref" in schema:
        yield from _walk(value, schemas()[schema["$ref"]], path)
        return
    kind = schema.get("type")
    if kind and not _type_ok(value, kind):
        yield path, f"erwartet {_TYPE_GERMAN.get(kind, kind)}, gefunden {type(value).__name__} „{value}“"
        return
    if kind == "array":
        for i, item in enumerate(value):
            yield from _walk(item, schema.get("items", {}), path + (i,))
    elif isinstance(value, dict):
        yield from _walk_object(value, schema, path)


def _walk_object(value: dict[str, Any], schema: dict[str, Any], path: Path_) -> Iterator[tuple[Path_, str]]:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    for key, child in value.items():
        if properties is not None and key in properties:
            yield from _walk(child, properties[key], path + (key,))
        elif extra is not None:
            yield from _walk(child, extra, path + (key,))
        else:
            known = ", ".join(sorted(properties or {}))
            yield path + (key,), f"unbekanntes Feld „{key}“ (Cloud Run kennt hier: {known})"


def validate(manifest: Any) -> list[tuple[Path_, str]]:
    """Problems of one manifest against the discovery schema: (path, German message)."""
    if not isinstance(manifest, dict):
        return [((), "ein Manifest muss eine Zuordnung sein")]
    kind = manifest.get("kind")
    if kind not in ROOT_SCHEMAS:
        return [(("kind",), f"kind „{kind}“ wird nicht unterstützt (erwartet: Service oder Job)")]
    problems = list(_walk(manifest, {"$ref": ROOT_SCHEMAS[kind]}, ()))
    if manifest.get("apiVersion") != API_VERSIONS[kind]:
        problems.append((("apiVersion",), f"apiVersion für {kind} muss „{API_VERSIONS[kind]}“ sein"))
    return problems
