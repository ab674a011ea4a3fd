"""Run every benchmark in bench/ (files named bench_*.py) and report their lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"→ {script.name} …", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        failed += result.returncode != 0
    print("✓ alle Ziele erreicht" if not failed else f"✗ {failed} Benchmark(s) über dem Ziel")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
