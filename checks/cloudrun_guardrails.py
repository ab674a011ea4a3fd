"""Guardrails of the cloud stages, checked on the generated manifests and deploy scripts.

Each finding names its rule and links the section of docs/stages/leitplanken.md
that explains it.
"""

from __future__ import annotations

import re
from typing import Any

from macros.cloudrun import common as c
from macros.cloudrun.parsed import Manifest, argv, commands, containers, get, manifests
from macros.model import Matrix, Stage

from .registry import Artifacts, Finding, check

DOC = "stages/leitplanken.md"
PROD = "prod"
CLOUDSQL = "run.googleapis.com/cloudsql-instances"
SECRET_FLAGS = re.compile(r"--(set|update|remove)-secrets|--update-env-vars|--env-vars-file|secretKeyRef|"
                          r"gcloud secrets|secretmanager")


class _LazyWhere:
    """file:line of a manifest path, computed only when a finding needs it."""

    def __init__(self, manifest: Manifest, path: tuple[Any, ...]):
        self.manifest, self.path = manifest, path

    def __str__(self) -> str:
        return self.manifest.where(self.path)


def _f(rule: str, anchor: str, message: str, where: Any) -> Finding:
    return Finding(rule, message, str(where), f"{DOC}#{anchor}")


def _env(container: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, e) for i, e in enumerate(container.get("env") or []) if isinstance(e, dict)]


def _migration_envs(matrix: Matrix) -> set[str]:
    return {k.migrations_env for k in matrix.dienstarten.values() if getattr(k, "migrations_env", None)}


def _contains(seq: list[str], sub: list[str]) -> bool:
    return bool(sub) and any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


