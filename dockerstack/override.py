"""Compose override files for the Docker stack.

- The OFFLINE override (generated, committed, drift-checked):
  compose/offline/docker-compose.offline.yml points every service of the
  compose stage at a locally built offline image (see dockerstack.images).
  Exact image tags come from environment variables the stack run sets; by
  hand the `:latest` tags of the last build are used.
- The RUN override (per run, in a temp dir, never committed): labels for
  sweeping, faster health polling, an optional schema file mount.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import yaml

from checks.registry import artifact_provider
from macros.compose import COMPOSE_FILE, HEADER, compose_stage, needed_variables, planned_services
from macros.model import Matrix
from macros.render import Context

from .images import IMAGE_FOR_KIND, latest_of

OFFLINE_FILE = "compose/offline/docker-compose.offline.yml"
STANDIN_HEALTH_ENV = "LITELLM_STANDIN_HEALTH"  # read by compose/offline/litellm/standin.py
LABEL_RUN = "umgebungsmatrix.run"
LABEL_PID = "umgebungsmatrix.pid"
# Health polling during a check run: Docker 20.10 knows no start_interval, so
# the first probe only comes after `interval`; a short interval saves seconds
# per start-order step. Test command, timeout and retries stay as generated.
CHECK_HEALTH_INTERVAL = "500ms"
SCHEMA_MOUNT = "/run/umgebungsmatrix/schema.sql"


def image_env(image: str) -> str:
    """Environment variable that pins the offline image `image` (exact tag)."""
    return f"UMGEBUNGSMATRIX_OFFLINE_{image.upper()}"


def offline_services(matrix: Matrix) -> dict[str, str]:
    """Compose service name -> offline image name, for the services started by default."""
    stage = compose_stage(matrix)
    out = {}
    for planned in planned_services(matrix, stage):
        if planned.profile is None and planned.art in IMAGE_FOR_KIND:
            out[planned.name] = IMAGE_FOR_KIND[planned.art]
    return out


def offline_document(matrix: Matrix) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for name, image in offline_services(matrix).items():
        art = next(p.art for p in planned_services(matrix, compose_stage(matrix)) if p.name == name)
        entry: dict[str, Any] = {"image": f"${{{image_env(image)}:-{latest_of(image)}}}"}
        kind = matrix.dienstarten[art]  # type: ignore[index]
        if image == "litellm":
            entry["command"] = ["--port", str(kind.port)]
            entry["environment"] = {STANDIN_HEALTH_ENV: kind.health_pfad}
        services[name] = entry
    return {"services": services}


def offline_text(matrix: Matrix) -> str:
    stage = compose_stage(matrix)
    skipped = [p.name for p in planned_services(matrix, stage) if p.profile is not None]
    intro = (
        "#\n"
        f"# Offline-Override für {COMPOSE_FILE} ({stage.name}): alle Dienste laufen mit lokal\n"
        "# gebauten Images (compose/offline/*/Dockerfile), ohne Registry. LiteLLM ist dabei nur ein\n"
        "# OFFLINE-ERSATZ, der seinen Health-Pfad beantwortet – kein echtes LiteLLM.\n"
        "# Images bauen und den Stack prüfen: make check-stack STACK=docker\n"
        f"# Von Hand: docker compose -f {COMPOSE_FILE} -f {OFFLINE_FILE} up -d\n"
    )
    if skipped:
        intro += f"# Nicht offline verfügbar (Profil): {', '.join(skipped)}.\n"
    body = yaml.safe_dump(offline_document(matrix), sort_keys=False, allow_unicode=True, width=4096)
    return HEADER + intro + "\n" + body


@artifact_provider("Offline-Override der Compose-Datei (Docker-Stack ohne Registry)")
def offline_artifact(matrix: Matrix) -> dict[str, str]:
    return {OFFLINE_FILE: offline_text(matrix)}


# ------------------------------------------------------------------ per run
def run_override(compose_doc: dict[str, Any], run_id: str, pid: int,
                 schema: Path | None, schema_env: str, schema_services: list[str]) -> dict[str, Any]:
    """Labels on every service, network and volume; short health intervals."""
    labels = {LABEL_RUN: run_id, LABEL_PID: str(pid)}
    services: dict[str, Any] = {}
    for name, svc in (compose_doc.get("services") or {}).items():
        entry: dict[str, Any] = {"labels": dict(labels)}
        if isinstance(svc.get("healthcheck"), dict):
            entry["healthcheck"] = {"interval": CHECK_HEALTH_INTERVAL}
        if schema is not None and name in schema_services:
            entry["volumes"] = [f"{schema}:{SCHEMA_MOUNT}:ro"]
            entry["environment"] = {schema_env: SCHEMA_MOUNT}
        services[name] = entry
    networks = {name: {"labels": dict(labels)} for name in (compose_doc.get("networks") or {})}
    networks.setdefault("default", {"labels": dict(labels)})
    volumes = {name: {"labels": dict(labels)} for name in (compose_doc.get("volumes") or {})}
    doc: dict[str, Any] = {"services": services, "networks": networks}
    if volumes:
        doc["volumes"] = volumes
    return doc


def run_env_file(matrix: Matrix, password: str | None = None) -> tuple[str, str]:
    """Contents of a throw-away env file for one run, and its password.

    Every secret the compose services read gets a fresh random value; where
    the matrix gives a `beispiel` (e.g. a URL), its <placeholders> are filled
    with that value, so DATABASE_URL and POSTGRES_PASSWORD agree.
    """
    stage = compose_stage(matrix)
    password = password or secrets.token_hex(16)
    context = Context(matrix, stage)
    lines = ["# Wegwerf-Geheimnisse eines Prüflaufs (dockerstack), nie einchecken"]
    for name in needed_variables(matrix, stage):
        variable = matrix.variablen[name]
        if not variable.geheim:
            continue
        value = context.render(variable.beispiel) if variable.beispiel else "<wert>"
        lines.append(f"{name}={re.sub(r'<[^<>]+>', password, value)}")
    return "\n".join(lines) + "\n", password
