"""Benchmark: what the built site weighs and how long the strict build takes.

Targets (site issue): whole site ≤ 5 MB, matrix page HTML ≤ 100 KB; the strict build's time is
reported (median of BENCH_RUNS) for the comparison with an earlier commit.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SITE_MAX, PAGE_MAX = 5_000_000, 100_000


def main() -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        for _ in range(RUNS):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"mkdocs build schlug fehl:\n{done.stderr}")
        total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        page = (site / "plattform" / "umgebungsmatrix" / "index.html").stat().st_size
    print(
        f"Site: {total / 1e6:.2f} MB (Ziel ≤ {SITE_MAX / 1e6:.0f} MB), Matrix-Seite {page / 1e3:.0f} KB "
        f"(Ziel ≤ {PAGE_MAX / 1e3:.0f} KB), strenger Build {statistics.median(times):.2f} s (Median aus {RUNS})"
    )
    return 0 if total <= SITE_MAX and page <= PAGE_MAX else 1


if __name__ == "__main__":
    sys.exit(main())
