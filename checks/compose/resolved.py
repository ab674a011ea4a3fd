"""Least privilege in Dev, judged on what Compose itself resolves.

Input is the config a real Compose CLI prints (`docker compose --env-file ENV
-f compose/docker-compose.yml --profile … config --format json`, or
`docker-compose … config` for v1: same shape, YAML), and the values of the env
file it was given. The rule: each service's environment holds exactly the
variables the matrix assigns to its kind (`variablen.NAME.dienste`), plus the
interface variables of its third-party image
(`compose_file.IMAGE_INTERFACE_ENV`); each secret it holds has the value of
the env file, and it holds no other secret. The static twin of this rule
(on the file's text) is `compose-minimalrechte` in checks.compose.rules.

Messages name variables, never values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from umgebungsmatrix.artifacts.compose_file import IMAGE_INTERFACE_ENV
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE
from umgebungsmatrix.facts import Facts

from ..findings import Finding

RULE = "compose-minimalrechte"


def service_environment(config: Mapping[str, Any], name: str) -> dict[str, str | None]:
    """A resolved service's environment as a mapping (Compose may print the list form `NAME=value`)."""
    raw = ((config.get("services") or {}).get(name) or {}).get("environment") or {}
    if isinstance(raw, list):
        return dict((str(i).split("=", 1) + [None])[:2] for i in raw)  # type: ignore[misc]
    return {str(k): (None if v is None else str(v)) for k, v in raw.items()}


def least_privilege_findings(
    facts: Facts, config: Mapping[str, Any], values: Mapping[str, str], allowed: Collection[str] = ()
) -> list[Finding]:
    """Findings (German, rule `compose-minimalrechte`) for a resolved compose config; [] when every
    service of the compose stage sees exactly its matrix variables.

    config: the parsed output of `compose config` with every profile enabled.
    values: the env file's values, NAME -> value, as the CLI was given them.
    allowed: further non-secret names a caller's own override adds (e.g. the check run's schema path).
    """
    stage = facts.compose_stage
    secrets = {n for n, v in facts.matrix.variablen.items() if v.geheim}
    doc = facts.matrix.seiten.get("secrets", "")
    out: list[Finding] = []
    resolved = config.get("services") or {}
    for service in stage.services:
        where = f"{COMPOSE_FILE} (Dienst {service.name}, aufgelöst)"
        if service.name not in resolved:
            out.append(Finding(RULE, f"{service.name} fehlt in der aufgelösten Konfiguration", where, doc))
            continue
        env = service_environment(config, service.name)
        own = {e.name for e in service.env}
        for name in sorted(own - set(env)):
            out.append(
                Finding(RULE, f"{service.name} bekommt {name} nicht, obwohl die Matrix es ihm zuweist", where, doc)
            )
        for name in sorted(set(env) - own):
            if name in secrets:
                out.append(
                    Finding(
                        RULE,
                        f"{service.name} sieht das Geheimnis {name}, das die Matrix ihm nicht zuweist "
                        f"(variablen.{name}.dienste)",
                        where,
                        doc,
                    )
                )
            elif name not in IMAGE_INTERFACE_ENV and name not in allowed:
                out.append(
                    Finding(RULE, f"{service.name} bekommt {name}, das die Matrix ihm nicht zuweist", where, doc)
                )
        for name in sorted(own & set(env) & secrets):
            if name in values and env[name] != values[name]:
                out.append(
                    Finding(
                        RULE,
                        f"{service.name}: {name} hat nicht den Wert aus der env-Datei (Wert nicht angezeigt)",
                        where,
                        doc,
                    )
                )
    return out
