"""Shared fixtures: fixture matrices (frozen seed, small), the live matrix, repository copies.

Tiers (markers registered in pyproject.toml):
- unit:   no processes beyond Python itself (the default; set here for unmarked tests)
- live:   embedded Postgres/Redis/Celery, mkdocs builds, the real gcloud, browsers
- docker: a Docker engine

Unit tests derive expected values from the matrix under test (a fixture), so
matrix/umgebungen.yaml can change without touching a test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MATRIX = ROOT / "matrix" / "umgebungen.yaml"
SEED = FIXTURES / "seed_umgebungsmatrix.md"  # the seed page: specification of the table
SEED_MATRIX = FIXTURES / "seed" / "umgebungen.yaml"  # frozen matrix that reproduces it
KLEIN_MATRIX = FIXTURES / "klein" / "umgebungen.yaml"
DOCS = ROOT / "docs"


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI sets REQUIRE_GCLOUD=1 where it installed gcloud: then a missing gcloud fails instead of skipping."""
    if os.environ.get("REQUIRE_GCLOUD") == "1":
        from checks.consumers.gcloud import skip_reason

        reason = skip_reason()
        if reason:
            raise pytest.UsageError(f"REQUIRE_GCLOUD=1, aber: {reason}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(m) for m in ("live", "docker")):
            item.add_marker(pytest.mark.unit)


def facts_of(source: Path | str, docs_dir: Path | None = None, file: Path = MATRIX):
    """Facts of a matrix file (Path) or text (str); MatrixError on problems."""
    from umgebungsmatrix.facts import build
    from umgebungsmatrix.matrix import load, load_string

    if isinstance(source, Path):
        return build(load(source, docs_dir))
    return build(load_string(source, file, docs_dir))


@pytest.fixture(scope="session")
def live():
    """Facts of the repository's matrix (for tests about the committed files)."""
    from umgebungsmatrix.facts import load

    return load()


@pytest.fixture(scope="session")
def seed():
    return facts_of(SEED_MATRIX, DOCS)


@pytest.fixture(scope="session")
def klein():
    return facts_of(KLEIN_MATRIX, DOCS)


def with_value(source, path: tuple, new: str) -> str:
    """The matrix text of `source` (umgebungsmatrix.matrix.Source) with the scalar at `path` replaced
    by the YAML text `new`, found by its recorded position: tests break a value without typing it."""
    location = source.location(path)
    assert location is not None, path
    lines = source.file.read_text(encoding="utf-8").splitlines(keepends=True)
    line = lines[location.line - 1]
    start = location.column - 1
    if line[start] in "\"'":  # a quoted scalar: it runs to the end of its line in our matrices
        lines[location.line - 1] = line[:start] + new + "\n"
        return "".join(lines)
    old = str(getattr_path(source.loaded.data, path))
    assert line[start:].startswith(old), (line, old)
    lines[location.line - 1] = line[:start] + new + line[start + len(old) :]
    return "".join(lines)


def getattr_path(data, path: tuple):
    for part in path:
        data = data[part]
    return data


def web_port_path(facts) -> tuple:
    """Data path of the web service kind's port in the matrix (the kind of the first http service)."""
    web = next(s for s in facts.compose_stage.services if s.role == "http" and s.port)
    return ("dienstarten", web.kind, "port")


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


def copy_repo(dest: Path, top: tuple[str, ...] | None = None) -> Path:
    """A copy of the working tree (tracked and untracked, not ignored files); `top` limits the folders."""
    for rel in tracked_files():
        if top is not None and rel.split("/")[0] not in top:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    """A full copy of the working tree; run tools in it with run_cli/env_for."""
    return copy_repo(tmp_path / "repo")


@pytest.fixture()
def code_copy(tmp_path: Path) -> Path:
    """A small copy with what the CLI needs: matrix, docs, code (no compose app, no tests)."""
    return copy_repo(
        tmp_path / "repo",
        (
            "matrix",
            "docs",
            "macros",
            "checks",
            "umgebungsmatrix",
            "dockerstack",
            "cloudrun",
            "compose",
            ".env.example",
            "mkdocs.yml",
            "overrides",
            "constraints.txt",
        ),
    )


def env_for(repo: Path) -> dict[str, str]:
    """Environment that makes Python import the code of `repo` (not the editable install)."""
    return {**os.environ, "PYTHONPATH": str(repo), "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def run_cli(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m umgebungsmatrix ARGS` inside a repository copy."""
    return subprocess.run(
        [sys.executable, "-m", "umgebungsmatrix", *args],
        cwd=repo,
        env=env_for(repo),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def mkdocs_build(repo: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """A strict mkdocs build of `repo` (its own code and matrix) into `site`."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=repo,
        env=env_for(repo),
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="session")
def matrix(live):
    """The repository's matrix model (tests about the real schema file and the live stack)."""
    return live.matrix
