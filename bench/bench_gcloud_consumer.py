"""Benchmark: the offline gcloud harness (checks/consumers/gcloud.py).

Reports: one real gcloud call (sequential, median), the same calls in the
thread pool (wall time per call), gcloud's own parser in one batch process
(--set-env-vars values, full command lines, YAML files) and the staging
deploy.sh run per target in parallel. Target: a batch of 500 env values
split by gcloud's parser in at most 5 s. Skips (exit 0) without gcloud.

    .venv/bin/python bench/bench_gcloud_consumer.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.consumers import gcloud as g  # noqa: E402
from checks.consumers import yaml_versions as yv  # noqa: E402

TARGET_SPLIT_500_S = 5.0
DEPLOY = (
    "run",
    "deploy",
    "web",
    "--image",
    "europe-west3-docker.pkg.dev/p/r/web:v1",
    "--region",
    "europe-west3",
    "--project",
    "p",
    "--set-env-vars",
    "^|^A=1,2|B=x=y",
)


def timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def main() -> int:
    reason = g.skip_reason()
    if reason:
        print(f"  übersprungen: {reason.splitlines()[0]}")
        return 0
    sdk = g.find_gcloud()
    print(f"  gcloud {sdk.version}, {g.default_workers()} Worker")
    sequential = [g.run_offline(DEPLOY).seconds for _ in range(4)]
    print(f"  ein Aufruf nacheinander:      Median {statistics.median(sequential):.2f} s")
    results, wall = timed(lambda: g.run_many([DEPLOY] * 8))
    assert all(r.accepted for r in results)
    print(
        f"  8 Aufrufe im Pool:            {wall:.2f} s, {wall / 8:.2f} s je Aufruf "
        f"(einzeln je {statistics.mean(r.seconds for r in results):.2f} s)"
    )
    _, one = timed(lambda: g.split_env_vars_many(["A=1"]))
    values = [f"^|^A={i},x|B=y=z" for i in range(500)]
    split, many = timed(lambda: g.split_env_vars_many(values))
    assert split[499] == {"A": "499,x", "B": "y=z"}
    print(
        f"  split_env_vars: 1 Wert {one:.2f} s, 500 Werte in einem Prozess {many:.2f} s "
        f"({(many - one) / 499 * 1000:.1f} ms je weiterem Wert)"
    )
    _, parse = timed(lambda: g.parse_argvs([DEPLOY] * 50))
    print(f"  parse_argvs: 50 Befehlszeilen {parse:.2f} s")
    files = sorted((ROOT / "cloudrun").glob("*/*.yaml"))
    _, read = timed(lambda: yv.read_gcloud_many([p.read_text() for p in files]))
    print(f"  YAML wie gcloud: {len(files)} Manifeste {read:.2f} s")
    env = {
        "IMAGE_TAG": "v1",
        "DATABASE_URL": "x",
        "REDIS_URL": "x",
        "LITELLM_MASTER_KEY": "x",
        "LANGFUSE_PUBLIC_KEY": "x",
        "LANGFUSE_SECRET_KEY": "x",
        "OPENAI_API_KEY": "x",
    }
    targets = ["migrate", "web", "worker", "agenten-worker", "beat", "litellm"]
    runs, script = timed(
        lambda: g.run_scripts_offline([(ROOT / "cloudrun" / "staging" / "deploy.sh", env, [t]) for t in targets])
    )
    calls = sum(len(r.calls) for r in runs)
    print(f"  staging/deploy.sh, 6 Ziele parallel: {calls} gcloud-Aufrufe in {script:.2f} s")
    ok = many <= TARGET_SPLIT_500_S
    print(f"  {'✓' if ok else '✗'} 500 Werte ≤ {TARGET_SPLIT_500_S:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
