"""Broken matrix files: located German errors, exit code 2, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import MATRIX, run_cli, snapshot

ORIGINAL = MATRIX.read_text(encoding="utf-8")
PAGES = ", ".join(sorted(yaml.safe_load(ORIGINAL)["seiten"]))
REL = "matrix/umgebungen.yaml"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing needle."""
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if line == needle] or [
        i + 1 for i, line in enumerate(lines) if needle in line]
    assert len(hits) >= occurrence, needle
    return hits[occurrence - 1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def section(text: str, start: str, end: str) -> str:
    """Remove the lines from the one containing start up to (excluding) end."""
    lines = text.splitlines(keepends=True)
    a = next(i for i, line in enumerate(lines) if start in line)
    b = next(i for i, line in enumerate(lines) if i > a and end in line)
    return "".join(lines[:a] + lines[b:])


# (id, function text -> broken text, expected: list of (needle for line or int, column, path, message))
CASES = [
    ("unbekannter-schluessel",
     lambda t: replace_once(t, "  postgres:\n    version: 16\n", "  postgres:\n    version: 16\n    farbe: blau\n"),
     [("farbe: blau", 5, "plattform.postgres.farbe", "unbekannter Schlüssel „farbe“")]),
    ("doppelter-schluessel",
     lambda t: replace_once(t, "    version: 16\n", "    version: 16\n    version: 17\n"),
     [("version: 17", 5, "plattform.postgres.version",
       f"Schlüssel „version“ ist doppelt (zuerst in Zeile {line_of(ORIGINAL, 'version: 16')})")]),
    ("falscher-typ",
     lambda t: replace_once(t, "    port: 8000\n", "    port: achttausend\n"),
     [("port: achttausend", 11, "dienstarten.web.port", "erwartet eine Ganzzahl, gefunden „achttausend“")]),
    ("stage-fehlt",
     lambda t: t[: t.index("  - id: prod")],
     [("\nstages:", 1, "stages", "Stage „prod“ fehlt")]),
    ("zelle-fehlt",
     lambda t: replace_once(t, "      kosten: Container pausieren, Datenbank-Volume löschen\n", ""),
     [("    zellen:", 5, "stages[0].zellen.kosten", "Zelle für Spalte „kosten“ fehlt")]),
    ("spalte-fehlt",
     lambda t: replace_once(t, "  - {id: kosten, titel: Kostenhebel}\n", ""),
     [("\nspalten:", 1, "spalten", "Spalte „kosten“ fehlt")]),
    ("min-groesser-max",
     lambda t: replace_once(t, "      min: 0\n      max: 3\n", "      min: 5\n      max: 3\n"),
     [("    skalierung:", 5, "stages[1].skalierung", "min (5) ist größer als max (3)")]),
    ("sampling-ueber-100",
     lambda t: replace_once(t, "sampling_prozent: 25", "sampling_prozent: 125"),
     [("sampling_prozent: 125", 25, "stages[1].langfuse.sampling_prozent", "darf höchstens 100 sein, ist „125“")]),
    ("sampling-negativ",
     lambda t: replace_once(t, "sampling_prozent: 5\n", "sampling_prozent: -5\n"),
     [("sampling_prozent: -5", 25, "stages[2].langfuse.sampling_prozent", "muss mindestens 0 sein, ist „-5“")]),
    ("link-auf-fehlende-seite",
     lambda t: replace_once(t, "{{ link('scaling', 'Scaling') }}", "{{ link('skalierung', 'Scaling') }}"),
     [("link('skalierung'", 17, "stages[1].zellen.einlesen",
       f"Link auf unbekannte Seite „skalierung“ (bekannt: {PAGES})")]),
    ("seite-existiert-nicht",
     lambda t: replace_once(t, "  scaling: operations/scaling.md", "  scaling: operations/skalierung.md"),
     [("scaling: operations/skalierung.md", 12, "seiten.scaling", "Seite „operations/skalierung.md“ existiert nicht in docs/")]),
    ("unbekanntes-feld-in-vorlage",
     lambda t: replace_once(t, "Batches {{ stage.einlesen.batch_groesse }}", "Batches {{ stage.einlesen.batchgroesse }}"),
     [("stage.einlesen.batchgroesse", 17, "stages[2].zellen.einlesen",
       "Vorlage: 'macros.model.Einlesen object' hat kein Feld 'batchgroesse'")]),
    ("unbekannte-queue",
     lambda t: replace_once(t, "queues: [einlesen, agenten]", "queues: [einlesen, agentn]"),
     [("queues: [einlesen, agentn]", 48, "stages[0].dienste.worker.queues[1]",
       "unbekannte Queue „agentn“ (bekannt: agenten, einlesen)"),
      ("    dienste:", 5, "stages[0].dienste",
       "kein Worker konsumiert die Queue „agenten“")]),
    ("queues-in-cloud-nicht-getrennt",
     lambda t: replace_once(t, "      worker: {art: worker, queues: [einlesen]}\n      agenten-worker: {art: worker, queues: [agenten]}\n",
                            "      worker: {art: worker, queues: [einlesen, agenten]}\n"),
     [("queues: [einlesen, agenten]}", 29, "stages[1].dienste.worker.queues",
       "in der Cloud bleiben Ingestion- und Agenten-Queues getrennt: ein Worker pro Queue", 2)]),
    ("migration-automatisch-in-cloud",
     lambda t: replace_once(t, "      automatisch: false\n", "      automatisch: true\n"),
     [("      automatisch: true", 20, "stages[1].migrationen.automatisch",
       "automatische Migrationen laufen nur lokal (Compose), nie in der Cloud", 2)]),
    ("pflichtfeld-fehlt",
     lambda t: replace_once(t, "      batch_groesse: 512\n", ""),
     [("    einlesen:", 5, "stages[2].einlesen.batch_groesse", "Pflichtfeld „batch_groesse“ fehlt", 4)]),
    ("unbekannte-secret-quelle",
     lambda t: replace_once(t, "      quelle: ci_variablen\n", "      quelle: vault\n"),
     [("      quelle: vault", 15, "stages[1].secrets.quelle",
       "„quelle“ ist „vault“; erlaubt sind 'env_datei', 'ci_variablen', 'secret_manager'")]),
    ("yaml-tabulator",
     lambda t: replace_once(t, "    version: 16\n", "\tversion: 16\n"),
     [("\tversion: 16", 1, "(Wurzel)", "YAML-Syntaxfehler: Tabulator gefunden; YAML erlaubt nur Leerzeichen zum Einrücken")]),
    ("unsicheres-tag",
     lambda t: replace_once(t, "  name: RAG- und Agenten-Plattform", "  name: !!python/object/apply:os.system [echo pwned]"),
     [("!!python/object", 9, "plattform.name", "unzulässiges YAML-Tag „tag:yaml.org,2002:python/object/apply:os.system“")]),
]


def _expected_lines(text: str, expected) -> list[str]:
    out = []
    for item in expected:
        needle, column, path, message = item[:4]
        occurrence = item[4] if len(item) > 4 else 1
        line = needle if isinstance(needle, int) else line_of(text, needle.lstrip("\n"), occurrence)
        if isinstance(needle, str) and needle.startswith("\n"):
            line = line_of(text, needle[1:], occurrence)
        out.append(f"{REL}:{line}:{column}: {path}: {message}")
    return out


@pytest.mark.parametrize("name,breaker,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_matrix_is_located_in_german(matrix_copy: Path, name, breaker, expected):
    repo_copy = matrix_copy
    broken = breaker(ORIGINAL)
    (repo_copy / REL).write_text(broken, encoding="utf-8")
    before = snapshot(repo_copy)
    result = run_cli(repo_copy, "validate")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for want in _expected_lines(broken, expected):
        assert want in lines, f"erwartet:\n{want}\nbekommen:\n{result.stderr}"
    assert re.fullmatch(r"\d+ Fehler in matrix/umgebungen\.yaml\.|1 Fehler in matrix/umgebungen\.yaml\.", lines[-1])
    assert snapshot(repo_copy) == before


def test_generate_on_broken_matrix_writes_nothing(repo_copy: Path):
    (repo_copy / REL).write_text(replace_once(ORIGINAL, "    port: 8000\n", "    port: -1\n"), encoding="utf-8")
    before = snapshot(repo_copy)
    for command in ("generate", "check"):
        result = run_cli(repo_copy, command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert "dienstarten.web.port: muss mindestens 1 sein, ist „-1“" in result.stderr
    assert snapshot(repo_copy) == before


def test_all_errors_at_once_capped(matrix_copy: Path):
    repo_copy = matrix_copy
    broken = ORIGINAL
    for port in ("8000", "4000"):
        broken = replace_once(broken, f"    port: {port}\n", "    port: x\n")
    broken = replace_once(broken, "sampling_prozent: 25", "sampling_prozent: 125")
    (repo_copy / REL).write_text(broken, encoding="utf-8")
    result = run_cli(repo_copy, "validate")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "3 Fehler in matrix/umgebungen.yaml."


def test_many_errors_are_capped(matrix_copy: Path):
    repo_copy = matrix_copy
    extra = "".join(f"    unbekannt{i}: 1\n" for i in range(60))
    (repo_copy / REL).write_text(replace_once(ORIGINAL, "    version: 16\n", "    version: 16\n" + extra), encoding="utf-8")
    result = run_cli(repo_copy, "validate")
    assert result.returncode == 2
    assert "… und 30 weitere Fehler" in result.stderr
    assert result.stderr.splitlines()[-1] == "60 Fehler in matrix/umgebungen.yaml."


def test_alias_bomb_fails_fast(matrix_copy: Path):
    repo_copy = matrix_copy
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    (repo_copy / REL).write_text(bomb, encoding="utf-8")
    result = run_cli(repo_copy, "validate")
    assert result.returncode == 2
    assert "zu viele Knoten (über 100000); Alias-Bombe?" in result.stderr


def test_missing_file_is_exit_2(matrix_copy: Path):
    repo_copy = matrix_copy
    result = run_cli(repo_copy, "validate", "gibt-es-nicht.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("gibt-es-nicht.yaml: (Wurzel): Datei nicht gefunden")
