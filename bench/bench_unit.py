"""Benchmark: the unit tier of the tests (`make test-unit`), target at most 15 s wall time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 15.0


def main() -> int:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "unit", "-n", "2", "-p", "no:cacheprovider"],  # = make test-unit
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    print("  " + (done.stdout.strip().splitlines() or ["?"])[-1])
    ok = seconds <= TARGET_S and done.returncode == 0
    print(f"{'✓' if ok else '✗'} Unit-Tests in {seconds:.1f} s (Ziel ≤ {TARGET_S:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
