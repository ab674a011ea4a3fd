"""compose/docker-compose.yml: the compose stage as a Compose Specification file.

Everything comes from the facts of the compose stage: images, commands,
ports, secrets, non-secret values, healthchecks, start order, volumes.

Least privilege: no service reads the whole env file (`env_file:`). Each
service lists exactly the variables the matrix assigns to it (`dienste:`):
non-secret values literally, secrets as `${NAME?…}`, interpolated by Compose
from the env file given with `--env-file .env` (see `cli()`); a missing
variable stops Compose with the German hint in the `?` message.

Literal `$` is escaped as `$$` (Compose interpolates `$`); the intended
interpolations are the secrets and the image override
`${WEB_IMAGE:-…}:${IMAGE_TAG:-…}` (not nested: docker-compose v1 cannot
interpolate that).
Spec: https://github.com/compose-spec/compose-spec/blob/main/spec.md
(interpolation: spec.md#interpolation, `${VAR?err}`).
"""

from __future__ import annotations

from typing import Any

from ..facts import ComposeService, ComposeStage, Facts
from .common import header
from .yamltext import Flow, dump

TITLE = "Compose-Datei (Dev lokal)"
PATH = "compose/docker-compose.yml"
OUTPUTS = (PATH,)
# Environment interface of third-party images (not platform facts):
POSTGRES_IMAGE_ENV = ("POSTGRES_USER", "POSTGRES_DB")  # the postgres image creates user and database
# Langfuse v2 entrypoint: builds DATABASE_URL from these when DATABASE_URL is unset.
LANGFUSE_DB_ENV = ("DATABASE_HOST", "DATABASE_USERNAME", "DATABASE_NAME")
# Variables a service gets that are not matrix variables: the interface of third-party images.
IMAGE_INTERFACE_ENV = POSTGRES_IMAGE_ENV + LANGFUSE_DB_ENV
# The Compose versions CI runs the Docker stack check with (.ci/docker-engine installs both;
# tests/test_compose.py compares this with the installed CLIs).
TESTED_VERSIONS = {"v2": "2.26", "v1": "1.29"}


def esc(text: str) -> str:
    """A literal for Compose: `$` would start an interpolation."""
    return text.replace("$", "$$")


def image_variable(stage: ComposeStage, artifact: str) -> str:
    """WEB_IMAGE for artefakt web: overrides the repository of an own image."""
    return stage.compose.image_variable.replace("{ARTEFAKT}", artifact.upper().replace("-", "_"))


def image(facts: Facts, stage: ComposeStage, service: ComposeService) -> str:
    """The image as the compose file writes it: own images overridable, others as in the matrix."""
    if service.artifact is None:
        assert service.image is not None
        return esc(service.image)
    art = facts.platform.artefakte
    repo = f"{esc(art.registry)}/{esc(service.artifact)}"
    return (
        f"${{{image_variable(stage, service.artifact)}:-{repo}}}:"
        f"${{{art.tag_variable}:-{esc(stage.compose.standard_tag)}}}"
    )


def cli(stage: ComposeStage, *args: str, v1: bool = False) -> str:
    """The command line from the repo root, e.g. `docker compose --env-file .env -f compose/docker-compose.yml up -d`.

    `--env-file` is relative to the working directory in Compose v2 and v1.29
    (without it, Compose would look for the env file next to the compose file).
    `v1=True` spells it `docker-compose …`.
    """
    program = "docker-compose" if v1 else "docker compose"
    return " ".join((program, "--env-file", stage.env_file, "-f", PATH, *args))


def secret_reference(stage: ComposeStage, name: str) -> str:
    """`${NAME?…}`: interpolated from the env file; unset stops Compose with a German hint (no `}` or `$`)."""
    env = stage.env_file
    hint = f"fehlt in {env} (Vorlage {env}.example); Start mit --env-file {env}"
    return f"${{{name}?{hint}}}"


