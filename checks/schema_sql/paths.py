"""Where the schema file lives: the matrix registers it under seiten.schema."""

from __future__ import annotations

from pathlib import Path

from umgebungsmatrix.matrix.model import Matrix
from umgebungsmatrix.paths import DOCS_DIR, ROOT
from umgebungsmatrix.paths import display_path as _display

SCHEMA_PAGE_KEY = "schema"


def schema_file(matrix: Matrix | None = None) -> Path:
    """docs/<seiten.schema>, i.e. docs/rag/schema.sql (default: of the repository's matrix)."""
    if matrix is None:
        from umgebungsmatrix.facts import load

        matrix = load().matrix
    return DOCS_DIR / matrix.seiten[SCHEMA_PAGE_KEY]


def display_path(file: Path) -> str:
    """Repo-relative for files in the repository, else the path as given."""
    return _display(file, ROOT)
