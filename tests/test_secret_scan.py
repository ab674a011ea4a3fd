"""The secret scan finds what a leak looks like, without a .env and in every place a reader sees:
hand-written pages, generated files, the built site; a `beispiel` hint must be visibly a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DOCS, SEED_MATRIX, facts_of, mkdocs_build, run_cli

import checks.secret_scan as scan
from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.matrix import MatrixError
from umgebungsmatrix.secretshapes import find

LEAKS = {
    "openai": "OPENAI_API_KEY ist z. B. sk-proj-4fJ8kL2mN9pQ3rS7tU1vW5xY0zA6bC",
    "langfuse": "Schlüssel pk-lf-7a3e91c2-5b4d-4e8f-9a1b-2c3d4e5f6a7b",
    "github": "Token: ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "aws": "AWS AKIAIOSFODNN7EXAMPLE",
    "pem": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "url": "DATABASE_URL=postgresql://plattform:Xk29!vQp7mZ@postgres:5432/plattform",
    "entropie": "Wert: Zx8QpL2mN7vR4tY9wE3uI6oP1aS5dF0gHj",
}
HARMLESS = [
    "sk-<zufällig>",
    "postgresql://plattform:<passwort>@postgres:5432/plattform",
    "redis://redis:6379/0",
    "3f2a9c41d0b7e8f6a5c4b3a29180f7e6d5c4b3a2",
    "europe-west3-docker.pkg.dev/rag-plattform/container/web",
    "${DATABASE_URL}",
    '--set-env-vars "$ENV_VARS"',
]


@pytest.mark.parametrize("name", LEAKS)
def test_shapes_are_found(name):
    assert find(LEAKS[name]), name


@pytest.mark.parametrize("text", HARMLESS)
def test_placeholders_and_hashes_are_not_secrets(text):
    assert find(text) == []


@pytest.mark.parametrize("name", ["openai", "url", "entropie"])
def test_a_key_in_a_hand_written_page_fails_make_check_without_env(live, tmp_path, monkeypatch, name):
    """Before: without a .env, pages under docs/ were never scanned (CI has no .env)."""
    page = tmp_path / "docs" / "runbooks" / "notiz.md"
    page.parent.mkdir(parents=True)
    page.write_text(f"# Notiz\n\n{LEAKS[name]}\n", encoding="utf-8")
    monkeypatch.setattr(scan, "ROOT", tmp_path)
    found = scan.no_secret_values(live, render_all(live))
    assert [f.where.rsplit(":", 1)[0] for f in found] == ["docs/runbooks/notiz.md:3"], [f.format() for f in found]
    secret = LEAKS[name].split()[-1]
    assert secret not in "\n".join(f.format() for f in found)


@pytest.mark.live
def test_a_key_in_a_page_is_found_in_the_built_site(code_copy: Path, tmp_path: Path):
    (code_copy / "docs" / "runbooks" / "migrations.md").write_text(
        (code_copy / "docs" / "runbooks" / "migrations.md").read_text(encoding="utf-8") + f"\n\n{LEAKS['github']}\n",
        encoding="utf-8",
    )
    site = tmp_path / "site"
    assert mkdocs_build(code_copy, site).returncode == 0
    done = run_cli(code_copy, "secret-scan", str(site))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "runbooks/migrations/index.html" in done.stdout and "GitHub-Token" in done.stdout
    assert "ghp_" not in done.stdout


def test_a_real_looking_beispiel_is_refused():
    text = SEED_MATRIX.read_text(encoding="utf-8").replace(
        'beispiel: "sk-<zufällig>"', 'beispiel: "sk-proj-4fJ8kL2mN9pQ3rS7tU1vW5xY0zA6bC"'
    )
    with pytest.raises(MatrixError) as caught:
        facts_of(text, DOCS)
    assert "variablen.LITELLM_MASTER_KEY.beispiel: „beispiel“ sieht wie ein echtes Geheimnis aus" in str(caught.value)