def environment(facts: Facts, stage: ComposeStage, service: ComposeService) -> dict[str, str]:
    """What the compose file sets under `environment:` (escaped): exactly the service's matrix
    variables (secrets as `${NAME?…}`), plus the interface variables of a third-party image."""
    interface: dict[str, str] = {}
    if service.role == "postgres":
        assert service.db_user is not None and service.db_name is not None
        interface = dict(zip(POSTGRES_IMAGE_ENV, (esc(service.db_user), esc(service.db_name))))
    if service.name == stage.langfuse_server and stage.langfuse_database:
        db = stage.service(stage.langfuse_database)
        values = (f"{db.name}:{db.port}", db.db_user or "", db.db_name or "")
        interface = dict(zip(LANGFUSE_DB_ENV, map(esc, values)))
    own = {e.name: secret_reference(stage, e.name) if e.secret else esc(e.value or "") for e in service.env}
    return {**interface, **own}


def probe(stage: ComposeStage, service: ComposeService) -> list[str] | None:
    """The healthcheck test of a service, or None if it has none."""
    host = esc(stage.compose.lokale_adresse)
    if service.role == "postgres":
        # Over TCP: during init the image's temporary server listens on the socket only.
        return [
            "CMD",
            "pg_isready",
            "-h",
            host,
            "-p",
            str(service.port),
            "-U",
            esc(service.db_user or ""),
            "-d",
            esc(service.db_name or ""),
        ]
    if service.role == "redis":
        return ["CMD-SHELL", f"redis-cli -h {host} -p {service.port} ping | grep -q PONG"]
    if service.health_path and service.port:
        url = f"http://{host}:{service.port}{esc(service.health_path)}"
        return ["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}')"]
    return None


def service_entry(facts: Facts, stage: ComposeStage, service: ComposeService) -> dict[str, Any]:
    compose = stage.compose
    out: dict[str, Any] = {}
    if service.profile:
        out["profiles"] = [service.profile]
    out["image"] = image(facts, stage, service)
    if service.command:
        out["command"] = Flow(esc(part) for part in service.command)
    env = environment(facts, stage, service)
    if env:
        out["environment"] = env
    if service.published_port is not None:
        out["ports"] = [f"{compose.lokale_adresse}:{service.published_port}:{service.port}"]
    if service.volume:
        out["volumes"] = [f"{service.volume}:{esc(compose.postgres_daten_pfad)}"]
    test = probe(stage, service)
    if test:
        hc = compose.healthcheck
        out["healthcheck"] = {
            "test": Flow(test),
            "interval": hc.intervall,
            "timeout": hc.timeout,
            "retries": hc.versuche,
            "start_period": hc.startphase,
        }
    if service.starts_after:
        out["depends_on"] = {name: {"condition": "service_healthy"} for name in service.starts_after}
    return out


def document(facts: Facts) -> dict[str, Any]:
    stage = facts.compose_stage
    services = {s.name: service_entry(facts, stage, s) for s in stage.services}
    volumes: dict[str, dict[str, Any]] = {s.volume: {} for s in stage.services if s.volume}
    return {"services": services, "volumes": volumes}


def render(facts: Facts) -> dict[str, str]:
    stage = facts.compose_stage
    env = stage.env_file
    profiles = sorted({s.profile for s in stage.services if s.profile})
    tested = " und ".join(
        f"docker compose {TESTED_VERSIONS['v2']}" if v == "v2" else f"docker-compose {TESTED_VERSIONS['v1']}"
        for v in TESTED_VERSIONS
    )
    intro = [
        "",
        f"{stage.name}: Compose-Specification-Format (ohne version:),",
        f"getestet mit {tested}.",
        "Jeder Dienst bekommt nur die Variablen, die ihm die Matrix zuweist; Geheimnisse",
        f"kommen nur aus {env} (Vorlage: {env}.example). Starten im Repo-Wurzelverzeichnis:",
        f"  {cli(stage, 'up', '-d')}",
        *(f"  {cli(stage, '--profile', p, 'up', '-d')}   # mit {p}" for p in profiles),
        f"docker-compose v1: dieselben Argumente, z. B. {cli(stage, 'up', '-d', v1=True)}",
    ]
    return {PATH: header("#", tuple(intro)) + "\n" + dump(document(facts), blank_lines=2)}
