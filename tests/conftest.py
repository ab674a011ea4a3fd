"""Shared fixtures: the real matrix, a throw-away copy of the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "matrix" / "umgebungen.yaml"
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_umgebungsmatrix.md"


@pytest.fixture(scope="session")
def matrix():
    from macros.matrix import load_matrix

    return load_matrix()


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the working tree (tracked and untracked, not ignored files)."""
    dest = tmp_path / "repo"
    for rel in tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


@pytest.fixture()
def matrix_copy(tmp_path: Path) -> Path:
    """A small copy with what loading and validating needs: matrix, docs, code."""
    dest = tmp_path / "repo"
    for rel in tracked_files():
        if rel.split("/")[0] in ("matrix", "docs", "macros", "checks"):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)
    return dest


def run_cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m macros ARGS` inside a repository copy."""
    env = {**os.environ, "PYTHONPATH": str(repo), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "macros", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}
