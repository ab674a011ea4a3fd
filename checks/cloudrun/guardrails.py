"""Guardrails of the cloud stages, checked on the generated manifests and deploy scripts.

`validate` refuses a matrix that breaks these rules (matrix/rules.py); here
they are checked again on the rendered TEXT, so a broken generator or a hand
edit fails the same way. Each finding names its rule and links the section
of docs/stages/leitplanken.md that explains it; a finding on the unedited
render points at the matrix line of the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from umgebungsmatrix.artifacts.cloudrun_manifests import OUT_DIR
from umgebungsmatrix.artifacts.deploy_scripts import AUTH_FLAGS, script_path
from umgebungsmatrix.facts import CloudService, Facts
from umgebungsmatrix.matrix.model import PUBLIC_MEMBERS

from ..findings import Finding
from .parsed import Manifest, argv, commands, containers, get, manifests

Artifacts = Mapping[str, str]
DOC = "stages/leitplanken.md"
CLOUDSQL = "run.googleapis.com/cloudsql-instances"
LB_INGRESS = "internal-and-cloud-load-balancing"
SECRET_FLAGS = re.compile(
    r"--(set|update|remove)-secrets|--update-env-vars|--env-vars-file|secretKeyRef|"
    r"gcloud secrets|secretmanager"
)


def _f(rule: str, message: str, manifest: Manifest, path: tuple[Any, ...] = (), anchor: str = "") -> Finding:
    return Finding(rule, message, doc=f"{DOC}#{anchor or rule}", **manifest.place(path))


def _at(rule: str, message: str, where: str, anchor: str = "") -> Finding:
    return Finding(rule, message, where, f"{DOC}#{anchor or rule}")


def _env(container: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, e) for i, e in enumerate(container.get("env") or []) if isinstance(e, dict)]


def _contains(seq: list[str], sub: list[str]) -> bool:
    return bool(sub) and any(seq[i : i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def _service(manifest: Manifest) -> CloudService | None:
    return next((s for s in manifest.stage.resources if s.name == manifest.name), None)


def migrations_only_local(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "migration-nur-lokal", []
    switches = {k.migrations_env for k in facts.matrix.dienstarten.values() if k.migrations_env}
    migrations = [list(k.befehl) for k in facts.matrix.dienstarten.values() if k.rolle == "job" and k.befehl]
    for m in manifests(facts, artifacts):
        for path, container in containers(m):
            for i, entry in _env(container):
                if entry.get("name") in switches and str(entry.get("value", "")).lower() == "true":
                    out.append(
                        _f(
                            rule,
                            f"{entry['name']}=true in der Cloud: Migrationen laufen dort nur als Job",
                            m,
                            path + ("env", i),
                        )
                    )
            for migrate in migrations:
                if m.kind == "Service" and _contains(argv(container), migrate):
                    out.append(
                        _f(
                            rule,
                            f"Dienst {m.name} startet die Migration ({' '.join(migrate)}); das darf nur der Job",
                            m,
                            path,
                        )
                    )
    for stage in facts.cloud_stages:
        text = artifacts.get(script_path(stage), "")
        for name in sorted(switches):
            if re.search(rf"\b{name}=true\b", text, re.IGNORECASE):
                out.append(_at(rule, f"{name}=true im Deploy-Skript", script_path(stage)))
    return out


def staging_only_env_vars(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "staging-nur-env-vars", []
    flag_stages = {s.id for s in facts.cloud_stages if s.deploys_with_flags}
    for m in manifests(facts, artifacts):
        if m.stage.id not in flag_stages:
            continue
        found = False
        for path, container in containers(m):
            for i, entry in _env(container):
                if "valueFrom" in entry:
                    found = True
                    out.append(
                        _f(
                            rule,
                            f"{entry.get('name')} kommt aus valueFrom/Secret Manager; in "
                            f"{m.stage.name} nur über --set-env-vars",
                            m,
                            path + ("env", i),
                        )
                    )
        if not found and ("secretKeyRef" in m.text or "run.googleapis.com/secrets" in m.text):
            out.append(_f(rule, f"Secret-Manager-Verweis in {m.stage.name}", m))
    for stage in facts.cloud_stages:
        if stage.id not in flag_stages:
            continue
        script = script_path(stage)
        text = artifacts.get(script, "")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.lstrip().startswith("#") and SECRET_FLAGS.search(line):
                out.append(
                    _at(rule, f"Secret Manager oder Teil-Update im Deploy-Befehl: {line.strip()}", f"{script}:{number}")
                )
        for cmd in commands(text):
            if cmd.verb == "deploy" and "--set-env-vars" not in cmd.flags:
                out.append(_at(rule, f"{cmd.target}: Deploy ohne --set-env-vars", f"{script}:{cmd.line}"))
    return out


def secrets_pinned(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    """Stages with Secret Manager (all production stages): every secret pinned to the matrix's version."""
    rule, out = "prod-secrets-gepinnt", []
    secret = set(facts.secret_names())
    for m in manifests(facts, artifacts):
        if m.stage.secret_source != "secret_manager":
            continue
        refs = m.stage.secret_refs
        for path, container in containers(m):
            for i, entry in _env(container):
                name = entry.get("name")
                if name not in secret:
                    continue
                at = path + ("env", i)
                ref = get(entry, "valueFrom", "secretKeyRef")
                if "value" in entry or not isinstance(ref, dict):
                    out.append(
                        _f(
                            rule,
                            f"{name} ist geheim und muss aus Secret Manager kommen "
                            "(valueFrom.secretKeyRef), nicht als Klartext",
                            m,
                            at,
                        )
                    )
                    continue
                key = str(ref.get("key", ""))
                want = refs.get(str(name))
                if not key.isdigit():
                    out.append(
                        _f(
                            rule,
                            f"{name}: Secret-Version „{key}“ ist nicht gepinnt (eine feste Versionsnummer, nie latest)",
                            m,
                            at + ("valueFrom",),
                        )
                    )
                elif want is not None and int(key) != want.version:
                    out.append(_f(rule, f"{name}: Version {key}, in der Matrix gepinnt ist {want.version}", m, at))
                if want is not None and ref.get("name") != want.secret_id:
                    out.append(_f(rule, f"{name}: Secret „{ref.get('name')}“ statt „{want.secret_id}“", m, at))
    return out


