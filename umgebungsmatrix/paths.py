"""Where things live: the repository root, the matrix, the docs. One place for paths.

`display_path` is the one way a file is named in a message: repository-relative
inside the repository, absolute outside it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX_FILE = ROOT / "matrix" / "umgebungen.yaml"
DOCS_DIR = ROOT / "docs"


def display_path(file: Path | str, root: Path | None = None) -> str:
    """`docs/rag/schema.sql` for files below `root` (default: the current directory), else absolute."""
    path = Path(file)
    base = root if root is not None else Path.cwd()
    try:
        rel = os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())
    return str(path.resolve()) if rel.startswith("..") else Path(rel).as_posix()
