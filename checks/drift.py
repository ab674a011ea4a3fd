"""Drift: the committed generated files against the in-memory render of the matrix.

A file differs (hand edit or forgotten `make generate`), is missing, or is an
orphan: it carries the generated mark, lies where an artifact writes
(its OUTPUTS globs), but the matrix no longer produces it (e.g. the page of a
removed stage). `make generate` writes the first two and deletes orphans.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from umgebungsmatrix.artifacts import ARTIFACTS, GENERATED_MARK, Rendered
from umgebungsmatrix.paths import ROOT


@dataclass(frozen=True)
class Drift:
    path: str  # repository-relative
    kind: str  # "geändert", "fehlt" or "verwaist"
    current: str | None  # text on disk (None: missing)
    wanted: str | None  # text of the render (None: orphan)

    def diff(self) -> str:
        if self.current is None or self.wanted is None:
            return ""
        return "".join(
            difflib.unified_diff(
                self.current.splitlines(keepends=True),
                self.wanted.splitlines(keepends=True),
                fromfile=f"{self.path} (im Repo)",
                tofile=f"{self.path} (aus der Matrix)",
            )
        )


def read(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def orphans(rendered: Rendered, root: Path = ROOT) -> list[str]:
    """Generated files on disk that the render no longer contains."""
    out: set[str] = set()
    for artifact in ARTIFACTS:
        for pattern in artifact.OUTPUTS:
            for path in root.glob(pattern):
                rel = path.relative_to(root).as_posix()
                if rel in rendered or not path.is_file():
                    continue
                text = read(root, rel)
                if text is not None and GENERATED_MARK in text[:2000]:
                    out.add(rel)
    return sorted(out)


def drift(rendered: Rendered, root: Path = ROOT) -> list[Drift]:
    out = []
    for rel, wanted in rendered.items():
        current = read(root, rel)
        if current != wanted:
            out.append(Drift(rel, "fehlt" if current is None else "geändert", current, wanted))
    out += [Drift(rel, "verwaist", read(root, rel), None) for rel in orphans(rendered, root)]
    return out
