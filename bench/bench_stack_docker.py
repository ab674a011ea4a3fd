"""Benchmark: the Docker stack check (`check-stack --provider docker`).

Target: warm run (images cached) median at most 30 s on the 2-core reference
machine (vfs storage driver); measured end to end, as a user waits for
`STACK=docker umgebungsmatrix check-stack` (process start to exit). With
--kalt, first removes the offline images (also other checkouts' tags) and the
BuildKit cache and measures the cold build (debootstrap included) plus the
first run. Skipped (exit 0) without a Docker engine.

    .venv/bin/python bench/bench_stack_docker.py [--laeufe N] [--kalt]
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
sys.path.insert(0, str(ROOT))
TARGET_WARM_S = 30.0
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def umx(*args: str) -> list[str]:
    return [sys.executable, "-m", "umgebungsmatrix", *args]


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done


def check_run() -> tuple[float, dict[str, float]]:
    seconds, done = timed(umx("check-stack", "--provider", "docker", "--json"))
    if done.returncode != 0:
        sys.exit(f"✗ Lauf fehlgeschlagen (Exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)["zeiten"]


def make_cold() -> None:
    from dockerstack import engine, images

    api = engine.client().api
    refs = [
        ref
        for repository in (images.REPOSITORY, images.PIN_REPOSITORY)
        for image in api.images(name=f"{repository}/*")
        for ref in image.get("RepoTags") or ()
    ]
    for ref in refs:
        with engine.api(f"{ref} entfernen"):
            api.remove_image(ref, force=True)
    with engine.api("Build-Cache leeren"):
        api.prune_builds(all=True)
    print(f"  kalt: {len(refs)} Offline-Image-Tags und der Build-Cache entfernt", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laeufe", type=int, default=3, help="warme Läufe (Standard 3)")
    parser.add_argument("--kalt", action="store_true", help="vorher Images und Build-Cache löschen, Kaltstart messen")
    args = parser.parse_args()
    from dockerstack import engine

    reason = engine.unavailable_reason()
    if reason:
        print(f"– Docker-Stack-Benchmark übersprungen: {reason}")
        return 0
    results: dict[str, object] = {"engine": engine.engine_ok(), "compose": str(engine.compose_cli())}
    if args.kalt:
        make_cold()
        build_s, done = timed(umx("docker", "images"))
        if done.returncode != 0:
            sys.exit(f"✗ Image-Bau fehlgeschlagen:\n{done.stderr[-3000:]}")
        first_s, _phases = check_run()
        results.update(kalt_images_s=round(build_s, 1), kalt_erster_lauf_s=round(first_s, 1))
        print(
            f"  kalt: Images gebaut in {build_s:.0f} s, erster Lauf {first_s:.1f} s (gesamt {build_s + first_s:.0f} s)",
            flush=True,
        )
    else:
        check_run()  # builds missing images; not counted
    warm = []
    for index in range(args.laeufe):
        seconds, phases = check_run()
        warm.append(seconds)
        shown = ", ".join(f"{k} {v:.1f}" for k, v in phases.items() if k != "gesamt")
        print(f"  warm {index + 1}: {seconds:.1f} s ({shown})", flush=True)
    median = statistics.median(warm)
    results.update(warm_s=[round(s, 1) for s in warm], warm_median_s=round(median, 1))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "stack_docker.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    ok = median <= TARGET_WARM_S
    print(f"{'✓' if ok else '✗'} Docker-Stack-Prüfung warm: Median {median:.1f} s (Ziel ≤ {TARGET_WARM_S:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
