"""`umgebungsmatrix generate` and `umgebungsmatrix check`: the drift gate."""

from __future__ import annotations

import argparse
import difflib
import sys
import time

from macros.atomic import write_atomic
from macros.cli import EXIT_DRIFT, EXIT_OK, register
from macros.matrix import ROOT, load_matrix

from .registry import render_all, run_checks


def _read(rel: str) -> str | None:
    path = ROOT / rel
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _no_args(_parser: argparse.ArgumentParser) -> None:
    pass


def _static_findings(matrix, artifacts) -> int:
    failed = 0
    for name, findings in run_checks(matrix, artifacts):
        if findings:
            failed += len(findings)
            print(f"✗ {name}: {len(findings)} Verstoß/Verstöße")
            for finding in findings:
                print(f"    {finding.format()}")
        else:
            print(f"✓ {name}")
    return failed


def generate(_args: argparse.Namespace) -> int:
    """Render everything in memory, validate, then write only what changed."""
    matrix = load_matrix()
    artifacts = render_all(matrix)
    if _static_findings(matrix, artifacts):
        print("Nichts geschrieben: erst die Verstöße beheben.", file=sys.stderr)
        return EXIT_DRIFT
    changed = [rel for rel, text in artifacts.items() if _read(rel) != text]
    for rel in changed:
        write_atomic(ROOT / rel, artifacts[rel])
        print(f"✓ geschrieben: {rel}")
    print(f"{len(changed)} von {len(artifacts)} Dateien geändert.")
    return EXIT_OK


def check(_args: argparse.Namespace) -> int:
    """Write nothing; exit 1 on drift or a broken rule."""
    started = time.perf_counter()
    matrix = load_matrix()
    artifacts = render_all(matrix)
    drift = 0
    for rel, text in artifacts.items():
        current = _read(rel)
        if current == text:
            continue
        drift += 1
        if current is None:
            print(f"✗ {rel} fehlt (nicht erzeugt).")
            continue
        print(f"✗ {rel} weicht von der Matrix ab:")
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"{rel} (im Repo)", tofile=f"{rel} (aus der Matrix)"))
    if not drift:
        print(f"✓ {len(artifacts)} erzeugte Dateien stimmen mit der Matrix überein")
    failed = _static_findings(matrix, artifacts)
    elapsed = (time.perf_counter() - started) * 1000
    if drift:
        print(f"\n{drift} Datei(en) veraltet oder von Hand geändert. Beheben mit: make generate")
    if drift or failed:
        return EXIT_DRIFT
    print(f"Alles in Ordnung ({elapsed:.0f} ms).")
    return EXIT_OK


register("generate", "Alle erzeugten Dateien aus der Matrix schreiben (nur geänderte, atomar)", _no_args, generate)
register("check", "Drift und Leitplanken prüfen, nichts schreiben (Exit 1 bei Abweichung)", _no_args, check)
