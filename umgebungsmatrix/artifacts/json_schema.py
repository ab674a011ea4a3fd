"""matrix/umgebungen.schema.json: the matrix's JSON Schema for editors (yaml-language-server)."""

from __future__ import annotations

from ..facts import Facts
from ..matrix import json_schema
from ..paths import ROOT

TITLE = "JSON Schema der Matrix"
PATH = "matrix/umgebungen.schema.json"
OUTPUTS = (PATH,)


def render(_facts: Facts) -> dict[str, str]:
    assert (ROOT / PATH).parent.name == "matrix"
    return {PATH: json_schema()}
