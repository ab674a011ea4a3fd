"""One labelled run of the generated compose stack.

    run = ComposeRun(facts, offline=True, progress=print)
    run.sweep()                 # leftovers of earlier runs (dead owners only)
    run.up()                    # compose up -d, then wait until healthy
    run.containers()            # service -> Container (ports, hostname, ...)
    run.down()                  # down -v --remove-orphans + label sweep; idempotent

Every service, network and volume carries the labels umgebungsmatrix.run
and umgebungsmatrix.pid (run override), so a run that was killed hard is
cleaned up by the next one. Secrets are random per run and live in a temp
env file; the developer's own .env is never read or touched.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE
from umgebungsmatrix.artifacts.offline_override import PATH as OFFLINE_FILE
from umgebungsmatrix.artifacts.offline_override import image_env
from umgebungsmatrix.errors import InputError
from umgebungsmatrix.facts import Facts

from . import engine
from .engine import DockerFailed
from .run_override import LABEL_PID, LABEL_RUN, run_env_file, run_override
from .progress import run_logged

UP_TIMEOUT = 300.0       # cold container creation with vfs is slow
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
    health: str | None                  # None: no healthcheck
    ports: dict[int, tuple[str, int]]   # container port -> (host ip, host port)

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


class ComposeRun:
    def __init__(self, facts: Facts, *, offline: bool, images: dict[str, str] | None = None,
                 progress: Callable[[str], None] = print, schema: Path | None = None,
                 schema_env: str = "", schema_services: tuple[str, ...] = ()):
        self.facts = facts
        self.offline = offline
        self.images = images or {}
        self.progress = progress
        self.compose = engine.compose_cli()
        self.run_id = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.project = f"umx-{self.run_id}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{self.run_id}-"))
        # the in-memory render of the facts, never a stale file on disk
        rendered = render_all(facts)
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

    def _write_project(self, doc, schema, schema_env, schema_services) -> None:  # noqa: ANN001
        """Project directory mirrors the repo layout, so `../.env` resolves to the run's env file."""
        self.project_dir = self.workdir / posixpath.dirname(COMPOSE_FILE)
        self.project_dir.mkdir(parents=True, exist_ok=True)
        env_path = self.workdir / self.facts.compose_stage.env_file
        env_path.parent.mkdir(parents=True, exist_ok=True)
        env_path.write_text(self.env_text, encoding="utf-8")
        env_path.chmod(0o600)
        override = run_override(doc, self.run_id, os.getpid(), schema, schema_env, schema_services)
        self.run_file = self.workdir / "docker-compose.run.yml"
        self.run_file.write_text(yaml.safe_dump(override, sort_keys=False), encoding="utf-8")

    def files(self) -> list[Path]:
        out = [self.compose_file]
        if self.offline:
            out.append(self.offline_file)
        return out + [self.run_file]

    def argv(self, *args: str) -> list[str]:
        argv = [*self.compose.argv, "--project-name", self.project, "--project-directory", str(self.project_dir)]
        for file in self.files():
            argv += ["-f", str(file)]
        return argv + list(args)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env.update({"COMPOSE_HTTP_TIMEOUT": "600", "DOCKER_CLIENT_TIMEOUT": "600"})
        env.update({image_env(name): tag for name, tag in self.images.items()})
        return env

    # -- lifecycle -------------------------------------------------------------
    def up(self) -> None:
        self.started = True
        args = ["up", "-d", "--no-build"] + (["--no-color"] if self.compose.major == 1 else [])
        self.progress(f"→ {self.compose} up (Projekt {self.project}) …")
        code, tail = run_logged(self.argv(*args), "compose", env=self.env(), show=_compose_line)
        if code != 0:
            busy = re.search(r"listen tcp[46]? (\S+): bind: address already in use", tail)
            if busy:
                raise StackFailed(f"Port {busy.group(1)} ist belegt (ein anderer Prozess oder ein zweiter "
                                  "Docker-Lauf); die Compose-Datei veröffentlicht feste Ports. Port freigeben "
                                  f"und erneut starten.\n{_indent(tail)}")
            hint = ""
            if not self.offline and any(w in tail.lower() for w in ("pull access denied", "manifest unknown",
                                                                     "unauthorized", "no such host", "denied")):
                hint = ("\nOnline braucht Zugriff auf alle Images der Compose-Datei (auch die eigenen "
                        "Artefakte); ohne Registry: --offline")
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
        ids = engine.docker("ps", "-aq", "--filter", f"label={PROJECT_LABEL}={self.project}").stdout.split()
        if not ids:
            return {}
        out: dict[str, Container] = {}
        for info in json.loads(engine.docker("inspect", *ids).stdout):
            labels = info["Config"].get("Labels") or {}
            state = info["State"]
            ports = {}
            for key, bindings in (info["NetworkSettings"].get("Ports") or {}).items():
                if bindings:
                    ports[int(key.split("/")[0])] = (bindings[0]["HostIp"] or "127.0.0.1",
                                                     int(bindings[0]["HostPort"]))
            out[labels.get(SERVICE_LABEL, info["Name"])] = Container(
                info["Id"], labels.get(SERVICE_LABEL, ""), info["Config"]["Hostname"], state["Status"],
                (state.get("Health") or {}).get("Status"), ports)
        return out

    def logs(self, service_container: Container, tail: int = 40) -> str:
        done = engine.docker("logs", "--tail", str(tail), service_container.id, check=False)
        return (done.stdout + done.stderr).strip()

    def exec_detached(self, container: Container, argv: list[str], env: dict[str, str]) -> None:
        flags = [item for key, value in env.items() for item in ("-e", f"{key}={value}")]
        engine.docker("exec", "-d", *flags, container.id, *argv)

    def down(self) -> None:
        """Remove everything of this run: containers, networks, volumes. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.started:
                self.progress(f"→ {self.compose} down -v --remove-orphans (Projekt {self.project}) …")
                self._remove_containers()
                run_logged(self.argv("down", "-v", "--remove-orphans", "--timeout", "5"), "compose",
                           env=self.env(), show=lambda _line: False)
        finally:
            for _attempt in range(3):  # a create in flight during an interrupt may land late
                if not sweep(label_value=self.run_id, progress=lambda _m: None):
                    break
                time.sleep(1)
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _remove_containers(self) -> None:
        """A throw-away stack needs no graceful stop: remove all containers at
        once (in parallel; the vfs storage driver deletes slowly), then
        `down` only has networks, volumes and orphans left."""
        try:
            ids = [c.id for c in self.containers().values()]
        except DockerFailed:
            return
        procs = [subprocess.Popen(["docker", "rm", "--force", "--volumes", cid], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for cid in ids]
        for proc in procs:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()

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


def _compose_line(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in ("creat", "start", "health", "error", "warn", "pull"))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines())


def sweep(label_value: str | None = None, progress: Callable[[str], None] = print) -> int:
    """Remove containers, networks and volumes of runs whose owner is gone
    (or, with label_value, of exactly that run). Returns how many were removed."""
    selector = f"label={LABEL_RUN}" + (f"={label_value}" if label_value else "")

    def stale(pid_text: str) -> bool:
        return bool(label_value) or not (pid_text.isdigit() and _alive(int(pid_text)))

    removed = 0
    listing = engine.docker("ps", "-a", "--filter", selector, "--format",
                            f'{{{{.ID}}}} {{{{.Label "{LABEL_PID}"}}}}', check=False).stdout
    ids = [line.split()[0] for line in listing.splitlines() if line.strip() and stale(_second(line))]
    if ids:
        engine.docker("rm", "-f", "-v", *ids, check=False, timeout=300)
        removed += len(ids)
    for kind in ("network", "volume"):
        fmt = "{{.ID}}" if kind == "network" else "{{.Name}}"
        listing = engine.docker(kind, "ls", "--filter", selector, "--format",
                                f'{fmt} {{{{.Label "{LABEL_PID}"}}}}', check=False).stdout
        names = [line.split()[0] for line in listing.splitlines() if line.strip() and stale(_second(line))]
        if names:
            engine.docker(kind, "rm", *names, check=False, timeout=120)
            removed += len(names)
    if not label_value:
        removed += _sweep_workdirs()
    if removed and not label_value:
        progress(f"✓ Reste früherer Läufe entfernt: {removed} Container/Netze/Volumes/Verzeichnisse")
    return removed


def _sweep_workdirs() -> int:
    """Temp dirs (with the run's throw-away env file) of runs whose process is gone."""
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        pid = path.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _second(line: str) -> str:
    parts = line.split()
    return parts[1] if len(parts) > 1 else ""
