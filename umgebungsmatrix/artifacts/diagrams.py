"""Diagrams generated from the facts, as Mermaid flowcharts (used by the stage pages and the macros) (rendered to SVG in the browser by the
Mermaid the site ships itself, docs/assets/vendor/mermaid/).

- `services(facts, stage)`: the services of a stage and how they connect (web, workers per queue,
  beat, LiteLLM, Postgres/Cloud SQL, Redis/Memorystore, Langfuse, the migration job, who calls in).
- `secrets(facts)`: where each stage's secrets come from and how they reach the services.
- `release(facts)`: the release flow: images once, then per cloud stage the migration job before the
  services, and the canary split where a stage has one.

Every label comes from the facts; a changed matrix changes the diagram. Mermaid syntax:
https://mermaid.js.org/syntax/flowchart.html (labels quoted, `"` written as #quot;).
"""

from __future__ import annotations

import re

from ..facts import CloudService, CloudStage, ComposeStage, Facts, Service, Stage, prozent


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def fence(lines: list[str]) -> str:
    return "```mermaid\n" + "\n".join(lines) + "\n```"


def _service_label(stage: Stage, s: Service) -> str:
    parts = [s.display]
    if s.name.lower() != s.display.lower():
        parts[0] += f" ({s.name})"
    if s.queues:
        parts.append("Queue " + ", ".join(s.queues))
    if isinstance(s, CloudService) and not s.is_job:
        same = s.min_instances == s.max_instances
        parts.append(
            f"genau {s.min_instances} Instanz" + ("en" if s.min_instances != 1 else "")
            if same
            else f"{s.min_instances}–{s.max_instances} Instanzen"
        )
    if s.optional:
        parts.append("optional")
    return "<br/>".join(parts)


def services(facts: Facts, stage: Stage) -> str:
    """Mermaid flowchart of one stage's services and their connections."""
    lines = ["flowchart TB"]  # top to bottom: stays readable in the content column
    assert isinstance(stage, (ComposeStage, CloudStage))
    all_services: list[Service] = list(stage.services)
    own = [s for s in all_services if s.role not in ("postgres", "redis") and getattr(s, "profile", None) is None]
    jobs: list[Service] = list(stage.jobs) if isinstance(stage, CloudStage) else []
    web = [s for s in own if s.entry]
    workers = [s for s in own if s.role == "worker"]
    beat = [s for s in own if s.role == "scheduler"]
    other_http = [s for s in own if s.role == "http" and not s.entry]
    if isinstance(stage, ComposeStage):
        db = f"Postgres {facts.platform.postgres.version}<br/>(Container)"
        cache = f"Redis {facts.platform.redis.version}<br/>(Container)"
        caller = f"Entwickler:in<br/>{stage.compose.lokale_adresse}"
        langfuse = "Langfuse (Profil, optional)<br/>eigenes Postgres"
    else:
        assert isinstance(stage, CloudStage)
        ip = "Public IP, Connector" if stage.public_cloudsql else "Private IP"
        db = f"Cloud SQL {stage.network.cloudsql_instanz}<br/>{ip}{', PITR' if stage.model.datenbank.pitr else ''}"
        cache = f"Memorystore {stage.network.memorystore_instanz}<br/>über {stage.network.vpc_connector}"
        entry = next((s for s in stage.services if s.entry), None)
        callers = ", ".join(i.display for i in entry.access.invokers) if entry else ""
        if entry is not None and entry.ingress == "internal-and-cloud-load-balancing":
            caller = f"Nutzer:innen<br/>über {callers or 'Load Balancer'}"
        elif entry is not None and entry.access.qa_window is not None:
            caller = (
                f"{callers or 'angemeldet'}<br/>QA öffentlich bis {entry.access.qa_window.bis.strftime('%d.%m.%Y')}"
            )
        else:
            caller = callers or "angemeldete Aufrufer"
        langfuse = f"Langfuse<br/>{stage.model.langfuse.host or ''}<br/>Sampling {prozent(stage.model.langfuse.sampling_prozent)}"
    lines += [
        f"  nutzer([{_label(caller)}])",
        f"  db[({_label(db)})]",
        f"  redis[({_label(cache)})]",
        f"  langfuse[{_label(langfuse)}]",
    ]
    for s in own + jobs:
        shape = ("[[", "]]") if s.is_job else ("[", "]")
        lines.append(f"  {_id(s.name)}{shape[0]}{_label(_service_label(stage, s))}{shape[1]}")
    for s in web:
        lines.append(f"  nutzer --> {_id(s.name)}")
        lines.append(f"  {_id(s.name)} -- {_label('Aufgaben')} --> redis")
    for s in beat:
        lines.append(f"  {_id(s.name)} -- {_label('plant ' + facts.default_queue)} --> redis")
    for s in workers:
        lines.append(f"  redis -- {_label(', '.join(s.queues))} --> {_id(s.name)}")
    for s in web + workers + beat + jobs:
        if s.reads(facts.platform.postgres.url_env):
            lines.append(f"  {_id(s.name)} --> db")
    for s in other_http:
        for caller_service in web + workers:
            lines.append(f"  {_id(caller_service.name)} -.-> {_id(s.name)}")
        if s.database_env:
            lines.append(f"  {_id(s.name)} --> db")
    for s in web + workers:
        if any(e.name.startswith(facts.platform.langfuse.env_praefix) for e in s.env):
            lines.append(f"  {_id(s.name)} -. {_label('Traces')} .-> langfuse")
    return fence(lines)


