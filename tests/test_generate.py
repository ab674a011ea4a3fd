"""`generate` follows the matrix: a new stage's files appear, a removed stage's files and folder go."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

pytestmark = pytest.mark.live  # three CLI processes on a repository copy


def _matrix(repo: Path) -> Path:
    return repo / "matrix" / "umgebungen.yaml"


def test_a_removed_stage_leaves_no_files_and_no_folder(code_copy: Path, live):
    source = _matrix(code_copy)
    original = source.read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    template = next(s for s in data["stages"] if s["id"] == live.cloud_stages[0].id)
    qa = copy.deepcopy(template)
    qa.update(id="qa", name="QA GCP", produktion=False)
    data["stages"].append(qa)
    source.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    added = run_cli(code_copy, "generate")
    assert added.returncode == 0, added.stdout + added.stderr
    folder = code_copy / "cloudrun" / "qa"
    assert (folder / "deploy.sh").is_file() and (code_copy / "docs" / "stages" / "qa.md").is_file()
    hand_made = code_copy / "cloudrun" / "NOTIZ.md"
    hand_made.write_text("von Hand\n", encoding="utf-8")

    source.write_text(original, encoding="utf-8")
    removed = run_cli(code_copy, "generate")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    assert not (code_copy / "docs" / "stages" / "qa.md").exists()
    assert "gelöscht (leer): cloudrun/qa/" in removed.stdout
    assert hand_made.read_text(encoding="utf-8") == "von Hand\n"
    assert run_cli(code_copy, "check").returncode == 0
