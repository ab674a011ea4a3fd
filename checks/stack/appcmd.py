"""Turn a matrix command (`plattform-web`, `celery -A plattform.worker ...`) into argv.

The reference app runs from source (compose/app on PYTHONPATH), so the
checks always exercise the repository's code. Console commands resolve
through the `[project.scripts]` of compose/app/pyproject.toml – a command
the matrix names but the app does not declare is an error.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from umgebungsmatrix.paths import ROOT

APP_DIR = ROOT / "compose" / "app"
SCHEMA_FILE_ENV = "PLATTFORM_SCHEMA_SQL"  # same name as plattform.settings.SCHEMA_FILE_ENV (test pins it)
PROBE_TASK = "plattform.probe"  # same name as the task in plattform.worker (test pins it)


class CommandProblem(Exception):
    """A matrix command cannot be run; German message."""


def declared_scripts(app_dir: Path = APP_DIR) -> dict[str, str]:
    data = tomllib.loads((app_dir / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data.get("project", {}).get("scripts", {}))


def argv_for(command: tuple[str, ...], app_dir: Path = APP_DIR) -> list[str]:
    head, *rest = command
    if head in ("celery", "python", "python3"):
        return [sys.executable, *(["-m", "celery"] if head == "celery" else []), *rest]
    scripts = declared_scripts(app_dir)
    if head not in scripts:
        raise CommandProblem(
            f"Befehl „{head}“ aus der Matrix ist in {app_dir.relative_to(ROOT)}/pyproject.toml "
            f"nicht als Konsolenbefehl deklariert (vorhanden: {', '.join(sorted(scripts))})"
        )
    module, func = scripts[head].split(":")
    code = f"import sys; from {module} import {func} as f; sys.exit(f())"
    return [sys.executable, "-c", code, *rest]


def app_env(extra: dict[str, str]) -> dict[str, str]:
    """A small container-like environment for an app process."""
    import os

    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if k in os.environ}
    return {**keep, "PYTHONPATH": str(APP_DIR), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", **extra}