def secrets(facts: Facts) -> str:
    """Mermaid flowchart: per stage, the secrets' source and the way into the services."""
    lines = ["flowchart LR"]
    for stage in facts.stages:
        sid = _id(stage.id)
        lines.append(f"  subgraph {sid}[{_label(stage.name)}]")
        lines.append("    direction LR")
        names = ", ".join(stage.secret_variables[:3]) + (" …" if len(stage.secret_variables) > 3 else "")
        if isinstance(stage, ComposeStage):
            lines += [
                f"    {sid}_src[/{_label(f'Datei {stage.env_file}<br/>(nie im Git)')}/]",
                f"    {sid}_way[{_label(f'docker compose --env-file {stage.env_file}<br/>je Dienst nur seine Variablen')}]",
            ]
        elif isinstance(stage, CloudStage) and stage.deploys_with_flags:
            lines += [
                f"    {sid}_src[/{_label('CI-Variablen')}/]",
                f"    {sid}_way[{_label('deploy.sh<br/>gcloud run deploy --set-env-vars')}]",
            ]
        else:
            assert isinstance(stage, CloudStage)
            pinned = ", ".join(f"{n}:{r.version}" for n, r in list(stage.secret_refs.items())[:2])
            lines += [
                f"    {sid}_src[({_label('Secret Manager<br/>gepinnte Versionen')})]",
                f"    {sid}_way[{_label(f'Manifest secretKeyRef<br/>{pinned} …')}]",
            ]
        lines += [
            f"    {sid}_svc[{_label('Dienste<br/>' + names)}]",
            f"    {sid}_src --> {sid}_way --> {sid}_svc",
            "  end",
        ]
    return fence(lines)


def release(facts: Facts) -> str:
    """Mermaid flowchart of the release: images once, per cloud stage migration job then services,
    canary split where the stage has one."""
    tag = facts.platform.artefakte.tag_variable
    lines = ["flowchart TB", f"  build[{_label(f'Images bauen und pushen<br/>ein Satz je {tag}')}]"]
    previous = "build"
    for stage in facts.cloud_stages:
        sid = _id(stage.id)
        jobs = [s for s in stage.jobs if not s.optional]
        lines.append(f"  subgraph {sid}[{_label(stage.name)}]")
        step = None
        for job in jobs:
            lines.append(f"    {sid}_{_id(job.name)}[[{_label(f'{job.display}: Job {job.name}<br/>execute --wait')}]]")
            step = f"{sid}_{_id(job.name)}"
        how = "services replace (Manifeste)" if not stage.deploys_with_flags else "gcloud run deploy"
        lines.append(f"    {sid}_deploy[{_label(f'Dienste ausrollen<br/>{how}')}]")
        if step:
            lines.append(f"    {step} -- {_label('erst nach erfolgreicher Migration')} --> {sid}_deploy")
        if stage.canary is not None:
            c = stage.canary
            lines += [
                f"    {sid}_split{{{_label(f'Canary-Split<br/>{c.stabil_prozent} % stabil / {c.canary_prozent} % neu')}}}",
                f"    {sid}_deploy --> {sid}_split",
                f"    {sid}_ok[{_label('Freigabe: update-traffic --to-latest')}]",
                f"    {sid}_back[{_label('Rückweg: 100 % auf die stabile Revision')}]",
                f"    {sid}_split -- {_label('Metriken gut')} --> {sid}_ok",
                f"    {sid}_split -- {_label('Fehler')} --> {sid}_back",
            ]
        lines.append("  end")
        gate = f" -- {_label('manuelle Freigabe')} -->" if stage.production else " -->"
        lines.append(f"  {previous}{gate} {step or sid + '_deploy'}")
        previous = f"{sid}_ok" if stage.canary is not None else f"{sid}_deploy"
    return fence(lines)
