"""One labelled run of the generated compose stack.

    run = ComposeRun(facts, offline=True, progress=print)
    run.sweep()                 # leftovers of earlier runs (dead owners only)
    run.up()                    # compose up -d, then wait until healthy
    run.containers()            # service -> Container (ports, hostname, ...)
    run.down()                  # down -v --remove-orphans + label sweep; idempotent

Every service, network and volume carries the labels umgebungsmatrix.run
and umgebungsmatrix.pid (run override), so a run that was killed hard is
cleaned up by the next one; so are the run's image pins (dockerstack.images:
tags named after the run). Secrets are random per run and live in a temp env
file; the developer's own .env is never read or touched.

Compose (the CLI) creates and starts the stack; everything else talks to the
engine through the docker SDK: state, health, ports, logs, exec, removal.

Host ports: the run's compose file is rendered from facts whose published
ports are 0, so the engine picks free host ports (Docker: host port 0 means
"any free port"). Two runs at once, and a Postgres or Redis of the developer
on 5432/6379, do not collide; the checks read the ports the engine chose.
The committed compose file keeps its documented ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE
from umgebungsmatrix.artifacts.offline_override import PATH as OFFLINE_FILE
from umgebungsmatrix.artifacts.offline_override import image_env
from umgebungsmatrix.errors import InputError
from umgebungsmatrix.facts import Facts

from . import engine
from . import images as offline_images
from .engine import DockerFailed
from .progress import run_logged
from .run_override import LABEL_PID, LABEL_RUN, run_env_file, run_override

UP_TIMEOUT = 300.0  # cold container creation with vfs is slow
HEALTH_TIMEOUT = 180.0
PROJECT_LABEL = "com.docker.compose.project"
WORKDIR_PREFIX = "umx-docker-"
SERVICE_LABEL = "com.docker.compose.service"


class StackFailed(InputError):
    """The compose stack did not come up; German message with details."""


@dataclass(frozen=True)
class Container:
    id: str
    service: str
    hostname: str
    state: str
    health: str | None  # None: no healthcheck
    ports: dict[int, tuple[str, int]]  # container port -> (host ip, host port)
    env_names: frozenset[str] = frozenset()  # names of the variables the container runs with (image's and compose's)

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in (None, "healthy")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ephemeral_ports(facts: Facts) -> Facts:
    """The same facts, with every published port of the compose stage set to 0 (engine picks a free one).

    Only the `published_port` of compose services changes (`127.0.0.1:0:5432`); service
    names, container ports, healthchecks and everything else render as committed.
    """
    stage = facts.compose_stage
    services = tuple(replace(s, published_port=0) if s.published_port is not None else s for s in stage.services)
    run_stage = replace(stage, services=services)
    stages = tuple(run_stage if s is stage else s for s in facts.stages)
    return replace(facts, compose_stage=run_stage, stages=stages, cache={}, memo={})


class ComposeRun:
    def __init__(
        self,
        facts: Facts,
        *,
        offline: bool,
        images: dict[str, str] | None = None,
        progress: Callable[[str], None] = print,
        schema: Path | None = None,
        schema_env: str = "",
        schema_services: tuple[str, ...] = (),
    ):
        self.facts = facts
        self.offline = offline
        self.images = images or {}  # offline image name -> content-hash tag
        self.pinned: dict[str, str] = {}  # offline image name -> this run's pin (what compose starts)
        self.progress = progress
        self.compose = engine.compose_cli()
        self.run_id = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.project = f"umx-{self.run_id}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{self.run_id}-"))
        # the in-memory render of the facts, never a stale file on disk; host ports chosen by the engine
        rendered = render_all(ephemeral_ports(facts))
        self.compose_file = self._write(COMPOSE_FILE, rendered[COMPOSE_FILE])
        self.offline_file = self._write(OFFLINE_FILE, rendered[OFFLINE_FILE])
        doc = yaml.safe_load(rendered[COMPOSE_FILE])
        self.env_text, self.password = run_env_file(facts)
        self._write_project(doc, schema, schema_env, list(schema_services))
        self.started = False
        self.closed = False

    # -- files of the run ------------------------------------------------------
    def _write(self, rel: str, text: str) -> Path:
        path = self.workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _write_project(self, doc, schema, schema_env, schema_services) -> None:
        """Project directory mirrors the repo layout, so `../.env` resolves to the run's env file."""
        self.project_dir = self.workdir / posixpath.dirname(COMPOSE_FILE)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        env_path = self.workdir / self.facts.compose_stage.env_file
        env_path.parent.mkdir(parents=True, exist_ok=True)
        env_path.write_text(self.env_text, encoding="utf-8")
        env_path.chmod(0o600)
        override = run_override(
            doc, self.run_id, os.getpid(), schema=schema, schema_env=schema_env, schema_services=schema_services
        )
        self.run_file = self.workdir / "docker-compose.run.yml"
        self.run_file.write_text(yaml.safe_dump(override, sort_keys=False), encoding="utf-8")

    def files(self) -> list[Path]:
        return [self.compose_file, *([self.offline_file] if self.offline else []), self.run_file]

    def argv(self, *args: str) -> list[str]:
        argv = [*self.compose.argv, "--project-name", self.project, "--project-directory", str(self.project_dir)]
        argv += ["--env-file", str(self.workdir / self.facts.compose_stage.env_file)]
        for file in self.files():
            argv += ["-f", str(file)]
        return argv + list(args)

    def env(self) -> dict[str, str]:
        """The CLI's environment: the caller's, without COMPOSE_* and without the matrix variables
        (Compose interpolates a variable from the shell before the env file: a developer's exported
        DATABASE_URL must not replace the run's)."""
        own = set(self.facts.matrix.variablen)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_") and k not in own}
        env.update({"COMPOSE_HTTP_TIMEOUT": "600", "DOCKER_CLIENT_TIMEOUT": "600"})
        env.update({image_env(name): ref for name, ref in (self.pinned or self.images).items()})
        return env

    def config(self) -> dict[str, Any]:
        """The config Compose resolves for this run, every profile enabled (StackFailed when it refuses)."""
        profiles = sorted({s.profile for s in self.facts.compose_stage.services if s.profile})
        args = [a for p in profiles for a in ("--profile", p)] if self.compose.major >= 2 else []
        args += ["config", *(["--format", "json"] if self.compose.major >= 2 else [])]
        done = subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackFailed(f"`compose config` schlug fehl (Exit {done.returncode}):\n{_indent(done.stderr.strip())}")
        data = json.loads(done.stdout) if self.compose.major >= 2 else yaml.safe_load(done.stdout)
        return data if isinstance(data, dict) else {}

    # -- lifecycle -------------------------------------------------------------
    def up(self) -> None:
        self.started = True
        if self.offline and self.images:
            self.pinned = offline_images.pin(self.facts, self.images, self.run_id)
        args = ["up", "-d", "--no-build"] + (["--no-color"] if self.compose.major == 1 else [])
        self.progress(f"→ {self.compose} up (Projekt {self.project}) …")
        code, tail = run_logged(self.argv(*args), "compose", env=self.env(), show=_compose_line)
        if code != 0:
            busy = _BUSY_PORT.search(tail)
            if busy:
                raise StackFailed(
                    f"Port {busy.group(1) or busy.group(2)} ist belegt, obwohl die Engine die Host-Ports "
                    f"wählt (Port-Bereich der Engine erschöpft?).\n{_indent(tail)}"
                )
            hint = ""
            if not self.offline and any(
                w in tail.lower()
                for w in ("pull access denied", "manifest unknown", "unauthorized", "no such host", "denied")
            ):
                hint = (
                    "\nOnline braucht Zugriff auf alle Images der Compose-Datei (auch die eigenen "
                    "Artefakte); ohne Registry: --offline"
                )
            raise StackFailed(f"`compose up` schlug fehl (Exit {code}):\n{_indent(tail)}{self._logs_hint()}{hint}")
        self.wait_healthy()

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT) -> dict[str, Container]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.containers()
            dead = [c for c in found.values() if c.state in ("exited", "dead") or c.health == "unhealthy"]
            if dead:
                raise StackFailed(self._explain(dead, "ist ausgefallen oder ungesund"))
            if found and all(c.ready for c in found.values()):
                return found
            if time.monotonic() > deadline:
                waiting = [c for c in found.values() if not c.ready]
                raise StackFailed(self._explain(waiting, f"ist nach {timeout:.0f} s nicht gesund"))
            time.sleep(0.5)

    def containers(self) -> dict[str, Container]:
        api = engine.client().api
        with engine.api("Container des Laufs auflisten"):
            listed = api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"})
        out: dict[str, Container] = {}
        for item in listed:
            try:
                with engine.api("Container prüfen"):
                    info = api.inspect_container(item["Id"])
            except engine.not_found():  # removed meanwhile
                continue
            labels = info["Config"].get("Labels") or {}
            state = info["State"]
            ports = {}
            for key, bindings in (info["NetworkSettings"].get("Ports") or {}).items():
                if bindings:
                    ports[int(key.split("/")[0])] = (bindings[0]["HostIp"] or "127.0.0.1", int(bindings[0]["HostPort"]))
            service = labels.get(SERVICE_LABEL, "")
            out[service or info["Name"]] = Container(
                info["Id"],
                service,
                info["Config"]["Hostname"],
                state["Status"],
                (state.get("Health") or {}).get("Status"),
                ports,
                frozenset(item.split("=", 1)[0] for item in info["Config"].get("Env") or []),
            )
        return out

    def logs(self, container: Container, tail: int = 40) -> str:
        try:
            with engine.api("Logs lesen"):
                raw = engine.client().api.logs(container.id, tail=tail)
        except (engine.not_found(), DockerFailed):
            return "(keine Logs: Container nicht mehr da)"
        return raw.decode("utf-8", errors="replace").strip()

    def exec_detached(self, container: Container, argv: list[str], env: dict[str, str]) -> None:
        api = engine.client().api
        with engine.api(f"Befehl im Container „{container.service}“ starten"):
            exec_id = api.exec_create(container.id, argv, environment=env)
            api.exec_start(exec_id, detach=True)

    def down(self) -> None:
        """Remove everything of this run: containers, networks, volumes, image pins. Idempotent.

        No `compose down`: a throw-away stack needs no graceful stop, and the
        labels name every object of the run (removed in parallel; the vfs
        storage driver deletes slowly)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.started:
                self.progress(f"→ Entferne Container, Netze und Volumes (Projekt {self.project}) …")
                with contextlib.suppress(DockerFailed):  # the label sweep below tries again
                    remove_containers([c.id for c in self.containers().values()])
        finally:
            try:
                # until a sweep finds nothing: a create in flight during an interrupt may land late
                for attempt in range(4):
                    if not sweep(label_value=self.run_id, progress=lambda _m: None):
                        break
                    if attempt:
                        time.sleep(1)
            finally:
                shutil.rmtree(self.workdir, ignore_errors=True)

    # -- messages --------------------------------------------------------------
    def _explain(self, bad: list[Container], what: str) -> str:
        parts = []
        for c in bad:
            state = c.state + (f", {c.health}" if c.health else "")
            parts.append(f"Dienst „{c.service}“ {what} ({state}). Letzte Logzeilen:\n{_indent(self.logs(c, 15))}")
        return "\n".join(parts)

    def _logs_hint(self) -> str:
        try:
            bad = [c for c in self.containers().values() if not c.ready]
        except DockerFailed:
            return ""
        return ("\n" + self._explain(bad, "läuft nicht")) if bad else ""


# a host process holds the port (docker-proxy), or another container publishes it
_BUSY_PORT = re.compile(
    r"listen tcp[46]? (\S+): bind: address already in use|Bind for (\S+) failed: port is already allocated"
)


def _compose_line(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in ("creat", "start", "health", "error", "warn", "pull"))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines())


def remove_containers(ids: list[str]) -> int:
    """Remove containers with their anonymous volumes, all at once; how many were removed."""
    if not ids:
        return 0
    api = engine.client().api

    def remove(cid: str) -> int:
        try:
            with engine.api("Container entfernen"):
                api.remove_container(cid, force=True, v=True)
            return 1
        except engine.not_found():
            return 0
        except DockerFailed:  # e.g. removal already in progress: the next sweep gets it
            return 0

    with ThreadPoolExecutor(max_workers=min(len(ids), 8)) as pool:
        return sum(pool.map(remove, ids))


def sweep(label_value: str | None = None, progress: Callable[[str], None] = print) -> int:
    """Remove containers, networks, volumes and image pins of runs whose owner is gone
    (or, with label_value, of exactly that run). Returns how many were found."""
    api = engine.client().api
    selector = {"label": LABEL_RUN + (f"={label_value}" if label_value else "")}

    def stale(labels: dict[str, str] | None) -> bool:
        pid_text = (labels or {}).get(LABEL_PID, "")
        return bool(label_value) or not (pid_text.isdigit() and _alive(int(pid_text)))

    with engine.api("Container früherer Läufe auflisten"):
        ids = [c["Id"] for c in api.containers(all=True, filters=selector) if stale(c.get("Labels"))]
    remove_containers(ids)
    found = len(ids)
    with engine.api("Netze früherer Läufe auflisten"):
        networks = [n["Id"] for n in api.networks(filters=selector) if stale(n.get("Labels"))]
    with engine.api("Volumes früherer Läufe auflisten"):
        volumes = [v["Name"] for v in (api.volumes(filters=selector).get("Volumes") or ()) if stale(v.get("Labels"))]
    for remove, names in ((api.remove_network, networks), (api.remove_volume, volumes)):
        for name in names:
            try:
                with engine.api("Netz/Volume entfernen"):
                    remove(name)
            except (engine.not_found(), DockerFailed):
                continue
    found += len(networks) + len(volumes)
    found += offline_images.sweep_pins(
        (lambda run_id: run_id == label_value) if label_value else (lambda run_id: not _run_alive(run_id))
    )
    if not label_value:
        found += _sweep_workdirs()
    if found and not label_value:
        progress(f"✓ Reste früherer Läufe entfernt: {found} Container/Netze/Volumes/Image-Tags/Verzeichnisse")
    return found


def _run_alive(run_id: str) -> bool:
    pid = run_id.split("-", 1)[0]
    return not pid.isdigit() or _alive(int(pid))  # unknown form: not ours to judge, keep it


def _sweep_workdirs() -> int:
    """Temp dirs (with the run's throw-away env file) of runs whose process is gone."""
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        pid = path.name[len(WORKDIR_PREFIX) :].split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
