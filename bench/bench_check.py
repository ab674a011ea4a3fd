"""Benchmark: `umgebungsmatrix check` (render everything, compare with the disk, run every static check).

Target: median at most 300 ms as a cold process on the 2-core reference machine.
Reports the median wall time of N process runs and an in-process breakdown
(imports, matrix + facts, rendering, drift, each check) so a slow part is easy to find.

    .venv/bin/python bench/bench_check.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0
BREAKDOWN = r"""
import time, json
t0 = time.perf_counter()
from umgebungsmatrix.facts import load
from umgebungsmatrix.artifacts import render_all
from checks import registry
from checks.drift import drift
t1 = time.perf_counter()
checks_list = registry.all_checks()
t2 = time.perf_counter()
facts = load()
t3 = time.perf_counter()
rendered = render_all(facts)
t4 = time.perf_counter()
drift(rendered)
t5 = time.perf_counter()
timed = {}
for title, fn in checks_list:
    s = time.perf_counter(); fn(facts, rendered); timed[title] = (time.perf_counter() - s) * 1000
t6 = time.perf_counter()
print(json.dumps({"Import Kern": (t1-t0)*1000, "Import Prüfmodule": (t2-t1)*1000, "Matrix + Fakten": (t3-t2)*1000,
                  "Rendern": (t4-t3)*1000, "Drift": (t5-t4)*1000, "Prüfungen": (t6-t5)*1000, "checks": timed}))
"""


def cold_runs(runs: int) -> list[float]:
    # as `make check` runs it: bytecode caches written once (Makefile: unexport PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "umgebungsmatrix", "check"], cwd=ROOT, env=env, capture_output=True)
    out = []
    for i in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "umgebungsmatrix", "check"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        out.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(f"  Lauf {i + 1}: check meldet Exit {done.returncode} (Zeit zählt trotzdem)")
        print(f"  Lauf {i + 1}/{runs}: {out[-1]:.0f} ms", flush=True)
    return out


def breakdown() -> dict:
    done = subprocess.run([sys.executable, "-c", BREAKDOWN], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="Anzahl Prozessläufe (Standard 9)")
    args = parser.parse_args()
    print(f"umgebungsmatrix check: {args.runs} Läufe als eigener Prozess …", flush=True)
    median = statistics.median(cold_runs(args.runs))
    parts = breakdown()
    checks = parts.pop("checks")
    print("Aufschlüsselung (ein Lauf, im Prozess):")
    for label, ms in parts.items():
        print(f"  {label:<20} {ms:7.1f} ms")
    for name, ms in sorted(checks.items(), key=lambda kv: -kv[1])[:6]:
        print(f"    {ms:6.1f} ms  {name}")
    ok = median <= TARGET_MS
    print(f"{'✓' if ok else '✗'} check Median {median:.0f} ms (Ziel ≤ {TARGET_MS:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
