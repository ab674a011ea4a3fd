"""Docker engine and compose CLI detection; small subprocess helpers."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

from umgebungsmatrix.errors import InputError

ENGINE_TIMEOUT = 15


class DockerUnavailable(InputError):
    """No usable docker engine or compose CLI; German reason in str()."""


class DockerFailed(InputError):
    """A docker command failed; German message with the command's output tail."""


@dataclass(frozen=True)
class Compose:
    """The compose CLI found: argv prefix and major version (1 or 2)."""

    argv: tuple[str, ...]
    major: int

    def __str__(self) -> str:
        return " ".join(self.argv) + f" (v{self.major})"


def _quiet(argv: list[str], timeout: float = ENGINE_TIMEOUT) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def unavailable_reason() -> str | None:
    """None when docker and a compose CLI work, else the German reason."""
    try:
        engine_ok()
        compose_cli()
    except DockerUnavailable as exc:
        return str(exc)
    return None


@functools.cache
def engine_ok() -> str:
    """Server version of the running engine; DockerUnavailable otherwise."""
    if shutil.which("docker") is None:
        raise DockerUnavailable("kein `docker`-Programm im PATH (Docker ist nicht installiert)")
    done = _quiet(["docker", "version", "--format", "{{.Server.Version}}"])
    if done is None or done.returncode != 0 or not done.stdout.strip():
        detail = (done.stderr.strip().splitlines() or ["keine Antwort"])[-1] if done else "Zeitüberschreitung"
        raise DockerUnavailable(f"die Docker-Engine läuft nicht oder ist nicht erreichbar ({detail})")
    return done.stdout.strip()


@functools.cache
def compose_cli() -> Compose:
    """Prefer `docker compose` (v2), fall back to `docker-compose` (v1)."""
    done = _quiet(["docker", "compose", "version", "--short"])
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return Compose(("docker", "compose"), _major(done.stdout, 2))
    if shutil.which("docker-compose"):
        done = _quiet(["docker-compose", "version", "--short"])
        if done is not None and done.returncode == 0:
            return Compose(("docker-compose",), _major(done.stdout, 1))
    raise DockerUnavailable("weder `docker compose` (v2) noch `docker-compose` (v1) ist installiert")


def _major(version: str, default: int) -> int:
    text = version.strip().lstrip("v")
    head = text.split(".", 1)[0]
    return int(head) if head.isdigit() else default


@dataclass(frozen=True)
class Builder:
    """How to run `docker build`: argv prefix, environment, BuildKit or not."""

    argv: tuple[str, ...]
    env: dict[str, str]
    buildkit: bool


@functools.cache
def builder() -> Builder:
    """Prefer BuildKit (far faster with the vfs storage driver): via buildx,
    or via a docker client older than 23 that has BuildKit built in.
    Otherwise the classic builder."""
    env = dict(os.environ)
    done = _quiet(["docker", "buildx", "version"])
    if done is not None and done.returncode == 0:
        return Builder(("docker", "build", "--progress", "plain"), env, True)
    for binary in _all_dockers():
        done = _quiet([binary, "version", "--format", "{{.Client.Version}}"])
        if done is not None and done.returncode == 0 and 0 < _major(done.stdout, 99) < 23:
            return Builder((binary, "build", "--progress", "plain"), {**env, "DOCKER_BUILDKIT": "1"}, True)
    return Builder(("docker", "build"), {**env, "DOCKER_BUILDKIT": "0"}, False)


def _all_dockers() -> list[str]:
    seen: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder, "docker")
        if os.access(candidate, os.X_OK) and os.path.realpath(candidate) not in map(os.path.realpath, seen):
            seen.append(candidate)
    return seen


def docker(*args: str, timeout: float = 120, check: bool = True,
           input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS`, capture output; DockerFailed with German message on error."""
    argv = ["docker", *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input_text)
    except subprocess.TimeoutExpired:
        raise DockerFailed(f"`{' '.join(argv[:4])} …` brauchte länger als {timeout:.0f} s") from None
    if check and done.returncode != 0:
        raise DockerFailed(f"`{' '.join(argv[:4])} …` schlug fehl: {_tail(done.stderr or done.stdout)}")
    return done


def _tail(text: str, lines: int = 12) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n    " + "\n    ".join(kept) if kept else "(keine Ausgabe)"


def wait_for_engine(seconds: float = 60) -> str:
    """Poll until the engine answers (used after starting dockerd in CI)."""
    deadline = time.monotonic() + seconds
    while True:
        engine_ok.cache_clear()
        try:
            return engine_ok()
        except DockerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
