"""The Docker stack (`make check-stack STACK=docker`): the generated compose
file really started, the same live checks as the embedded provider, the same
broken realities FAIL, and no container, network or volume of a run
survives success, failure or interruption.

Without a Docker engine these tests are skipped (with the reason); with
REQUIRE_DOCKER=1 (CI) they fail instead of skipping.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

import test_stack as embedded_cases  # the embedded provider's broken realities, reused as they are
from conftest import ROOT
from checks.stack import live
from checks.stack.plan import build_plan
from checks.stack.result import FAILED, OK
from dockerstack import engine, images, override
from dockerstack.override import LABEL_RUN

REASON = engine.unavailable_reason()
REQUIRED = os.environ.get("REQUIRE_DOCKER") == "1"
docker_only = pytest.mark.skipif(bool(REASON) and not REQUIRED,
                                 reason=f"Docker-Prüfungen übersprungen: {REASON}")
CLI_TIMEOUT = 1800  # a cold run builds every image first


@pytest.fixture()
def docker():
    """Fails (instead of skipping) when Docker is required but missing."""
    if REASON:
        pytest.fail(f"REQUIRE_DOCKER=1, aber {REASON}")


def quiet(_message: str) -> None:
    pass


def cli(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "umgebungsmatrix", "check-stack", "--provider", "docker", *args],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, **kw)


def project_of(stderr: str) -> str:
    found = re.search(r"\(Projekt (umx-[\w-]+)\)", stderr)
    assert found, stderr
    return found.group(1)


def leftovers(project: str) -> list[str]:
    """Containers, networks and volumes that still carry the run's label."""
    run_id = project.removeprefix("umx-")
    out = []
    for kind, fmt in (("container", "{{.Names}}"), ("network", "{{.Name}}"), ("volume", "{{.Name}}")):
        listing = engine.docker(kind, "ls", "--all", "--filter", f"label={LABEL_RUN}={run_id}", "--format", fmt)\
            if kind == "container" else engine.docker(kind, "ls", "--filter", f"label={LABEL_RUN}={run_id}",
                                                      "--format", fmt)
        out += [f"{kind} {name}" for name in listing.stdout.split()]
        listing = engine.docker(kind, "ls", *(["--all"] if kind == "container" else []), "--filter",
                                f"label=com.docker.compose.project={project}", "--format", fmt)
        out += [f"{kind} {name}" for name in listing.stdout.split()]
    return sorted(set(out))


# -- without Docker: what the stack is made of, derived from the matrix ---------------
def test_offline_override_is_derived_from_the_matrix(matrix):
    from macros.compose import compose_stage, planned_services

    doc = yaml.safe_load(override.offline_text(matrix))
    started = [p for p in planned_services(matrix, compose_stage(matrix)) if p.profile is None]
    assert set(doc["services"]) == {p.name for p in started}
    litellm = next(p for p in started if p.art == "litellm")
    kind = matrix.dienstarten["litellm"]
    entry = doc["services"][litellm.name]
    assert entry["command"] == ["--port", str(kind.port)]
    assert entry["environment"] == {override.STANDIN_HEALTH_ENV: kind.health_pfad}
    for p in started:
        image = images.IMAGE_FOR_KIND[p.art]
        assert doc["services"][p.name]["image"] == f"${{{override.image_env(image)}:-{images.latest_of(image)}}}"


def test_run_env_file_has_random_consistent_secrets(matrix):
    text, password = override.run_env_file(matrix)
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    pg = matrix.plattform.postgres
    assert values[pg.url_env] == f"postgresql://{pg.benutzer}:{password}@postgres:{pg.port}/{pg.datenbank}"
    assert values["POSTGRES_PASSWORD"] == password
    assert all("<" not in v and v for v in values.values())
    assert override.run_env_file(matrix)[1] != password


def test_run_override_labels_everything():
    compose = yaml.safe_load((ROOT / "compose" / "docker-compose.yml").read_text(encoding="utf-8"))
    doc = override.run_override(compose, "r1", 42, Path("/tmp/s.sql"), "SCHEMA", ["web"])
    labelled = {**doc["services"], **doc["networks"], **doc.get("volumes", {})}
    assert set(doc["services"]) == set(compose["services"]) and set(doc["volumes"]) == set(compose["volumes"])
    assert all(v["labels"] == {LABEL_RUN: "r1", override.LABEL_PID: "42"} for v in labelled.values())
    assert doc["services"]["web"]["environment"] == {"SCHEMA": override.SCHEMA_MOUNT}
    assert "volumes" not in doc["services"]["worker"]