@check("Leitplanke: Migrationen nur lokal automatisch, in der Cloud nur als Job")
def migrations_only_local(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "migration-nur-lokal", []
    switches = _migration_envs(matrix)
    migrate = list(matrix.dienstarten["migration"].befehl or [])  # type: ignore[index]
    for m in manifests(matrix, artifacts):
        for path, container in containers(m):
            for i, entry in _env(container):
                if entry.get("name") in switches and str(entry.get("value", "")).lower() == "true":
                    out.append(_f(rule, rule, f"{entry['name']}=true in der Cloud: Migrationen laufen dort nur "
                                  "als Job", m.where(path + ("env", i))))
            if m.kind == "Service" and _contains(argv(container), migrate):
                out.append(_f(rule, rule, f"Dienst {m.name} startet die Migration ({' '.join(migrate)}); "
                              "das darf nur der Job", m.where(path)))
    for stage in c.cloud_stages(matrix):
        text = artifacts.get(c.deploy_script_path(stage), "")
        for name in sorted(switches):
            if re.search(rf"\b{name}=true\b", text, re.IGNORECASE):
                out.append(_f(rule, rule, f"{name}=true im Deploy-Skript", c.deploy_script_path(stage)))
    return out


@check("Leitplanke: Staging-Konfiguration nur über --set-env-vars aus der CI")
def staging_only_env_vars(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "staging-nur-env-vars", []
    flag_stages = {s.id for s in c.cloud_stages(matrix) if c.deploys_with_flags(s)}
    for m in manifests(matrix, artifacts):
        if m.stage.id not in flag_stages:
            continue
        for path, container in containers(m):
            for i, entry in _env(container):
                if "valueFrom" in entry:
                    out.append(_f(rule, rule, f"{entry.get('name')} kommt aus valueFrom/Secret Manager; in "
                                  f"{m.stage.name} nur über --set-env-vars", m.where(path + ("env", i))))
        if "secretKeyRef" in m.text or "run.googleapis.com/secrets" in m.text:
            if not any(f.where.startswith(m.path) for f in out):
                out.append(_f(rule, rule, f"Secret-Manager-Verweis in {m.stage.name}", m.where()))
    for stage in c.cloud_stages(matrix):
        if stage.id not in flag_stages:
            continue
        path = c.deploy_script_path(stage)
        text = artifacts.get(path, "")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.lstrip().startswith("#") and SECRET_FLAGS.search(line):
                out.append(_f(rule, rule, f"Secret Manager oder Teil-Update im Deploy-Befehl: {line.strip()}",
                              f"{path}:{number}"))
        for cmd in commands(text):
            if cmd.verb == "deploy" and "--set-env-vars" not in cmd.flags:
                out.append(_f(rule, rule, f"{cmd.target}: Deploy ohne --set-env-vars", f"{path}:{cmd.line}"))
    return out


def _pinned_versions(stage: Stage) -> dict[str, int]:
    return dict(stage.secrets.versionen) if stage.secrets.quelle == "secret_manager" else {}  # type: ignore[union-attr]


@check("Leitplanke: Prod-Secrets nur aus Secret Manager mit gepinnter Version")
def prod_secrets_pinned(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "prod-secrets-gepinnt", []
    secret = set(c.secret_names(matrix))
    for m in manifests(matrix, artifacts):
        if m.stage.id != PROD and m.stage.secrets.quelle != "secret_manager":
            continue
        pinned = _pinned_versions(m.stage)
        for path, container in containers(m):
            for i, entry in _env(container):
                name = entry.get("name")
                if name not in secret:
                    continue
                where = _LazyWhere(m, path + ("env", i))
                ref = get(entry, "valueFrom", "secretKeyRef")
                if "value" in entry or not isinstance(ref, dict):
                    out.append(_f(rule, rule, f"{name} ist geheim und muss aus Secret Manager kommen "
                                  "(valueFrom.secretKeyRef), nicht als Klartext", where))
                    continue
                key = str(ref.get("key", ""))
                if not key.isdigit():
                    out.append(_f(rule, rule, f"{name}: Secret-Version „{key}“ ist nicht gepinnt "
                                  "(eine feste Versionsnummer, nie latest)", m.where(path + ("env", i, "valueFrom"))))
                elif name in pinned and int(key) != pinned[name]:
                    out.append(_f(rule, rule, f"{name}: Version {key}, in der Matrix gepinnt ist {pinned[name]}",
                                  where))
                if ref.get("name") != c.secret_id(name):
                    out.append(_f(rule, rule, f"{name}: Secret „{ref.get('name')}“ statt „{c.secret_id(name)}“",
                                  where))
    return out


@check("Leitplanke: Prod-Cloud-SQL nur über Private IP, mit PITR")
def prod_cloudsql_private(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "prod-cloudsql-privat", []
    for stage in c.cloud_stages(matrix):
        if stage.id != PROD:
            continue
        if c.public_cloudsql(stage):
            out.append(_f(rule, rule, "Prod nutzt Cloud SQL mit Public IP; erlaubt ist nur private",
                          "matrix/umgebungen.yaml (stages.prod.netz.cloudsql_ip)"))
        if not stage.datenbank.pitr:
            out.append(_f(rule, rule, "Prod-Cloud-SQL ohne Point-in-Time-Recovery",
                          "matrix/umgebungen.yaml (stages.prod.datenbank.pitr)"))
    for m in manifests(matrix, artifacts):
        if m.stage.id != PROD:
            continue
        for base in (("spec", "template", "metadata", "annotations"), ("metadata", "annotations")):
            if get(m.data, *base, CLOUDSQL) is not None:
                out.append(_f(rule, rule, "Cloud-SQL-Connector (Public IP) in Prod; Verbindung nur über die "
                              "Private IP im VPC", m.where(base + (CLOUDSQL,))))
    return out


def _queues_of(container: dict[str, Any]) -> list[str]:
    args = argv(container)
    for i, arg in enumerate(args):
        if arg in ("--queues", "-Q") and i + 1 < len(args):
            return [q for q in args[i + 1].split(",") if q]
        if arg.startswith("--queues="):
            return [q for q in arg.split("=", 1)[1].split(",") if q]
    return []


@check("Leitplanke: Ingestion und Agenten in der Cloud in getrennten Diensten")
def queues_separate(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "queues-getrennt", []
    known = {q.name for q in matrix.plattform.queues.values()}
    for stage in c.cloud_stages(matrix):
        consumers: dict[str, str] = {}
        for m in manifests(matrix, artifacts):
            if m.stage.id != stage.id or m.kind != "Service":
                continue
            for path, container in containers(m):
                queues = _queues_of(container)
                if len(queues) > 1:
                    out.append(_f(rule, rule, f"{m.name} konsumiert {', '.join(queues)}; in der Cloud ein Dienst "
                                  "je Queue", m.where(path)))
                for queue in queues:
                    if queue in consumers and consumers[queue] != m.name:
                        out.append(_f(rule, rule, f"Queue {queue} wird von {consumers[queue]} und {m.name} "
                                      "konsumiert", m.where(path)))
                    consumers.setdefault(queue, m.name)
        for queue in sorted(known - set(consumers)):
            out.append(_f(rule, rule, f"in {stage.name} konsumiert kein Dienst die Queue {queue}",
                          f"{c.OUT_DIR}/{stage.id}/"))
    return out


@check("Leitplanke: Hintergrunddienste (Worker, Beat) in Cloud Run")
def background_services(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "hintergrunddienste", []
    by_name = {(s.id, v.name): v for s in c.cloud_stages(matrix) for v in c.cloud_services(matrix, s)}
    base = ("spec", "template", "metadata", "annotations")
    for m in manifests(matrix, artifacts):
        view = by_name.get((m.stage.id, m.name))
        if view is None or m.kind != "Service" or not c.is_queue_consumer(matrix, view):
            continue
        notes = get(m.data, *base, default={}) or {}
        lo, hi = str(notes.get("autoscaling.knative.dev/minScale", "0")), str(
            notes.get("autoscaling.knative.dev/maxScale", ""))
        if notes.get("run.googleapis.com/cpu-throttling") != "false":
            out.append(_f(rule, rule, f"{m.name} arbeitet ohne Anfragen: cpu-throttling muss \"false\" sein",
                          m.where(base)))
        if not any(p.get("containerPort") for _, ct in containers(m) for p in ct.get("ports") or []):
            out.append(_f(rule, rule, f"{m.name} braucht einen containerPort für den Health-Endpoint ($PORT)",
                          m.where(("spec", "template", "spec"))))
        if view.art == "beat" and hi != "1":
            out.append(_f(rule, rule, f"Beat läuft höchstens einmal (maxScale 1), nicht {hi}", m.where(base)))
        if m.stage.id == PROD and lo in ("", "0"):
            out.append(_f(rule, rule, f"{m.name} in Prod mit minScale 0 verpasst Arbeit; mindestens 1",
                          m.where(base)))
    return out


@check("Leitplanke: Prod-Ingress (Web nur über den Load Balancer) und Web min > 0")
def prod_ingress(matrix: Matrix, artifacts: Artifacts) -> list[Finding]:
    rule, out = "prod-ingress", []
    for m in manifests(matrix, artifacts):
        if m.stage.id != PROD or m.kind != "Service":
            continue
        view = next((v for v in c.cloud_services(matrix, m.stage) if v.name == m.name), None)
        ingress = get(m.data, "metadata", "annotations", "run.googleapis.com/ingress")
        allowed = {"internal-and-cloud-load-balancing"} if view and view.art == "web" else {"internal"}
        if ingress not in allowed:
            out.append(_f(rule, rule, f"{m.name}: Ingress „{ingress}“, erlaubt in Prod: {', '.join(sorted(allowed))}",
                          m.where(("metadata", "annotations"))))
        lo = get(m.data, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/minScale")
        if view and view.art == "web" and str(lo) in ("0", "None"):
            out.append(_f(rule, rule, "Web in Prod braucht Min-Instances > 0",
                          m.where(("spec", "template", "metadata", "annotations"))))
    return out
