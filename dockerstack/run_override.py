"""The run override of the Docker stack (per run, in a temp dir, never committed).

Labels for sweeping, faster health polling, an optional schema file mount,
and a throw-away env file with random secrets. The committed OFFLINE
override is an artifact (umgebungsmatrix.artifacts.offline_override).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from umgebungsmatrix.facts import Facts

LABEL_RUN = "umgebungsmatrix.run"
LABEL_PID = "umgebungsmatrix.pid"
# Health polling during a check run: Docker 20.10 knows no start_interval, so
# the first probe only comes after `interval`; a short interval saves seconds
# per start-order step. Test command, timeout and retries stay as generated.
CHECK_HEALTH_INTERVAL = "500ms"
SCHEMA_MOUNT = "/run/umgebungsmatrix/schema.sql"


# ------------------------------------------------------------------ per run
def run_override(
    compose_doc: dict[str, Any],
    run_id: str,
    pid: int,
    *,
    schema: Path | None,
    schema_env: str,
    schema_services: list[str],
) -> dict[str, Any]:
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


def run_env_file(facts: Facts, password: str | None = None) -> tuple[str, str]:
    """Contents of a throw-away env file for one run, and its password.

    Every secret the compose services read gets a fresh random value; where
    the matrix gives a `beispiel` (e.g. a URL), its <placeholders> are filled
    with that value, so DATABASE_URL and POSTGRES_PASSWORD agree.
    """
    stage = facts.compose_stage
    password = password or secrets.token_hex(16)
    lines = ["# Wegwerf-Geheimnisse eines Prüflaufs (dockerstack), nie einchecken"]
    for name in stage.secret_variables:
        value = stage.examples.get(name, "<wert>")
        lines.append(f"{name}={re.sub(r'<[^<>]+>', password, value)}")
    return "\n".join(lines) + "\n", password
