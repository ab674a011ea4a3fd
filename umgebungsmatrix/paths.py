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


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/umgebungsmatrix` (default ~/.cache/umgebungsmatrix); may not exist yet."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "umgebungsmatrix"


def cache_dir(name: str) -> Path | None:
    """A writable cache folder `cache_root()/NAME`, created on demand, or None if it cannot be.

    Only for caches whose loss costs time, never correctness (e.g. compiled Jinja templates).
    """
    folder = cache_root() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def display_path(file: Path | str, root: Path | None = None) -> str:
    """`docs/rag/schema.sql` for files below `root` (default: the current directory), else absolute."""
    path = Path(file)
    base = root if root is not None else Path.cwd()
    try:
        rel = os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())
    return str(path.resolve()) if rel.startswith("..") else Path(rel).as_posix()
