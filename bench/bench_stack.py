"""Benchmark: the whole embedded stack check, start to teardown.

Target: median at most 5 s on the 2-core reference machine. Reports the
breakdown per phase (Redis start, Postgres start, web start including the
automatic migration, worker start, checks, teardown) of N in-process runs,
plus one cold `python -m umgebungsmatrix check-stack` for the CLI overhead.
Start phases overlap (workers boot while Postgres starts), so the phases
add up to more than the total.

    .venv/bin/python bench/bench_stack.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S = 5.0
PHASES = {
    "redis": "Redis-Start",
    "postgres": "Postgres-Start",
    "web": "Web-Start inkl. Migration",
    "worker": "Worker-Start (langsamster)",
    "start": "Start gesamt",
    "checks": "Prüfungen",
    "teardown": "Abbau",
    "gesamt": "gesamt",
    "cpu": "CPU-Zeit aller Prozesse",
}


def cpu_seconds() -> float:
    """User+system CPU of this process and all waited-for descendants (servers, workers)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one_run() -> tuple[dict[str, float], bool]:
    from checks.stack.embedded import EmbeddedProvider
    from checks.stack.live import run_all
    from checks.stack.plan import build_plan
    from checks.stack.result import failed
    from umgebungsmatrix.facts import load

    facts = load()
    matrix = facts.matrix
    plan = build_plan(facts)
    provider = EmbeddedProvider(plan, lambda _m: None)
    cpu = cpu_seconds()
    started = time.perf_counter()
    with provider as endpoints:
        provider.timings["start"] = time.perf_counter() - started
        checks_started = time.perf_counter()
        results = run_all(matrix, plan, endpoints)
        provider.timings["checks"] = time.perf_counter() - checks_started
    timings = {**provider.timings, "gesamt": time.perf_counter() - started, "cpu": cpu_seconds() - cpu}
    return timings, not failed(results)


def cli_run() -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "umgebungsmatrix", "check-stack"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description="Stack-Prüfung (embedded) messen: Start bis Abbau")
    parser.add_argument("--runs", type=int, default=3, help="Anzahl Läufe (Standard 3)")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        timings, ok = one_run()
        runs.append(timings)
        print(
            f"  Lauf {i + 1}/{args.runs}: {timings['gesamt']:.2f} s" + ("" if ok else " (Prüfungen fehlgeschlagen!)"),
            flush=True,
        )
    print("Median je Phase (Startphasen überlappen):")
    for key, label in PHASES.items():
        values = [r[key] for r in runs if key in r]
        if values:
            print(f"  {label:<28} {statistics.median(values):6.2f} s")
    wall, code = cli_run()
    print(f"  {'CLI kalt (inkl. Importe)':<28} {wall:6.2f} s (Exit {code})")
    median = statistics.median(r["gesamt"] for r in runs)
    load = os.getloadavg()[0]
    cpu = statistics.median(r["cpu"] for r in runs)
    print(
        f"  (CPU-Bedarf {cpu:.1f} s auf {os.cpu_count()} Kernen: untere Grenze ohne fremde Last "
        f"≈ {cpu / (os.cpu_count() or 1):.1f} s)"
    )
    if median <= TARGET_S:
        print(f"✓ Stack-Prüfung: Median {median:.2f} s ≤ Ziel {TARGET_S:.0f} s (Last {load:.1f})")
        return 0
    print(
        f"✗ Stack-Prüfung: Median {median:.2f} s > Ziel {TARGET_S:.0f} s (Last {load:.1f} auf {os.cpu_count()} Kernen)"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
