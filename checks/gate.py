"""`umgebungsmatrix generate` and `umgebungsmatrix check`: the drift gate.

generate: write every artifact that differs from the render (atomically, only
          changed files), delete orphans. Runs only for a valid matrix (the
          CLI loaded the facts), so a broken matrix writes nothing.
check:    write nothing; exit 1 on drift or a finding of a static check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.atomic import write_atomic
from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.paths import ROOT

from .drift import drift
from .registry import run_checks


def no_arguments(_parser: argparse.ArgumentParser) -> None:
    pass


def _remove_empty_parents(file: Path) -> None:
    """Folders left empty by a deleted orphan (cloudrun/qa/ of a removed stage); never a top-level one."""
    folder = file.parent
    while ROOT not in (folder, folder.parent):
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            return
        print(f"✓ gelöscht (leer): {folder.relative_to(ROOT).as_posix()}/")
        folder = folder.parent


def generate(_args: argparse.Namespace, facts: Facts) -> int:
    rendered = render_all(facts)
    changes = drift(rendered, ROOT)
    for item in changes:
        if item.wanted is None:
            (ROOT / item.path).unlink()
            print(f"✓ gelöscht (verwaist): {item.path}")
            _remove_empty_parents(ROOT / item.path)
        else:
            write_atomic(ROOT / item.path, item.wanted)
            print(f"✓ geschrieben: {item.path}")
    print(f"{len(changes)} von {len(rendered)} Dateien geändert.")
    return EXIT_OK


def _findings(facts: Facts, rendered) -> int:
    failed = 0
    for title, findings in run_checks(facts, rendered):
        if findings:
            failed += len(findings)
            print(f"✗ {title}: {len(findings)} Verstoß/Verstöße")
            for finding in findings:
                print(f"    {finding.format()}")
        else:
            print(f"✓ {title}")
    return failed


def check(_args: argparse.Namespace, facts: Facts) -> int:
    started = time.perf_counter()
    rendered = render_all(facts)
    changes = drift(rendered, ROOT)
    for item in changes:
        if item.kind == "fehlt":
            print(f"✗ {item.path} fehlt (nicht erzeugt).")
        elif item.kind == "verwaist":
            print(f"✗ {item.path} ist verwaist: die Matrix erzeugt diese Datei nicht mehr.")
        else:
            print(f"✗ {item.path} weicht von der Matrix ab:")
            sys.stdout.write(item.diff())
    if not changes:
        print(f"✓ {len(rendered)} erzeugte Dateien stimmen mit der Matrix überein")
    failed = _findings(facts, rendered)
    elapsed = (time.perf_counter() - started) * 1000
    if changes:
        print(f"\n{len(changes)} Datei(en) veraltet, verwaist oder von Hand geändert. Beheben mit: make generate")
    if failed:
        print(f"{failed} Verstoß/Verstöße: die Meldungen nennen die Stelle, die zu ändern ist.")
    if changes or failed:
        return EXIT_FINDINGS
    print(f"Alles in Ordnung ({elapsed:.0f} ms).")
    return EXIT_OK
