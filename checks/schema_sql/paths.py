"""Where the schema file lives: the matrix registers it under seiten.schema."""

from __future__ import annotations

from pathlib import Path

from .boundary import DOCS_DIR, ROOT, Matrix, load_matrix

SCHEMA_PAGE_KEY = "schema"


def schema_file(matrix: Matrix | None = None) -> Path:
    """docs/<seiten.schema>, i.e. docs/rag/schema.sql."""
    matrix = matrix or load_matrix()
    return DOCS_DIR / matrix.seiten[SCHEMA_PAGE_KEY]


def display_path(file: Path) -> str:
    """Repo-relative for files in the repository, else the path as given."""
    try:
        return Path(file).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(file)
