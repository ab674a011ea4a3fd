"""`umgebungsmatrix cloud-check --stage STAGE`: do the resources of a cloud stage exist and match
the matrix? Read-only (gcloud describe/list/get-iam-policy, refused otherwise in gcloud.py).

One probe per resource of the stage page's checklist, each tied to the table column it backs:

- datenbanken: the Cloud SQL instance (POSTGRES_<version>, public or private IP as `cloudsql_ip`,
  PITR as `datenbank.pitr`) and the Memorystore instance (REDIS_<version>, READY);
- netz: the Serverless VPC Access connector (READY);
- secrets: each pinned Secret Manager version (ENABLED);
- container: the runtime service account (not disabled) and the Artifact Registry repository (DOCKER);
- ingress: each service's and job's IAM policy: the invokers of the matrix (`zugriff`) bound,
  no other invoker, allUsers/allAuthenticatedUsers only where and while the matrix allows it.

A resource gcloud reports as not found is a finding; no access at all is exit 2.
Output: a German table, or `--json`. Exit 0 all match, 1 a finding.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from umgebungsmatrix.artifacts.deploy_scripts import INVOKER_ROLE
from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK
from umgebungsmatrix.facts import CloudStage, Facts
from umgebungsmatrix.matrix.model import PUBLIC_MEMBERS

from . import gcloud
from .diff import cloud_stage

Judge = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Probe:
    column: str  # id of the table column the resource backs
    resource: str  # German, e.g. "Cloud-SQL-Instanz"
    name: str
    argv: list[str]
    judge: Judge = field(compare=False)


@dataclass(frozen=True)
class Result:
    probe: Probe
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _shown(value: Any) -> str:
    return "unbekannt" if value is None else str(value)


def probes(facts: Facts, stage: CloudStage, today: datetime | None = None) -> list[Probe]:
    """Every read-only call of the audit for a stage, with how to judge its JSON answer."""
    gcp, netz = stage.gcp, stage.network
    p, r = ["--project", gcp.projekt], ["--region", gcp.region]
    fmt = ["--format", "json"]
    pg, redis = facts.platform.postgres.version, facts.platform.redis.version
    pitr, public = stage.model.datenbank.pitr, stage.public_cloudsql
    day = (today or datetime.now(UTC)).date()

    def sql(data: dict[str, Any]) -> list[str]:
        out = []
        if data.get("databaseVersion") != f"POSTGRES_{pg}":
            out.append(f"Version {_shown(data.get('databaseVersion'))}, Matrix: POSTGRES_{pg}")
        ipv4 = bool(_get(data, "settings", "ipConfiguration", "ipv4Enabled"))
        if ipv4 != public:
            out.append(f"Public IP {'an' if ipv4 else 'aus'}, Matrix: cloudsql_ip {'public' if public else 'private'}")
        if not public and not _get(data, "settings", "ipConfiguration", "privateNetwork"):
            out.append("kein privates Netz, Matrix: cloudsql_ip private")
        has_pitr = bool(_get(data, "settings", "backupConfiguration", "pointInTimeRecoveryEnabled"))
        if has_pitr != pitr:
            out.append(f"PITR {'an' if has_pitr else 'aus'}, Matrix: pitr {str(pitr).lower()}")
        return out

    def memorystore(data: dict[str, Any]) -> list[str]:
        out = []
        if not str(data.get("redisVersion", "")).startswith(f"REDIS_{redis}"):
            out.append(f"Version {_shown(data.get('redisVersion'))}, Matrix: Redis {redis}")
        if data.get("state") != "READY":
            out.append(f"Zustand {_shown(data.get('state'))}")
        return out

    def ready(data: dict[str, Any]) -> list[str]:
        return [] if data.get("state") == "READY" else [f"Zustand {_shown(data.get('state'))}"]

    def enabled(data: dict[str, Any]) -> list[str]:
        return [] if data.get("state") == "ENABLED" else [f"Version ist {_shown(data.get('state'))}"]

    def account(data: dict[str, Any]) -> list[str]:
        return ["deaktiviert"] if data.get("disabled") else []

    def docker(data: dict[str, Any]) -> list[str]:
        return [] if data.get("format") == "DOCKER" else [f"Format {_shown(data.get('format'))}, erwartet DOCKER"]

    registry = facts.platform.artefakte.registry
    host, reg_project, repository = (registry.split("/") + ["", ""])[:3]
    out = [
        Probe(
            "datenbanken",
            "Cloud-SQL-Instanz",
            netz.cloudsql_instanz,
            ["gcloud", "sql", "instances", "describe", netz.cloudsql_instanz, *p, *fmt],
            sql,
        ),
        Probe(
            "datenbanken",
            "Memorystore",
            netz.memorystore_instanz,
            ["gcloud", "redis", "instances", "describe", netz.memorystore_instanz, *r, *p, *fmt],
            memorystore,
        ),
        Probe(
            "netz",
            "VPC-Connector",
            netz.vpc_connector,
            ["gcloud", "compute", "networks", "vpc-access", "connectors", "describe", netz.vpc_connector, *r, *p, *fmt],
            ready,
        ),
    ]
    for name, ref in stage.secret_refs.items():
        out.append(
            Probe(
                "secrets",
                f"Secret {name}",
                f"{ref.secret_id}:{ref.version}",
                ["gcloud", "secrets", "versions", "describe", str(ref.version), "--secret", ref.secret_id, *p, *fmt],
                enabled,
            )
        )
    out += [
        Probe(
            "container",
            "Dienstkonto",
            stage.service_account,
            ["gcloud", "iam", "service-accounts", "describe", stage.service_account, *p, *fmt],
            account,
        ),
        Probe(
            "container",
            "Artifact Registry",
            registry,
            [
                "gcloud",
                "artifacts",
                "repositories",
                "describe",
                repository,
                "--location",
                host.removesuffix("-docker.pkg.dev"),
                "--project",
                reg_project,
                *fmt,
            ],
            docker,
        ),
    ]
    for service in stage.resources:
        access = service.access
        allowed = {i.member for i in access.invokers}
        public_now = access.public_on(day)

        def invokers(data: dict[str, Any], allowed: set[str] = allowed, public_now: bool = public_now) -> list[str]:
            bindings = data.get("bindings") or []
            shapes_ok = isinstance(bindings, list) and all(
                isinstance(b, dict) and isinstance(b.get("members", []), list) for b in bindings
            )
            if not shapes_ok:
                return ["Antwort von gcloud hat nicht die Form einer IAM-Richtlinie (bindings[].members[])"]
            members = {str(m) for b in bindings if b.get("role") == INVOKER_ROLE for m in b.get("members") or []}
            problems = [f"Aufrufer {m} fehlt" for m in sorted(allowed - members)]
            for member in sorted(members - allowed):
                if member in PUBLIC_MEMBERS:
                    if not public_now or member != "allUsers":
                        problems.append(f"öffentlich ({member}), die Matrix erlaubt das nicht")
                else:
                    problems.append(f"unerwarteter Aufrufer {member}")
            if public_now and "allUsers" not in members:
                problems.append("nicht öffentlich, obwohl das QA-Fenster offen ist")
            return problems

        noun = "jobs" if service.is_job else "services"
        out.append(
            Probe(
                "ingress",
                f"Aufrufer {'Job' if service.is_job else 'Dienst'}",
                service.name,
                ["gcloud", "run", noun, "get-iam-policy", service.name, *r, *p, *fmt],
                invokers,
            )
        )
    return out


def audit(facts: Facts, stage: CloudStage, run: gcloud.Runner = gcloud.run) -> list[Result]:
    results = []
    for probe in probes(facts, stage):
        try:
            answer = run(probe.argv)
        except gcloud.GcloudFailed as exc:
            if not exc.not_found:
                raise
            results.append(Result(probe, ["fehlt"]))
            continue
        try:
            data = json.loads(answer or "{}")
        except json.JSONDecodeError:
            results.append(Result(probe, ["Antwort von gcloud ist kein JSON"]))
            continue
        results.append(Result(probe, probe.judge(data if isinstance(data, dict) else {})))
    return results


def table(facts: Facts, results: list[Result]) -> str:
    titles = {c.id: c.titel for c in facts.columns}
    rows = ["| Spalte | Ressource | Name | Ergebnis |", "| --- | --- | --- | --- |"]
    for result in results:
        verdict = "✓ vorhanden, wie in der Matrix" if result.ok else "✗ " + "; ".join(result.problems)
        column = titles.get(result.probe.column, result.probe.column)
        rows.append(f"| {column} | {result.probe.resource} | `{result.probe.name}` | {verdict} |")
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="Cloud-Stage (id aus der Matrix), z. B. prod")
    parser.add_argument("--json", action="store_true", help="Ergebnis als JSON")


def run(args: argparse.Namespace, facts: Facts) -> int:
    stage = cloud_stage(facts, args.stage)
    results = audit(facts, stage)
    bad = [r for r in results if not r.ok]
    if args.json:
        payload = [
            {"spalte": r.probe.column, "ressource": r.probe.resource, "name": r.probe.name, "probleme": r.problems}
            for r in results
        ]
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(table(facts, results))
        print(f"\n{len(results) - len(bad)} von {len(results)} Ressourcen wie in der Matrix ({stage.name}).")
    return EXIT_FINDINGS if bad else EXIT_OK
