"""Load and validate matrix/umgebungen.yaml: the one entry point for all readers.

    matrix = load_matrix()          # raises MatrixError with located German problems
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from . import rules
from .errors import problems_from
from .model import Matrix
from .yamlload import Loaded, Problem, YamlProblems, dotted, load_file

ROOT = Path(__file__).resolve().parent.parent
MATRIX_FILE = ROOT / "matrix" / "umgebungen.yaml"
SCHEMA_FILE = ROOT / "matrix" / "umgebungen.schema.json"
DOCS_DIR = ROOT / "docs"
MAX_SHOWN = 30


class MatrixError(Exception):
    """The matrix file is invalid. str() is the German report, one line per problem."""

    def __init__(self, file: Path, problems: list[Problem]):
        self.file = file
        self.problems = problems
        super().__init__(format_problems(file, problems))


def display_path(file: Path) -> str:
    try:
        rel = os.path.relpath(file)
    except ValueError:  # different drive (Windows)
        return str(file)
    return str(Path(file).resolve()) if rel.startswith("..") else rel


def format_problems(file: Path, problems: list[Problem], limit: int = MAX_SHOWN) -> str:
    name = display_path(file)
    lines = []
    for problem in problems[:limit]:
        where = f"{name}:{problem.location.line}:{problem.location.column}" if problem.location else name
        lines.append(f"{where}: {problem.dotted()}: {problem.message}")
    if len(problems) > limit:
        lines.append(f"… und {len(problems) - limit} weitere Fehler")
    count = len(problems)
    lines.append(f"{count} Fehler in {name}." if count != 1 else f"1 Fehler in {name}.")
    return "\n".join(lines)


def _is_container(data: object, path: tuple) -> bool:
    node = data
    for part in path:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, (dict, list))


def _located(loaded: Loaded, problems: list[Problem]) -> list[Problem]:
    """Attach line:column; a whole mapping or list is pointed at by its key."""
    out = []
    for problem in problems:
        if problem.location is None:
            is_key = bool(problem.path) and (
                "unbekannter Schlüssel" in problem.message or _is_container(loaded.data, problem.path))
            problem = replace(problem, location=loaded.locate(problem.path, key=is_key))
        out.append(problem)
    return sorted(out, key=lambda p: (p.location.line if p.location else 0, p.location.column if p.location else 0))


def validate_data(loaded: Loaded, docs_dir: Path | None) -> tuple[Matrix | None, list[Problem]]:
    try:
        matrix = Matrix.model_validate(loaded.data)
    except ValidationError as exc:
        return None, _located(loaded, problems_from(exc, loaded.data))
    return matrix, _located(loaded, rules.check(matrix, docs_dir))


_CACHE: dict[tuple[Path, int, int], Matrix] = {}


def load_matrix(file: Path = MATRIX_FILE, docs_dir: Path | None = DOCS_DIR) -> Matrix:
    """Load, validate and return the matrix; raise MatrixError on any problem.

    Cached by file modification time, so mkdocs serve and the generators can
    call it freely; an edit is picked up on the next call.
    """
    file = Path(file)
    try:
        stat = file.stat()
        key = (file.resolve(), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _CACHE and docs_dir == DOCS_DIR:
        return _CACHE[key]
    try:
        loaded = load_file(file)
    except YamlProblems as exc:
        raise MatrixError(file, exc.problems) from None
    matrix, problems = validate_data(loaded, docs_dir)
    if problems or matrix is None:
        raise MatrixError(file, problems)
    if key is not None and docs_dir == DOCS_DIR:
        _CACHE[key] = matrix
    return matrix


def json_schema() -> str:
    """The JSON Schema of the matrix, as committed in matrix/umgebungen.schema.json."""
    schema = Matrix.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Umgebungsmatrix"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = ["MatrixError", "load_matrix", "json_schema", "format_problems", "dotted", "MATRIX_FILE"]
