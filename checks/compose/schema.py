"""The compose file against the Compose Specification JSON Schema.

The schema is the one `check-jsonschema` ships (vendor/compose-spec.json). It
is located with importlib without importing check_jsonschema (slow), and
jsonschema itself is only imported when this exact text has not been
validated before: a successful validation is remembered in the user's cache
directory under the hash of schema and text, so `make check` stays fast.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.matrix.model import Matrix
from umgebungsmatrix.paths import cache_root

from ..findings import Finding
from .parse import Parsed, parse

Artifacts = Mapping[str, str]

RULE = "compose-schema"
SCHEMA_PARTS = ("builtin_schemas", "vendor", "compose-spec.json")
DOC_ANCHOR = "#compose-schema"
MAX_FINDINGS = 20


def schema_file() -> Path:
    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("Paket check-jsonschema ist nicht installiert")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*SCHEMA_PARTS)


def cache_dir() -> Path:
    return cache_root() / "compose-schema"


def _doc(matrix: Matrix) -> str:
    return matrix.seiten.get("compose", "") + DOC_ANCHOR if "compose" in matrix.seiten else ""


def compose_schema(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    text = artifacts.get(COMPOSE_FILE)
    if text is None:
        return []
    return validate_text(text, facts.matrix)


def validate_text(text: str, matrix: Matrix, use_cache: bool = True) -> list[Finding]:
    doc = _doc(matrix)
    parsed = parse(COMPOSE_FILE, text)
    if not parsed.ok:
        return [Finding(RULE, f"kein gültiges YAML: {parsed.problem}", parsed.path, doc)]
    try:
        schema_bytes = schema_file().read_bytes()
    except OSError as exc:
        return [Finding(RULE, f"Compose-Schema nicht lesbar ({exc}); `make venv` ausführen", COMPOSE_FILE, doc)]
    key = hashlib.sha256(schema_bytes + b"\0" + text.encode("utf-8")).hexdigest()
    marker = cache_dir() / key
    if use_cache and marker.exists():
        return []
    findings = [Finding(RULE, message, where, doc) for where, message in schema_errors(schema_bytes, parsed)]
    if not findings and use_cache:
        _remember(marker)
    return findings


def _remember(marker: Path) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a read-only home only costs speed


@functools.lru_cache(maxsize=2)
def _validator(schema_bytes: bytes) -> Any:
    """The JSON Schema validator of the Compose Specification, built once per process."""
    import json

    import jsonschema

    schema = json.loads(schema_bytes)
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return validator_class(schema)


def schema_errors(schema_bytes: bytes, parsed: Parsed) -> list[tuple[str, str]]:
    validator = _validator(schema_bytes)
    errors = _without_echoes(sorted(validator.iter_errors(parsed.data), key=lambda e: list(map(str, e.absolute_path))))
    out = []
    for error in errors[:MAX_FINDINGS]:
        path = tuple(error.absolute_path)
        out.append((parsed.where(*path), f"{_dotted(path)}: {german(error)}"))
    if len(errors) > MAX_FINDINGS:
        out.append((COMPOSE_FILE, f"… und {len(errors) - MAX_FINDINGS} weitere Abweichungen"))
    return out


def _without_echoes(errors: list[Any]) -> list[Any]:
    """Drop 'unevaluated properties' that only echo a deeper error of the same object."""
    paths = [tuple(e.absolute_path) for e in errors]
    out = []
    for error, path in zip(errors, paths):
        deeper = any(len(p) > len(path) and p[: len(path)] == path for p in paths)
        if error.validator == "unevaluatedProperties" and deeper:
            continue
        out.append(error)
    return out


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(Wurzel)"


_TYPES = {
    "string": "Text",
    "integer": "Ganzzahl",
    "number": "Zahl",
    "boolean": "true/false",
    "object": "Zuordnung",
    "array": "Liste",
    "null": "null",
}


def german(error: Any) -> str:
    kind = error.validator
    if kind == "unevaluatedProperties":
        names = re.findall(r"'([^']+)'", error.message)
        return f"unbekannter Schlüssel {', '.join(map(repr, names))} (nicht in der Compose Specification)"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        pattern_ok = error.schema.get("patternProperties", {})
        extra = [e for e in extra if not any(re.search(p, e) for p in pattern_ok)]
        return f"unbekannter Schlüssel {', '.join(map(repr, extra))} (nicht in der Compose Specification)"
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        found = "nichts (null)" if error.instance is None else repr(error.instance)
        return f"erwartet {' oder '.join(_TYPES.get(str(t), str(t)) for t in wanted)}, gefunden {found}"
    if kind == "required":
        return f"Pflichtfeld fehlt ({error.message.split(' ')[0]})"
    if kind == "enum":
        return f"erlaubt sind {error.validator_value}, gefunden {error.instance!r}"
    if kind in ("oneOf", "anyOf"):
        return f"passt zu keiner erlaubten Form der Compose Specification (Wert {error.instance!r})"
    if kind == "pattern":
        return f"{error.instance!r} hat nicht die erwartete Form ({error.validator_value})"
    if kind in ("uniqueItems",):
        return "Einträge sind doppelt"
    return f"verletzt die Regel „{kind}“ der Compose Specification ({error.message})"


CHECKS = (("Compose-Datei gegen die Compose Specification (JSON Schema)", compose_schema),)
