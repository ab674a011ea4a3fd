"""compose/docker-compose.yml: the compose stage as a Compose Specification file.

Everything comes from the facts of the compose stage: images, commands,
ports, the env file for secrets, non-secret values, healthchecks, start
order, volumes. Literal `$` is escaped as `$$` (Compose interpolates `$`);
only the image override `${WEB_IMAGE:-…}:${IMAGE_TAG:-…}` is an intended
interpolation (not nested: docker-compose v1 cannot interpolate that).
Spec: https://github.com/compose-spec/compose-spec/blob/main/spec.md
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..facts import ComposeService, ComposeStage, Facts
from .common import header
from .yamltext import Flow, dump

TITLE = "Compose-Datei (Dev lokal)"
PATH = "compose/docker-compose.yml"
OUTPUTS = (PATH,)
# Environment interface of third-party images (not platform facts):
POSTGRES_IMAGE_ENV = ("POSTGRES_USER", "POSTGRES_DB")  # the postgres image creates user and database
# Langfuse v2 entrypoint: builds DATABASE_URL from these when DATABASE_URL is empty.
LANGFUSE_DB_ENV = ("DATABASE_URL", "DATABASE_HOST", "DATABASE_USERNAME", "DATABASE_NAME")


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


def env_file_ref(stage: ComposeStage) -> str:
    """The env file as seen from the compose file's folder (`../.env`)."""
    return posixpath.relpath(stage.env_file, posixpath.dirname(PATH))


def environment(facts: Facts, stage: ComposeStage, service: ComposeService) -> dict[str, str]:
    """What the compose file sets under `environment:` (escaped)."""
    if service.role == "postgres":
        assert service.db_user is not None and service.db_name is not None
        return dict(zip(POSTGRES_IMAGE_ENV, (esc(service.db_user), esc(service.db_name))))
    env = {e.name: esc(e.value or "") for e in service.env if not e.secret}
    if service.name == stage.langfuse_server and stage.langfuse_database:
        db = stage.service(stage.langfuse_database)
        # Empty DATABASE_URL hides the platform's URL from the env file; the password comes from the env file.
        values = ("", f"{db.name}:{db.port}", db.db_user or "", db.db_name or "")
        env = {**dict(zip(LANGFUSE_DB_ENV, map(esc, values))), **env}
    return env


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
    if service.secret_names:
        out["env_file"] = [env_file_ref(stage)]
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
    intro = [
        "",
        f"{stage.name}: Compose-Specification-Format (ohne version:), für docker compose v2",
        f"und docker-compose v1.29. Geheimnisse kommen nur aus {env} (Vorlage:",
        f"{env}.example). Starten im Repo-Wurzelverzeichnis:",
        f"  docker compose -f {PATH} up -d",
        *(f"  docker compose -f {PATH} --profile {p} up -d   # mit {p}" for p in profiles),
    ]
    return {PATH: header("#", tuple(intro)) + "\n" + dump(document(facts), blank_lines=2)}
