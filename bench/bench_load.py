"""Benchmark: load and validate matrix/umgebungen.yaml (target: at most 50 ms).

Reports the median of repeated in-process loads (cache cleared each time)
and, separately, a cold process start including imports.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 50.0


def warm(runs: int = 30) -> float:
    from macros import matrix as m

    times = []
    for _ in range(runs):
        m._CACHE.clear()
        started = time.perf_counter()
        m.load_matrix()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cold(runs: int = 5) -> float:
    code = "import time; t=time.perf_counter(); from macros.matrix import load_matrix; load_matrix(); print((time.perf_counter()-t)*1000)"
    values = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout) for _ in range(runs)]
    return statistics.median(values)


def main() -> int:
    w = warm()
    c = cold()
    print(f"Matrix laden + validieren: Median {w:.1f} ms je Lauf (Ziel ≤ {TARGET_MS:.0f} ms); "
          f"kalter Prozess inkl. Importe: {c:.0f} ms")
    return 0 if w <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
