"""Benchmark: strict site build with mkdocs-macros vs. plain mkdocs on the same Markdown.

1. Build once with a hook that saves every page's Markdown after the macros ran.
2. Time `mkdocs build --strict` of the real config (macros plugin active) and of a
   plain config (no macros plugin) over the already-rendered Markdown.
Target: ratio at most 1.15x.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.15
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def _mkdocs(config: Path, site: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"mkdocs build mit {config.name} schlug fehl:\n{result.stderr}")
    return time.perf_counter() - started


def _configs(work: Path) -> tuple[Path, Path, Path]:
    """Three configs as text (mkdocs.yml has python tags a safe YAML loader refuses)."""
    import re

    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    root_docs = f"docs_dir: {ROOT / 'docs'}"
    # the real config plus the dump hook (last, so it sees the macros' output)
    with_hook = re.sub(r"(?m)^docs_dir: .*$", root_docs, text).replace(
        "hooks:\n  - macros/hooks.py\n",
        f"hooks:\n  - macros/hooks.py\n  - {ROOT / 'bench' / 'dump_markdown_hook.py'}\n",
    )
    # the plain config: same theme, extensions, validation and hooks' files, no macros plugin
    plain = re.sub(r"(?m)^  - macros:\n(?:^ {6,}.*\n)+", "", text)
    plain = re.sub(r"(?m)^docs_dir: .*$", f"docs_dir: {work / 'rendered'}", plain)
    plain = re.sub(r"(?m)^hooks:\n(?:^  - .*\n)+", "", plain)
    plain = plain.replace("custom_dir: overrides", f"custom_dir: {ROOT / 'overrides'}")
    plain = plain.replace("      - stages/index.md\n", "      - stages/index.md\n" + _stage_nav())
    real = re.sub(r"(?m)^docs_dir: .*$", root_docs, text)
    paths = []
    for name, data in (("hook.yml", with_hook), ("plain.yml", plain), ("real.yml", real)):
        # next to mkdocs.yml: mkdocs-macros finds the `macros` module relative to the config
        path = ROOT / f".bench-{work.name}-{name}"
        path.write_text(data, encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1], paths[2]


def _stage_nav() -> str:
    sys.path.insert(0, str(ROOT))
    from macros import sitefiles
    from umgebungsmatrix.facts import load

    return "".join(f"      - {n}: {p}\n" for e in sitefiles.stage_nav(load()) for n, p in e.items())


def _measure(work: Path, env: dict[str, str], hook: Path, plain: Path, real: Path) -> tuple[list[float], list[float]]:
    env["BENCH_DUMP_DIR"] = str(work / "rendered")
    _mkdocs(hook, work / "site0", env)
    # copy static files (CSS, SQL, ...) and the downloads next to the rendered pages
    for path in (ROOT / "docs").rglob("*"):
        target = work / "rendered" / path.relative_to(ROOT / "docs")
        if path.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for path in (work / "site0" / "downloads").rglob("*"):
        target = work / "rendered" / "downloads" / path.relative_to(work / "site0" / "downloads")
        if path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    macro_times, plain_times = [], []
    for i in range(RUNS):
        macro_times.append(_mkdocs(real, work / f"a{i}", env))
        plain_times.append(_mkdocs(plain, work / f"b{i}", env))
    return macro_times, plain_times


def main() -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        configs = _configs(work)
        try:
            macro_times, plain_times = _measure(work, env, *configs)
        finally:
            for path in configs:
                path.unlink(missing_ok=True)
    a, b = statistics.median(macro_times), statistics.median(plain_times)

    ratio = a / b
    print(
        f"Site-Build --strict: mit Makros {a:.2f} s, ohne Makros {b:.2f} s (Median aus {RUNS}); "
        f"Verhältnis {ratio:.2f}× (Ziel ≤ {TARGET:.2f}×)"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
