"""The one place where checks.schema_sql imports project modules outside itself.

Everything the package needs from the rest of the project comes through
here (register.py additionally imports the CLI and the check registry), so
moving those modules means editing this file only:

- macros.model: Rag (plattform.rag facts), Matrix
- macros.matrix: load_matrix, ROOT, DOCS_DIR
- checks.registry: Finding
- checks.stack.scratch: the throw-away PostgreSQL server (imported lazily,
  only when the semantic rules run)
"""

from __future__ import annotations

from checks.registry import Finding
from macros.matrix import DOCS_DIR, ROOT, load_matrix
from macros.model import Matrix, Rag


def scratch_postgres(progress=None):
    """Context manager: a throw-away PostgreSQL 16 + pgvector server (checks/stack/scratch.py).

    Raises ScratchUnavailable (German message) when it cannot start.
    """
    from checks.stack.scratch import scratch_postgres as start

    return start(progress)


def scratch_unavailable() -> type[Exception]:
    """The exception class scratch_postgres() raises when no server can start."""
    from checks.stack.scratch import ScratchUnavailable

    return ScratchUnavailable


__all__ = ["DOCS_DIR", "Finding", "Matrix", "ROOT", "Rag", "load_matrix", "scratch_postgres", "scratch_unavailable"]
