"""Golden files: every artifact rendered from the small fixture matrix, compared byte for byte.

After an intended change of a generator: `make test-update` (UPDATE_GOLDEN=1)
rewrites tests/golden/, and the diff is reviewed like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from umgebungsmatrix.artifacts import ARTIFACTS, render_all

GOLDEN = Path(__file__).resolve().parent / "golden" / "klein"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _golden_files() -> list[str]:
    return sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def rendered(klein):
    out = render_all(klein)
    if UPDATE:
        for rel in _golden_files():
            if rel not in out:
                (GOLDEN / rel).unlink()
        for rel, text in out.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text, encoding="utf-8")
    return out


def test_every_artifact_has_golden_files(rendered):
    assert set(rendered.owners.values()) == {a.TITLE for a in ARTIFACTS}, (
        "jedes Artefakt erzeugt aus der kleinen Matrix mindestens eine Datei"
    )
    assert _golden_files() == sorted(rendered), "make test-update schreibt tests/golden/ neu"


@pytest.mark.parametrize("path", _golden_files())
def test_artifact_equals_golden(rendered, path):
    assert path in rendered, f"{path}: kein Artefakt erzeugt diese Datei mehr (make test-update)"
    assert rendered[path] == (GOLDEN / path).read_text(encoding="utf-8"), f"{path} weicht ab (make test-update)"
