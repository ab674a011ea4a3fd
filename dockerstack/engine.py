"""Docker engine access (docker SDK for Python) and compose CLI detection.

The engine is reached through the docker SDK (`client()`: one cached client
over the socket from DOCKER_HOST or the default); its errors become German
InputErrors (exit 2) with `api(what)`. Two things stay CLI on purpose:
compose itself (`docker compose` v2 or `docker-compose` v1) and
`docker build`/`docker import` (BuildKit and a streamed tar need the CLI;
the SDK only drives the slow classic builder).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from umgebungsmatrix.errors import InputError

if TYPE_CHECKING:
    import docker as sdk

ENGINE_TIMEOUT = 15  # seconds: does the engine answer at all?
API_TIMEOUT = 600  # seconds per API call once it does (removing a container with vfs is slow)


class DockerUnavailable(InputError):
    """No usable docker engine or compose CLI; German reason in str()."""


class DockerFailed(InputError):
    """A docker command or API call failed; German message with the engine's reason."""


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc).strip()
    return (text.splitlines() or ["keine Antwort"])[-1][:300]


@functools.cache
def client() -> sdk.DockerClient:
    """The docker SDK client (cached); DockerUnavailable with a German reason otherwise."""
    try:
        import docker as sdk
    except ImportError:
        raise DockerUnavailable("das Python-Paket „docker“ fehlt in .venv (`make venv` installiert es)") from None
    try:
        found = sdk.from_env(timeout=ENGINE_TIMEOUT)
        found.ping()
    except sdk.errors.DockerException as exc:
        raise DockerUnavailable(_why_unreachable(str(exc))) from None
    found.api.timeout = API_TIMEOUT
    return found


def _why_unreachable(detail: str) -> str:
    """German reason for an engine that does not answer, from the SDK's (English) error."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    start = "Starten: sudo systemctl start docker, oder als root .ci/docker-engine start"
    if "FileNotFoundError" in detail or "No such file" in detail:
        return f"die Docker-Engine läuft nicht: kein Socket unter {where} ({start})"
    if "PermissionError" in detail or "Permission denied" in detail:
        return f"keine Berechtigung für {where}: Benutzer in die Gruppe docker aufnehmen (neu anmelden) oder als root"
    if "Connection refused" in detail:
        return f"die Docker-Engine läuft nicht: {where} nimmt keine Verbindung an ({start})"
    if "timed out" in detail.lower():
        return f"die Docker-Engine unter {where} antwortet nicht innerhalb von {ENGINE_TIMEOUT} s"
    return f"die Docker-Engine unter {where} ist nicht erreichbar ({detail.strip().splitlines()[-1][:200]})"


@contextlib.contextmanager
def api(what: str) -> Iterator[None]:
    """Turn SDK errors inside the block into German InputErrors: `with api("Container auflisten"): ...`.

    docker.errors.NotFound passes unchanged, callers decide what a missing object means."""
    import docker as sdk
    import requests

    try:
        yield
    except sdk.errors.NotFound:
        raise
    except sdk.errors.APIError as exc:
        raise DockerFailed(f"Docker: {what} schlug fehl: {_first_line(exc)}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, sdk.errors.DockerException) as exc:
        raise DockerUnavailable(f"die Docker-Engine antwortet nicht ({what}: {_first_line(exc)})") from None


def not_found() -> type[Exception]:
    """docker.errors.NotFound (the SDK is imported lazily)."""
    import docker as sdk

    return sdk.errors.NotFound


@dataclass(frozen=True)
class Compose:
    """The compose CLI found: argv prefix and major version (1 or 2)."""

    argv: tuple[str, ...]
    major: int

    def __str__(self) -> str:
        return " ".join(self.argv) + f" (v{self.major})"


def _quiet(argv: list[str], timeout: float = ENGINE_TIMEOUT) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
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
    with api("Version abfragen"):
        return str(client().version().get("Version") or "?")


COMPOSE_ENV = "UMX_COMPOSE"  # "v1" or "v2": use exactly that Compose CLI (default: v2 when installed, else v1)


def compose_cli() -> Compose:
    """Prefer `docker compose` (v2), fall back to `docker-compose` (v1); UMX_COMPOSE=v1|v2 forces one.

    DockerUnavailable (German) when none, or not the forced one, is installed.
    """
    return _compose_cli(os.environ.get(COMPOSE_ENV, "").strip().lower())


@functools.cache
def _compose_cli(wanted: str) -> Compose:
    if wanted not in ("", "v1", "v2"):
        raise DockerUnavailable(f"{COMPOSE_ENV}={wanted!r}: erlaubt sind v1 und v2")
    if wanted in ("", "v2"):
        done = _quiet(["docker", "compose", "version", "--short"])
        if done is not None and done.returncode == 0 and done.stdout.strip():
            return Compose(("docker", "compose"), _major(done.stdout, 2))
    if wanted in ("", "v1") and shutil.which("docker-compose"):
        done = _quiet(["docker-compose", "version", "--short"])
        if done is not None and done.returncode == 0:
            return Compose(("docker-compose",), _major(done.stdout, 1))
    if wanted:
        raise DockerUnavailable(f"{COMPOSE_ENV}={wanted}, aber diese Compose-Version ist nicht installiert")
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
    if shutil.which("docker") is None:
        raise DockerUnavailable(
            "kein `docker`-Programm im PATH: Images bauen braucht die Docker-CLI (Debian: apt-get install docker.io)"
        )
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


def wait_for_engine(seconds: float = 60) -> str:
    """Poll until the engine answers (used after starting dockerd in CI)."""
    deadline = time.monotonic() + seconds
    while True:
        engine_ok.cache_clear()
        client.cache_clear()
        try:
            return engine_ok()
        except DockerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