def production_cloudsql_private(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "prod-cloudsql-privat", []
    for m in manifests(facts, artifacts):
        if not m.stage.production:
            continue
        for base in (("spec", "template", "metadata", "annotations"), ("metadata", "annotations")):
            if get(m.data, *base, CLOUDSQL) is not None:
                out.append(
                    _f(
                        rule,
                        "Cloud-SQL-Connector (Public IP) in Produktion; Verbindung nur über die Private IP im VPC",
                        m,
                        base + (CLOUDSQL,),
                    )
                )
    return out


def _queues_of(container: dict[str, Any]) -> list[str]:
    args = argv(container)
    for i, arg in enumerate(args):
        if arg in ("--queues", "-Q") and i + 1 < len(args):
            return [q for q in args[i + 1].split(",") if q]
        if arg.startswith("--queues="):
            return [q for q in arg.split("=", 1)[1].split(",") if q]
    return []


def queues_separate(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "queues-getrennt", []
    for stage in facts.cloud_stages:
        consumers: dict[str, str] = {}
        for m in manifests(facts, artifacts):
            if m.stage.id != stage.id or m.kind != "Service":
                continue
            for path, container in containers(m):
                queues = _queues_of(container)
                if len(queues) > 1:
                    out.append(
                        _f(rule, f"{m.name} konsumiert {', '.join(queues)}; in der Cloud ein Dienst je Queue", m, path)
                    )
                for queue in queues:
                    if queue in consumers and consumers[queue] != m.name:
                        out.append(
                            _f(rule, f"Queue {queue} wird von {consumers[queue]} und {m.name} konsumiert", m, path)
                        )
                    consumers.setdefault(queue, m.name)
        for queue in sorted(set(facts.queue_names) - set(consumers)):
            out.append(_at(rule, f"in {stage.name} konsumiert kein Dienst die Queue {queue}", f"{OUT_DIR}/{stage.id}/"))
    return out


def background_services(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "hintergrunddienste", []
    base = ("spec", "template", "metadata", "annotations")
    for m in manifests(facts, artifacts):
        service = _service(m)
        if service is None or m.kind != "Service" or not service.background:
            continue
        notes = get(m.data, *base, default={}) or {}
        lo = str(notes.get("autoscaling.knative.dev/minScale", "0"))
        hi = str(notes.get("autoscaling.knative.dev/maxScale", ""))
        if notes.get("run.googleapis.com/cpu-throttling") != "false":
            out.append(_f(rule, f'{m.name} arbeitet ohne Anfragen: cpu-throttling muss "false" sein', m, base))
        if not any(p.get("containerPort") for _, ct in containers(m) for p in ct.get("ports") or []):
            out.append(
                _f(
                    rule,
                    f"{m.name} braucht einen containerPort für den Health-Endpoint ($PORT)",
                    m,
                    ("spec", "template", "spec"),
                )
            )
        if service.role == "scheduler" and hi != "1":
            out.append(_f(rule, f"{service.display} läuft höchstens einmal (maxScale 1), nicht {hi}", m, base))
        if m.stage.production and lo in ("", "0") and not service.optional:
            out.append(_f(rule, f"{m.name} in Produktion mit minScale 0 verpasst Arbeit; mindestens 1", m, base))
    return out


def production_ingress(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    rule, out = "prod-ingress", []
    for m in manifests(facts, artifacts):
        service = _service(m)
        if not m.stage.production or m.kind != "Service" or service is None:
            continue
        ingress = get(m.data, "metadata", "annotations", "run.googleapis.com/ingress")
        allowed = {LB_INGRESS} if service.entry else {"internal"}
        if ingress not in allowed:
            out.append(
                _f(
                    rule,
                    f"{m.name}: Ingress „{ingress}“, erlaubt in Produktion: {', '.join(sorted(allowed))}",
                    m,
                    ("metadata", "annotations"),
                )
            )
        lo = get(m.data, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/minScale")
        if service.entry and str(lo) in ("0", "None"):
            out.append(
                _f(
                    rule,
                    f"{service.display} in Produktion braucht Min-Instances > 0",
                    m,
                    ("spec", "template", "metadata", "annotations"),
                )
            )
    return out


def access(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    """Who may invoke (matrix `zugriff`), read back from each deploy.sh: every `gcloud run deploy` states its
    authentication; public only where the matrix allows it (never in production, never workers/beat/jobs);
    each invoker is bound; every service not public for good has a `nicht_oeffentlich` step."""
    rule, out = "zugriff", []
    for stage in facts.cloud_stages:
        path = script_path(stage)
        text = artifacts.get(path)
        if text is None:
            continue
        by_name = {s.name: s for s in stage.resources}
        cmds = commands(text)
        for cmd in cmds:
            if cmd.argv[:2] != ["gcloud", "run"] or cmd.target not in by_name:
                continue
            service, where = by_name[cmd.target], f"{path}:{cmd.line}"
            public_ok = service.access.ever_public and not stage.production
            if cmd.verb == "deploy" and cmd.noun == "services":
                flags = [a for a in cmd.argv if a.split("=", 1)[0] in AUTH_FLAGS]
                if len(flags) != 1:
                    out.append(
                        _at(rule, f"{service.name}: gcloud run deploy ohne ausdrückliche Authentifizierung "
                            "(--no-allow-unauthenticated)", where)
                    )  # fmt: skip
                elif flags[0] == AUTH_FLAGS[0] and not public_ok:
                    out.append(
                        _at(rule, f"{service.name}: --allow-unauthenticated, die Matrix erlaubt das nicht", where)
                    )
            if cmd.verb == "add-iam-policy-binding":
                member = next((cmd.argv[i + 1] for i, a in enumerate(cmd.argv[:-1]) if a == "--member"), "")
                member = member or next((a.split("=", 1)[1] for a in cmd.argv if a.startswith("--member=")), "")
                if member in PUBLIC_MEMBERS and not public_ok:
                    out.append(_at(rule, f"{service.name}: {member} als Aufrufer, die Matrix erlaubt das nicht", where))
        for service in stage.resources:
            noun = "jobs" if service.is_job else "services"
            bound = {a for c in cmds if c.target == service.name and c.verb == "add-iam-policy-binding" for a in c.argv}
            for invoker in service.access.invokers:
                if invoker.member not in bound:
                    out.append(_at(rule, f"{service.name}: Aufrufer {invoker.member} wird nicht gebunden", path))
            if service.access.authenticated and f"nicht_oeffentlich {noun} {service.name}" not in text:
                out.append(
                    _at(rule, f"{service.name}: kein Schritt „nicht_oeffentlich {noun} {service.name}“ "
                        "(eine alte allUsers-Bindung bliebe)", path)
                )  # fmt: skip
    return out


CHECKS = (
    ("Leitplanke: Migrationen nur lokal automatisch, in der Cloud nur als Job", migrations_only_local),
    ("Leitplanke: Konfiguration ohne Secret Manager nur über --set-env-vars aus der CI", staging_only_env_vars),
    ("Leitplanke: Secrets aus Secret Manager mit gepinnter Version", secrets_pinned),
    ("Leitplanke: Produktion nur mit Cloud SQL über Private IP", production_cloudsql_private),
    ("Leitplanke: Ingestion und Agenten in der Cloud in getrennten Diensten", queues_separate),
    ("Leitplanke: Hintergrunddienste (Worker, Beat) in Cloud Run", background_services),
    ("Leitplanke: Produktions-Ingress (Web nur über den Load Balancer) und Web min > 0", production_ingress),
    ("Leitplanke: Aufrufer ausdrücklich, öffentlich nur wie in der Matrix", access),
)
