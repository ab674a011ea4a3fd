"""The JSON Schema of the matrix is a generated artifact like the others."""

from __future__ import annotations

from macros.matrix import ROOT, SCHEMA_FILE, json_schema
from macros.model import Matrix

from .registry import artifact_provider


@artifact_provider("JSON Schema der Matrix")
def schema_artifact(_matrix: Matrix) -> dict[str, str]:
    return {SCHEMA_FILE.relative_to(ROOT).as_posix(): json_schema()}