def test_image_tag_follows_the_build_context(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    first = images.context_digest(ctx, {"A": "1"})
    assert images.context_digest(ctx, {"A": "1"}) == first
    assert images.context_digest(ctx, {"A": "2"}) != first
    (ctx / "Dockerfile").write_text("FROM scratch\n# changed\n")
    assert images.context_digest(ctx, {"A": "1"}) != first


def test_every_started_kind_has_an_offline_image(matrix):
    from macros.compose import compose_stage, planned_services

    kinds = [p.art for p in planned_services(matrix, compose_stage(matrix)) if p.profile is None]
    names = images.needed_images(kinds)
    assert all((images.OFFLINE_DIR / name / "Dockerfile").is_file() for name in names)


# -- with Docker -------------------------------------------------------------------------
@docker_only
def test_docker_stack_passes_every_check_and_leaves_nothing(docker):
    done = cli("--json")
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert {p["id"] for p in report["pruefungen"]} == {c[0] for c in live.CHECKS}
    assert all(p["status"] == OK for p in report["pruefungen"]), done.stdout
    assert "Compose-Stack gesund" in done.stderr and "Traceback" not in done.stderr
    assert leftovers(project_of(done.stderr)) == []


@docker_only
def test_modified_schema_fails_under_docker_and_leaves_nothing(docker, matrix, tmp_path):
    declared = (ROOT / "docs" / "rag" / "schema.sql").read_text(encoding="utf-8")
    dim = matrix.plattform.rag.embedding_dimension
    modified = tmp_path / "schema.sql"
    modified.write_text(declared.replace(f"vector({dim})", f"vector({dim // 2})")
                        .replace("FORCE ROW LEVEL SECURITY", "NO FORCE ROW LEVEL SECURITY"), encoding="utf-8")
    modified.chmod(0o644)
    done = cli("--json", "--schema", str(modified), "--nur", "migration", "--nur", "schema")
    assert done.returncode == 1, done.stdout + done.stderr[-4000:]
    results = {p["id"]: p for p in json.loads(done.stdout)["pruefungen"]}
    schema = "\n".join(line["text"] for line in results["schema"]["lines"])
    assert results["migration"]["status"] == FAILED and results["schema"]["status"] == FAILED
    assert f"deklariert vector({dim}), live vector({dim // 2})" in schema
    assert "RLS deklariert aktiv, erzwungen, live aktiv" in schema
    assert leftovers(project_of(done.stderr)) == []


# The embedded provider's broken-reality tests, run unchanged against a fresh Docker stack each.
BROKEN_REALITIES = ("test_row_or_message_at_start_fails_empty_start_and_missing_extension_fails_pgvector",
                    "test_worker_on_wrong_queues_fails_queue_check")


@docker_only
@pytest.mark.parametrize("case", BROKEN_REALITIES)
def test_broken_realities_fail_under_docker_too(docker, case, matrix, live, monkeypatch):
    from checks.stack.docker import DockerProvider

    test = getattr(embedded_cases, case)
    plan = build_plan(live)
    provider = DockerProvider(plan, quiet)
    with provider as stack:
        project = provider.run.project
        available = {"stack": stack, "matrix": matrix, "plan": plan, "monkeypatch": monkeypatch}
        test(**{name: available[name] for name in inspect.signature(test).parameters})
    assert provider.run is None and leftovers(project) == []


@docker_only
def test_busy_port_is_a_clear_error_and_leaves_nothing(docker, matrix):
    from macros.compose import compose_stage

    host = compose_stage(matrix).compose.lokale_adresse
    port = matrix.plattform.redis.port  # published by a service that starts first: fails fast
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT of earlier runs
        try:
            blocker.bind((host, port))
            blocker.listen()
        except OSError:
            pass  # a listener of someone else: just as busy
        done = cli()
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert f"✗ Port {host}:{port} ist belegt" in done.stderr and "Traceback" not in done.stderr
    assert leftovers(project_of(done.stderr)) == []


@docker_only
@pytest.mark.parametrize("signum, wait_for", [(signal.SIGINT, "compose: Creating"), (signal.SIGTERM, "Prüfe")])
def test_interrupted_docker_run_leaves_nothing(docker, signum, wait_for):
    proc = subprocess.Popen([sys.executable, "-m", "umgebungsmatrix", "check-stack", "--provider", "docker"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + CLI_TIMEOUT
    for line in proc.stderr:
        seen.append(line)
        if wait_for in line or time.monotonic() > deadline:
            break
    assert any(wait_for in s for s in seen), "".join(seen)
    project = project_of("".join(seen))
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signum, "".join(seen) + err
    assert "Abgebrochen" in err and "Traceback" not in err
    assert leftovers(project) == []


@docker_only
def test_hard_killed_run_is_swept_by_the_next_start(docker):
    """SIGKILL allows no cleanup; the next run's sweep (same code as `python -m dockerstack sweep`)
    removes what the dead run left, by its labels."""
    proc = subprocess.Popen([sys.executable, "-m", "umgebungsmatrix", "check-stack", "--provider", "docker"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line)
        if "Compose-Stack gesund" in line:
            break
    project = project_of("".join(seen))
    proc.kill()
    proc.wait(timeout=30)
    assert leftovers(project), "a killed run leaves its stack behind"
    done = subprocess.run([sys.executable, "-m", "dockerstack", "sweep"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.returncode == 0 and "Reste früherer Läufe entfernt" in done.stderr + done.stdout, done.stderr
    assert leftovers(project) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"umx-docker-{project.removeprefix('umx-')}-*"))
