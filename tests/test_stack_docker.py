"""The Docker stack (`make check-stack STACK=docker`): the generated compose
file really started, the same live checks as the embedded provider, the same
broken realities FAIL, and no container, network, volume or image pin of a
run survives success, failure or interruption.

The first tests need no engine: what the stack is made of, derived from the
facts. Without a Docker engine the others are skipped (with the reason);
with REQUIRE_DOCKER=1 (CI) they fail instead of skipping.
"""

from __future__ import annotations

import fcntl
import inspect
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import test_stack as embedded_cases  # the embedded provider's broken realities, reused as they are
import yaml
from conftest import MATRIX, ROOT, facts_of

from checks.stack import live as live_checks
from checks.stack.plan import build_plan
from checks.stack.result import FAILED, OK
from dockerstack import engine, images, run_override, stack
from dockerstack.run_override import LABEL_PID, LABEL_RUN
from umgebungsmatrix.artifacts import offline_override, render_all
from umgebungsmatrix.artifacts.app_facts import schema_file
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_PATH

# One test stack at a time (CPU and the vfs driver's disk copies; the ports are the engine's choice,
# and one test runs two stacks at once on purpose). The group keeps them on one
# worker under `pytest -n … --dist loadgroup` (once pytest-xdist#1386 is fixed: with pytest 9.2 it
# silently does not group); the lock in the `docker` fixture holds in any distribution mode.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

REASON = engine.unavailable_reason()
REQUIRED = os.environ.get("REQUIRE_DOCKER") == "1"
docker_only = pytest.mark.skipif(bool(REASON) and not REQUIRED, reason=f"Docker-Prüfungen übersprungen: {REASON}")
CLI_TIMEOUT = 1800  # a cold run builds every image first
PROJECT_LABEL = "com.docker.compose.project"


STACK_LOCK = Path(tempfile.gettempdir()) / "umgebungsmatrix-docker-tests.lock"


@pytest.fixture()
def docker():
    """Fails (instead of skipping) when Docker is required but missing; holds the engine-wide
    test lock (xdist workers, a second checkout), released by the kernel if the process dies."""
    if REASON:
        pytest.fail(f"REQUIRE_DOCKER=1, aber {REASON}")
    with STACK_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def quiet(_message: str) -> None:
    pass


def umx(*args: str) -> list[str]:
    return [sys.executable, "-m", "umgebungsmatrix", *args]


