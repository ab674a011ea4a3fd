"""The exported JSON Schema is current and accepts the real matrix (editor support)."""

from __future__ import annotations

import jsonschema
import yaml
from conftest import MATRIX, ROOT

from umgebungsmatrix.matrix import json_schema


def test_committed_schema_is_current():
    assert (ROOT / "matrix" / "umgebungen.schema.json").read_text(encoding="utf-8") == json_schema()


def test_yaml_points_editors_at_the_schema():
    first = MATRIX.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./umgebungen.schema.json"


def test_schema_accepts_the_matrix_and_rejects_an_unknown_key():
    import json

    schema = json.loads(json_schema())
    data = yaml.safe_load(MATRIX.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    data["plattform"]["farbe"] = "blau"
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        assert "farbe" in exc.message
    else:
        raise AssertionError("unbekannter Schlüssel wurde nicht erkannt")
