"""Benchmark: the two site engines side by side in one run, and the reload of `make serve`.

- MkDocs with macros (`mkdocs build --strict`, the real config), median of BENCH_RUNS;
- Zensical (`python -m macros.zensical_build`: pre-render + zensical build, warm cache), median;
- `mkdocs serve`: from saving a changed matrix value to the page that shows it (polling the page).

Targets (Zensical issue): Zensical ≤ 0.5× MkDocs with macros; serve reload ≤ 2 s.
The macros-vs-plain-MkDocs ratio is bench_site.py.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ZENSICAL_MAX, RELOAD_MAX = 0.5, 2.0


def _timed(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} schlug fehl:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return ""


def serve_reload(env: dict[str, str]) -> float:
    """Seconds from writing a changed batch size into the matrix to the served page showing it."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        for rel in files:
            target = repo / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / rel).is_file():
                shutil.copy2(ROOT / rel, target)
        port = _free_port()
        local = {**env, "PYTHONPATH": str(repo)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "--strict", "--dev-addr", f"127.0.0.1:{port}"],
            cwd=repo,
            env=local,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/operations/scaling/"
        try:
            deadline = time.monotonic() + 120
            while "Batchgr" not in _fetch(url):
                if time.monotonic() > deadline:
                    sys.exit("mkdocs serve startet nicht")
                time.sleep(0.2)
            matrix = repo / "matrix" / "umgebungen.yaml"
            text = matrix.read_text(encoding="utf-8")
            new = re.sub(r"batch_groesse: 512\b", "batch_groesse: 777", text, count=1)
            assert new != text
            time.sleep(1.0)  # let the watcher settle after the first build
            started = time.perf_counter()
            matrix.write_text(new, encoding="utf-8")
            while "777" not in _fetch(url):
                if time.perf_counter() - started > 60:
                    sys.exit("die Seite zeigt den neuen Wert nach 60 s nicht")
                time.sleep(0.05)
            return time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _timed([sys.executable, "-m", "macros.zensical_build", "-q", "--site-dir", str(out / "z0")], env)  # warm cache
        mkdocs, zensical = [], []
        for i in range(RUNS):
            mkdocs.append(
                _timed(
                    [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out / f"m{i}")],
                    env,
                )
            )
            zensical.append(
                _timed([sys.executable, "-m", "macros.zensical_build", "-q", "--site-dir", str(out / f"z{i}")], env)
            )
    a, b = statistics.median(mkdocs), statistics.median(zensical)
    reload = serve_reload(env)
    print(
        f"Engines (Median aus {RUNS}): MkDocs mit Makros {a:.2f} s, Zensical {b:.2f} s → {b / a:.2f}× "
        f"(Ziel ≤ {ZENSICAL_MAX}×); mkdocs serve: Matrix gespeichert → Seite aktuell in {reload:.2f} s "
        f"(Ziel ≤ {RELOAD_MAX:.0f} s)"
    )
    return 0 if b / a <= ZENSICAL_MAX and reload <= RELOAD_MAX else 1


if __name__ == "__main__":
    sys.exit(main())