CHECK_STACK = umx("check-stack", "--provider", "docker")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CHECK_STACK, *args],
        cwd=ROOT,
        env={**ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def compose_installed(version: str) -> bool:
    try:
        engine._compose_cli(version)
    except engine.DockerUnavailable:
        return False
    return True


def project_of(stderr: str) -> str:
    found = re.search(r"\(Projekt (umx-[\w-]+)\)", stderr)
    assert found, stderr
    return found.group(1)


def leftovers(project: str) -> list[str]:
    """Containers, networks, volumes and image pins that still belong to the run."""
    api = engine.client().api
    run_id = project.removeprefix("umx-")
    out: set[str] = set()
    for selector in (f"{LABEL_RUN}={run_id}", f"{PROJECT_LABEL}={project}"):
        filters = {"label": selector}
        out |= {f"container {c['Names'][0]}" for c in api.containers(all=True, filters=filters)}
        out |= {f"network {n['Name']}" for n in api.networks(filters=filters)}
        out |= {f"volume {v['Name']}" for v in api.volumes(filters=filters).get("Volumes") or ()}
    pins = api.images(name=f"{images.PIN_REPOSITORY}/*")
    out |= {f"image {ref}" for image in pins for ref in image.get("RepoTags") or () if ref.endswith(f":{run_id}")}
    return sorted(out)


def started_services(facts):
    """The compose stage's services that `compose up` starts (no profile)."""
    return [s for s in facts.compose_stage.services if s.profile is None]


# -- without Docker: what the stack is made of, derived from the facts ----------------------------
def test_offline_override_is_derived_from_the_facts(live):
    text = render_all(live)[offline_override.PATH]
    doc = yaml.safe_load(text)
    started = started_services(live)
    assert set(doc["services"]) == {s.name for s in started}
    for service in started:
        entry = doc["services"][service.name]
        image = offline_override.offline_image(service)
        assert image is not None, f"{service.name} hat kein Offline-Image"
        if service.artifact is not None:  # every own artifact runs the one reference-app image
            assert image == offline_override.APP_IMAGE
        assert entry["image"] == f"${{{offline_override.image_env(image)}:-{offline_override.latest_of(image)}}}"
        if image in offline_override.STANDINS.values():  # a stand-in answers the service's own health path
            assert entry["command"] == ["--port", str(service.port)]
            assert entry["environment"] == {offline_override.STANDIN_HEALTH_ENV: service.health_path}
        else:
            assert "command" not in entry and "environment" not in entry
    skipped = [s.name for s in live.compose_stage.services if s.profile is not None]
    assert (f"Nicht offline verfügbar: {', '.join(skipped)}." in text) == bool(skipped)


def test_run_env_file_has_random_consistent_secrets(live, tmp_path):
    """Random per run, with URL delimiters in the password: percent-encoded in DATABASE_URL, so that
    libpq (the app's driver) reads the service as host and POSTGRES_PASSWORD as password."""
    from psycopg.conninfo import conninfo_to_dict

    from checks.env_file import env_file_findings

    stage = live.compose_stage
    text, password = run_override.run_env_file(live)
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert set(values) == set(stage.secret_variables)
    assert all(v and "<" not in v for v in values.values())
    assert password.endswith(run_override.HOSTILE_TAIL) and "@" in password and "/" in password
    pg = live.platform.postgres
    database = stage.of_role("postgres")[0]
    encoded = quote(password, safe="")
    assert values[pg.url_env] == f"postgresql://{pg.benutzer}:{encoded}@{database.name}:{database.port}/{pg.datenbank}"
    read = conninfo_to_dict(values[pg.url_env])
    assert (read["host"], read["password"]) == (database.name, password)
    (tmp_path / stage.env_file).write_text(text, encoding="utf-8")
    assert env_file_findings(live, tmp_path / stage.env_file) == []
    assert database.secret_names and all(values[name] == password for name in database.secret_names)
    assert run_override.run_env_file(live)[1] != password


def test_run_override_labels_everything(live):
    compose = yaml.safe_load(render_all(live)[COMPOSE_PATH])  # the in-memory render, not the file on disk
    stage = live.compose_stage
    web = next(s.name for s in stage.services if s.entry)
    worker = stage.of_role("worker")[0].name
    doc = run_override.run_override(
        compose, "r1", 42, schema=Path("/tmp/s.sql"), schema_env="SCHEMA", schema_services=[web]
    )
    assert set(doc["services"]) == set(compose["services"]) and set(doc["volumes"]) == set(compose["volumes"])
    assert "default" in doc["networks"]
    labelled = {**doc["services"], **doc["networks"], **doc["volumes"]}
    assert all(v["labels"] == {LABEL_RUN: "r1", LABEL_PID: "42"} for v in labelled.values())
    assert doc["services"][web]["environment"] == {"SCHEMA": run_override.SCHEMA_MOUNT}
    assert doc["services"][web]["volumes"] == [f"/tmp/s.sql:{run_override.SCHEMA_MOUNT}:ro"]
    assert "volumes" not in doc["services"][worker]
    for name, service in compose["services"].items():
        expected = {"interval": run_override.CHECK_HEALTH_INTERVAL} if "healthcheck" in service else None
        assert doc["services"][name].get("healthcheck") == expected


def test_image_tag_follows_the_build_context(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    first = images.context_digest(ctx, {"A": "1"})
    assert images.context_digest(ctx, {"A": "1"}) == first
    assert images.context_digest(ctx, {"A": "2"}) != first
    (ctx / "Dockerfile").write_text("FROM scratch\n# changed\n")
    assert images.context_digest(ctx, {"A": "1"}) != first


def test_every_started_service_has_an_offline_image(live):
    wanted = {offline_override.offline_image(s) for s in started_services(live)}
    assert None not in wanted
    assert set(images.needed_images(live)) == wanted
    assert all((images.OFFLINE_DIR / name / "Dockerfile").is_file() for name in wanted)


def test_app_image_gets_the_rendered_files_not_the_ones_on_disk(live, tmp_path):
    """Generated files inside the app's sources come from the facts' render: a changed
    matrix changes the image even before `make generate` rewrote the file on disk."""
    port = live.platform.health_endpunkt.port
    text, count = re.subn(
        rf"(health_endpunkt:\s*\n\s*port:\s*){port}\b", rf"\g<1>{port + 1}", MATRIX.read_text(encoding="utf-8")
    )
    assert count == 1
    changed = facts_of(text)
    spec = images.SPECS[offline_override.APP_IMAGE]
    images.assemble(spec, changed, tmp_path / "geaendert")
    images.assemble(spec, live, tmp_path / "live")
    rendered = render_all(changed)
    generated = {
        path: tmp_path / "geaendert" / target / path.removeprefix(f"{source}/")
        for source, target in spec.extra(changed)
        for path in rendered
        if path.startswith(f"{source}/")
    }
    assert generated, "das App-Image enthält keine erzeugte Datei"
    assert all(inside.read_text(encoding="utf-8") == rendered[path] for path, inside in generated.items())
    assert any(rendered[path] != (ROOT / path).read_text(encoding="utf-8") for path in generated)
    assert images.context_digest(tmp_path / "geaendert", {}) != images.context_digest(tmp_path / "live", {})


# -- with Docker --------------------------------------------------------------------------------
@docker_only
@pytest.mark.parametrize("compose", ["v2", "v1"])
def test_docker_stack_passes_every_check_and_leaves_nothing(docker, compose):
    """With Compose v2 (what most users run) and v1 (Debian 12's package): the same stack, all green."""
    if not compose_installed(compose):
        if REQUIRED:
            pytest.fail(f"REQUIRE_DOCKER=1, aber Compose {compose} fehlt (.ci/docker-engine start installiert beide)")
        pytest.skip(f"Compose {compose} nicht installiert")
    # a developer's shell with the matrix's variables exported must not reach the run (Compose
    # would interpolate them before the run's env file)
    shell = dict.fromkeys(
        ("DATABASE_URL", "REDIS_URL", "POSTGRES_PASSWORD"), "postgresql://falsch:falsch@nirgendwo:1/x"
    )
    done = cli("--json", env={engine.COMPOSE_ENV: compose, **shell})
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert f"({compose})" in done.stderr
    assert "config: jeder Dienst bekommt genau seine Variablen aus der Matrix" in done.stderr
    assert "Container laufen nur mit ihren eigenen Geheimnissen" in done.stderr
    report = json.loads(done.stdout)
    assert {p["id"] for p in report["pruefungen"]} == {c[0] for c in live_checks.CHECKS}
    assert all(p["status"] == OK for p in report["pruefungen"]), done.stdout
    assert "Compose-Stack gesund" in done.stderr and "Traceback" not in done.stderr
    assert leftovers(project_of(done.stderr)) == []


@docker_only
def test_modified_schema_fails_under_docker_and_leaves_nothing(docker, live, tmp_path):
    declared = (ROOT / schema_file(live)).read_text(encoding="utf-8")
    dim = live.platform.rag.embedding_dimension
    modified = tmp_path / "schema.sql"
    broken = declared.replace(f"vector({dim})", f"vector({dim // 2})")
    modified.write_text(broken.replace("FORCE ROW LEVEL SECURITY", "NO FORCE ROW LEVEL SECURITY"), encoding="utf-8")
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
BROKEN_REALITIES = (
    "test_row_or_message_at_start_fails_empty_start_and_missing_extension_fails_pgvector",
    "test_worker_on_wrong_queues_fails_queue_check",
)


@docker_only
@pytest.mark.parametrize("compose", ["v2", "v1"])
@pytest.mark.parametrize("case", BROKEN_REALITIES)
def test_broken_realities_fail_under_docker_too(docker, case, compose, live, matrix, monkeypatch):
    """The same broken realities fail under both Compose CLIs."""
    from checks.stack.docker import DockerProvider

    if not compose_installed(compose):
        if REQUIRED:
            pytest.fail(f"REQUIRE_DOCKER=1, aber Compose {compose} fehlt (.ci/docker-engine start installiert beide)")
        pytest.skip(f"Compose {compose} nicht installiert")
    monkeypatch.setenv(engine.COMPOSE_ENV, compose)
    test = getattr(embedded_cases, case)
    plan = build_plan(live)
    provider = DockerProvider(plan, quiet)
    with provider as endpoints:
        assert provider.run is not None
        assert provider.run.compose.major == int(compose[1])
        project = provider.run.project
        available = {"stack": endpoints, "matrix": matrix, "plan": plan, "monkeypatch": monkeypatch}
        test(**{name: available[name] for name in inspect.signature(test).parameters})
    assert provider.run is None and leftovers(project) == []


def documented_ports(facts) -> list[tuple[str, int]]:
    """(address, port) of every port the committed compose file publishes for the started services."""
    host = facts.compose_stage.compose.lokale_adresse
    return [(host, s.published_port) for s in started_services(facts) if s.published_port is not None]


def test_run_compose_file_lets_the_engine_choose_host_ports(live):
    """The check's compose file differs from the committed one only in the host ports (0: engine picks)."""
    committed = render_all(live)[COMPOSE_PATH]
    run = render_all(stack.ephemeral_ports(live))[COMPOSE_PATH]
    changed = [(a, b) for a, b in zip(committed.splitlines(), run.splitlines(), strict=True) if a != b]
    published = [s for s in live.compose_stage.services if s.published_port is not None]
    assert len(changed) == len(published)
    for service, (before, after) in zip(published, changed, strict=True):
        assert before.endswith(f":{service.published_port}:{service.port}")
        assert after.endswith(f":0:{service.port}")
    assert committed == (ROOT / COMPOSE_PATH).read_text(encoding="utf-8")


@docker_only
def test_two_runs_at_once_while_the_documented_ports_are_taken(docker, live):
    """A developer's Postgres, Redis, web and LiteLLM on the documented ports (a listening process on
    each, a container on one), and two check runs at the same time: both pass and leave nothing."""
    api = engine.client().api
    taken = documented_ports(live)
    base = images.ensure_all(live, ["base"])["base"]
    run_id = f"{os.getpid()}-{secrets.token_hex(3)}"  # labelled like a run of ours: the sweep knows it
    labels = {LABEL_RUN: run_id, LABEL_PID: str(os.getpid())}
    container_host, container_port = taken[0]
    network = api.create_network(f"umx-test-{run_id}", labels=labels)["Id"]
    holder = api.create_container(
        base,
        ["sleep", "600"],
        labels=labels,
        ports=[container_port],
        host_config=api.create_host_config(
            port_bindings={container_port: (container_host, container_port)}, network_mode=network
        ),
    )["Id"]
    blockers = []
    try:
        api.start(holder)
        for host, port in taken[1:]:
            blocker = socket.socket()
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                blocker.bind((host, port))
                blocker.listen()
            except OSError:
                pass  # a listener of someone else: just as taken
            blockers.append(blocker)
        runs = [
            subprocess.Popen(CHECK_STACK, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=CLI_TIMEOUT) for run in runs]
    finally:
        for blocker in blockers:
            blocker.close()
        stack.sweep(label_value=run_id, progress=quiet)
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err[-4000:]
        assert "belegt" not in err and "Traceback" not in err
        assert leftovers(project_of(err)) == []
    assert leftovers(f"umx-{run_id}") == []


@docker_only
def test_a_run_keeps_its_images_when_another_checkout_prunes(docker, live):
    """Pins survive the removal of the content tag (another checkout's prune); our own
    prune spares tags somebody used recently and removes them once they are old."""
    base = images.ensure_all(live, ["base"])["base"]
    name = f"umxtest-{secrets.token_hex(3)}"  # an image name of its own: the prune touches nothing else
    repo = f"{images.REPOSITORY}/{name}"
    run_id = f"{os.getpid()}-{secrets.token_hex(3)}"
    images.tag_image(base, f"{repo}:inhalt")
    try:
        pinned = images.pin(live, {name: f"{repo}:inhalt"}, run_id)[name]
        engine.client().api.remove_image(f"{repo}:inhalt")  # what a prune elsewhere does
        assert images.image_id(pinned) == images.image_id(base)

        images.tag_image(base, f"{repo}:aktuell")
        images.tag_image(base, f"{repo}:frueher")
        images.prune_stale({name: f"{repo}:aktuell"})
        assert images.image_present(f"{repo}:frueher"), "ein eben benutzter Tag wurde entfernt"
        assert images.prune_stale({name: f"{repo}:aktuell"}, older_than=0) == 1
        assert not images.image_present(f"{repo}:frueher") and images.image_present(f"{repo}:aktuell")
    finally:
        stack.sweep(label_value=run_id, progress=quiet)
        for tag in ("inhalt", "aktuell", "frueher", "latest"):
            if images.image_present(f"{repo}:{tag}"):
                engine.client().api.remove_image(f"{repo}:{tag}")
    assert not images.image_present(pinned) and images.image_present(base)


@docker_only
@pytest.mark.parametrize("signum, wait_for", [(signal.SIGINT, "Creating"), (signal.SIGTERM, "Prüfe")])
def test_interrupted_docker_run_leaves_nothing(docker, signum, wait_for):
    proc = subprocess.Popen(CHECK_STACK, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + CLI_TIMEOUT
    assert proc.stderr is not None
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
    """SIGKILL allows no cleanup; `umgebungsmatrix docker sweep` (the same sweep every run
    starts with) removes what the dead run left, by its labels: stack, image pins, temp dir."""
    proc = subprocess.Popen(
        CHECK_STACK, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seen: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if "Compose-Stack gesund" in line:
            break
    project = project_of("".join(seen))
    proc.kill()
    proc.wait(timeout=30)
    left = leftovers(project)
    assert any(x.startswith("container") for x in left) and any(x.startswith("image") for x in left), left
    done = subprocess.run(
        umx("docker", "sweep"), cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=300, check=False
    )
    assert done.returncode == 0 and "Reste früherer Läufe entfernt" in done.stderr + done.stdout, done.stderr
    assert leftovers(project) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"umx-docker-{project.removeprefix('umx-')}-*"))
