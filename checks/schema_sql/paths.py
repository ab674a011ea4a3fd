"""Where the schema file lives: the matrix registers it under seiten.schema."""

from __future__ import annotations

from pathlib import Path

from umgebungsmatrix.paths import display_path as _display

from .boundary import DOCS_DIR, ROOT, Matrix, load_matrix

SCHEMA_PAGE_KEY = "schema"


def schema_file(matrix: Matrix | None = None) -> Path:
    """docs/<seiten.schema>, i.e. docs/rag/schema.sql (default: of the repository's matrix)."""
    matrix = matrix or load_matrix()
    return DOCS_DIR / matrix.seiten[SCHEMA_PAGE_KEY]


def display_path(file: Path) -> str:
    """Repo-relative for files in the repository, else the path as given."""
    return _display(file, ROOT)
