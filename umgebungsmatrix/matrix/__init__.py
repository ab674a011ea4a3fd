"""Layer 1: load matrix/umgebungen.yaml, validate it, say where a problem is.

    source = load(MATRIX_FILE)      # Source: model + positions; raises MatrixError
    source.matrix.stages[0].name
    source.where(("stages", 0, "id"))   # 'matrix/umgebungen.yaml:187:9'

Rules that need rendered templates or derived values run in the facts layer;
`umgebungsmatrix.facts.load()` is what `validate` calls, so every rule runs there.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import ValidationError

from ..errors import InputError
from ..paths import DOCS_DIR, MATRIX_FILE, display_path
from . import rules
from .messages import problems_from
from .model import Matrix
from .yamlload import Loaded, Location, PathKey, Problem, YamlProblems, dotted, load_file, load_text

MAX_SHOWN = 30


class MatrixError(InputError):
    """The matrix file is invalid. str() is the German report, one line per problem (exit 2)."""

    def __init__(self, file: Path, problems: list[Problem]):
        self.file = file
        self.problems = problems
        super().__init__(format_problems(file, problems))


def format_problems(file: Path, problems: list[Problem], limit: int = MAX_SHOWN) -> str:
    """`FILE:LINE:COL: dotted.path: message` per problem, capped, with a count line."""
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


@dataclass(frozen=True)
class Source:
    """A valid matrix and where each of its values stands in the file."""

    file: Path
    matrix: Matrix
    loaded: Loaded

    def location(self, path: PathKey) -> Location | None:
        return self.loaded.locate(tuple(path), key=_is_container(self.loaded.data, tuple(path)))

    def where(self, path: PathKey) -> str:
        """`matrix/umgebungen.yaml:LINE:COL` of a data path (its nearest existing parent)."""
        location = self.location(path)
        name = display_path(self.file)
        return f"{name}:{location.line}:{location.column}" if location else name

    def located(self, problems: list[Problem]) -> list[Problem]:
        return locate_problems(self.loaded, problems)

    def error(self, problems: list[Problem]) -> MatrixError:
        return MatrixError(self.file, self.located(problems))


def _is_container(data: object, path: tuple) -> bool:
    node = data
    for part in path:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, (dict, list))


def locate_problems(loaded: Loaded, problems: list[Problem]) -> list[Problem]:
    """Attach line:column (a whole mapping or list is pointed at by its key), sorted by position."""
    out = []
    for problem in problems:
        if problem.location is None:
            is_key = bool(problem.path) and (
                problem.at_key or "unbekannter Schlüssel" in problem.message or _is_container(loaded.data, problem.path)
            )
            out.append(replace(problem, location=loaded.locate(problem.path, key=is_key)))
        else:
            out.append(problem)
    return sorted(out, key=lambda p: (p.location.line if p.location else 0, p.location.column if p.location else 0))


def validate_data(loaded: Loaded, docs_dir: Path | None) -> tuple[Matrix | None, list[Problem]]:
    """The model and all problems of pydantic and the matrix rules (located)."""
    try:
        matrix = Matrix.model_validate(loaded.data)
    except ValidationError as exc:
        return None, locate_problems(loaded, problems_from(exc, loaded.data))
    return matrix, locate_problems(loaded, rules.check(matrix, docs_dir))


def load(file: Path = MATRIX_FILE, docs_dir: Path | None = DOCS_DIR) -> Source:
    """Read, parse and validate a matrix file; raise MatrixError (exit 2) on any problem.

    `docs_dir`: where pages named under `seiten` must exist (None: do not check).
    """
    file = Path(file)
    try:
        loaded = load_file(file)
    except YamlProblems as exc:
        raise MatrixError(file, exc.problems) from None
    return from_loaded(file, loaded, docs_dir)


def load_string(text: str, file: Path = MATRIX_FILE, docs_dir: Path | None = None) -> Source:
    """Like load(), for a matrix given as text (tests, fixtures); `file` only names it in messages."""
    try:
        loaded = load_text(text)
    except YamlProblems as exc:
        raise MatrixError(file, exc.problems) from None
    return from_loaded(file, loaded, docs_dir)


def from_loaded(file: Path, loaded: Loaded, docs_dir: Path | None) -> Source:
    matrix, problems = validate_data(loaded, docs_dir)
    if problems or matrix is None:
        raise MatrixError(file, problems)
    return Source(file, matrix, loaded)


@functools.cache
def json_schema() -> str:
    """The JSON Schema of the matrix, as committed in matrix/umgebungen.schema.json (depends on the code only)."""
    schema = Matrix.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Umgebungsmatrix"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = [
    "MatrixError",
    "Problem",
    "Source",
    "dotted",
    "format_problems",
    "json_schema",
    "load",
    "load_string",
    "locate_problems",
]
