"""Benchmark: `umgebungsmatrix validate` as a cold process (target: median at most 150 ms),
plus the in-process load (matrix rules and facts, caches cleared) for comparison.

    .venv/bin/python bench/bench_validate.py [--runs N]
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
TARGET_MS = 150.0


def warm(runs: int = 30) -> float:
    from umgebungsmatrix import facts
    from umgebungsmatrix.matrix import load

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        facts.build(load())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cold(runs: int) -> float:
    """Median ms of `validate` processes (bytecode caches written once, as `make validate` does)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    argv = [sys.executable, "-m", "umgebungsmatrix", "validate"]
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=True)
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=True)
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    median = cold(args.runs)
    print(f"  im Prozess (Matrix + Regeln + Fakten): {warm():.1f} ms")
    ok = median <= TARGET_MS
    print(f"{'✓' if ok else '✗'} validate als Prozess: Median {median:.0f} ms (Ziel ≤ {TARGET_MS:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
