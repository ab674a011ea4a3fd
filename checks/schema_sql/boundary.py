"""The one place where checks.schema_sql imports project modules outside itself.

Everything the package needs from the rest of the project comes through
here (register.py additionally imports the facts), so moving those modules
means editing this file only:

- umgebungsmatrix.matrix.model: Rag (plattform.rag facts), Matrix
- umgebungsmatrix.paths: ROOT, DOCS_DIR
- checks.findings: Finding
- checks.servers.scratch: the throw-away PostgreSQL server (imported lazily,
  only when the semantic rules run)
"""

from __future__ import annotations

from typing import Any

from checks.findings import Finding
from umgebungsmatrix.matrix.model import Matrix, Rag
from umgebungsmatrix.paths import DOCS_DIR, ROOT


def load_matrix() -> Matrix:
    """The repository's matrix (validated, with every rule)."""
    from umgebungsmatrix.facts import load

    return load().matrix


def scratch_postgres(progress: Any = None) -> Any:
    """Context manager: a throw-away PostgreSQL 16 + pgvector server (checks/servers/scratch.py).

    Raises ScratchUnavailable (German message) when it cannot start.
    """
    from checks.servers.scratch import scratch_postgres as start

    return start(progress)


def scratch_unavailable() -> type[Exception]:
    """The exception class scratch_postgres() raises when no server can start."""
    from checks.servers.scratch import ScratchUnavailable

    return ScratchUnavailable


__all__ = ["DOCS_DIR", "ROOT", "Finding", "Matrix", "Rag", "load_matrix", "scratch_postgres", "scratch_unavailable"]
