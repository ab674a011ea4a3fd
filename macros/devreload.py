"""Fresh code for `mkdocs serve`: reload the project's modules when they changed.

mkdocs-macros imports the module once per process; `mkdocs serve` rebuilds in
the same process, so an edit to macros/, checks/ or umgebungsmatrix/ would otherwise
only take effect after a restart. The matrix itself is reloaded by
umgebungsmatrix.facts.load() (cached by modification time).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = ("macros", "checks", "umgebungsmatrix")
_KEEP = {"macros", __name__}
_stamp: float | None = None


def _newest_mtime() -> float:
    newest = 0.0
    for package in _PACKAGES:
        for path in (_ROOT / package).rglob("*.py"):
            newest = max(newest, path.stat().st_mtime)
    return newest


def fresh_site() -> ModuleType:
    """macros.site, re-imported with its dependencies if any source changed."""
    global _stamp
    newest = _newest_mtime()
    if _stamp is not None and newest > _stamp:
        for name in list(sys.modules):
            if name.split(".")[0] in _PACKAGES and name not in _KEEP:
                del sys.modules[name]
    _stamp = newest
    return importlib.import_module("macros.site")


def current_site() -> ModuleType:
    """macros.site as define_env() left it for this build (no file scan per page)."""
    return sys.modules.get("macros.site") or fresh_site()
