"""The run override of the Docker stack (per run, in a temp dir, never committed).

Labels for sweeping, faster health polling, an optional schema file mount,
and a throw-away env file with random secrets. The committed OFFLINE
override is an artifact (umgebungsmatrix.artifacts.offline_override).
"""

from __future__ import annotations

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


# Legal in a password, hostile in a URL: every delimiter of RFC 3986 userinfo, the percent
# sign, a comma and an umlaut. Not `$`, quotes, spaces or ` #`: env files give those meaning.
HOSTILE_TAIL = "@:/?#%,ü"


def run_env_file(facts: Facts, password: str | None = None) -> tuple[str, str]:
    """Contents of a throw-away env file for one run, and its password.

    Every secret the compose services read gets a fresh random value with a
    hostile tail (HOSTILE_TAIL); where the matrix gives a `beispiel` (e.g. a
    URL), its <placeholders> are filled with that value, percent-encoded in
    URLs (ComposeStage.filled_example), so DATABASE_URL and POSTGRES_PASSWORD
    agree after URL decoding, as the app's libpq reads them.
    """
    stage = facts.compose_stage
    password = password or secrets.token_hex(12) + HOSTILE_TAIL
    lines = ["# Wegwerf-Geheimnisse eines Prüflaufs (dockerstack), nie einchecken"]
    lines += [f"{name}={stage.filled_example(name, password)}" for name in stage.secret_variables]
    return "\n".join(lines) + "\n", password
