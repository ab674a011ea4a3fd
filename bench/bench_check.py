"""Benchmark: `python -m macros check` (render everything, compare, run all checks).

Target: median at most 500 ms on the 2-core reference machine. Reports the
median wall time of N cold process runs and an in-process breakdown
(imports, matrix load, rendering, each check) so a slow part is easy to find.

    .venv/bin/python bench/bench_check.py [--runs N]
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
TARGET_MS = 500.0
BREAKDOWN = r"""
import time, json
t0 = time.perf_counter()
from macros.matrix import load_matrix
from checks import registry
t1 = time.perf_counter()
registry.load_modules()
t2 = time.perf_counter()
m = load_matrix()
t3 = time.perf_counter()
a = registry.render_all(m)
t4 = time.perf_counter()
checks = {}
for name, fn in registry.CHECKS:
    s = time.perf_counter(); fn(m, a); checks[name] = (time.perf_counter() - s) * 1000
t5 = time.perf_counter()
print(json.dumps({"Import Kern": (t1-t0)*1000, "Import Prüfmodule": (t2-t1)*1000, "Matrix laden": (t3-t2)*1000,
                  "Rendern": (t4-t3)*1000, "Prüfungen": (t5-t4)*1000, "checks": checks}))
"""


def cold_runs(runs: int) -> list[float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = []
    for i in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "macros", "check"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        out.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(f"  Lauf {i + 1}: make check meldet Exit {done.returncode} (Zeit zählt trotzdem)")
        print(f"  Lauf {i + 1}/{runs}: {out[-1]:.0f} ms", flush=True)
    return out


def breakdown() -> dict:
    import json

    done = subprocess.run([sys.executable, "-c", BREAKDOWN], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Anzahl Prozessläufe (Standard 7)")
    args = parser.parse_args()
    print(f"make check: {args.runs} Läufe als eigener Prozess …", flush=True)
    median = statistics.median(cold_runs(args.runs))
    parts = breakdown()
    checks = parts.pop("checks")
    print("Aufschlüsselung (ein Lauf, im Prozess):")
    for label, ms in parts.items():
        print(f"  {label:<20} {ms:7.1f} ms")
    for name, ms in sorted(checks.items(), key=lambda kv: -kv[1])[:6]:
        print(f"    {ms:6.1f} ms  {name}")
    ok = median <= TARGET_MS
    print(f"{'✓' if ok else '✗'} make check Median {median:.0f} ms (Ziel ≤ {TARGET_MS:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
