"""'Was unterscheidet die Stages': facts that differ between stages, from the matrix."""

from __future__ import annotations

from datetime import date
from typing import Any

from umgebungsmatrix.facts import CloudService, Facts, Stage, stage_resources

from .mdtable import table

SKIP = {"id", "name", "zellen", "dienste", "jobs", "abweichungen"}

# German labels of the stage facts ("*" stands for one name: a service, a variable); a new field
# without a label shows its YAML path in code style (tests/test_site_pages.py wants a label for each).
LABELS = {
    "laufzeit": "Laufzeit",
    "produktion": "Produktionsstage",
    "leerer_start": "Start mit leerem Datenbestand",
    "migrationen.automatisch": "Migrationen automatisch beim Start",
    "secrets.quelle": "Secrets: Quelle",
    "secrets.datei": "Secrets: Datei",
    "secrets.gcloud_flag": "Secrets: gcloud-Flag",
    "secrets.versionen.*": "Secret {0}: gepinnte Version",
    "netz.art": "Netz",
    "netz.ingress": "Netz: Ingress der Dienste",
    "netz.web_ingress": "Netz: Ingress von Web",
    "netz.vpc_connector": "Netz: VPC-Connector",
    "netz.vpc_egress": "Netz: VPC-Egress",
    "netz.cloudsql_ip": "Cloud SQL: Verbindung",
    "netz.cloudsql_instanz": "Cloud SQL: Instanz",
    "netz.memorystore_instanz": "Memorystore: Instanz",
    "datenbank.pitr": "Datenbank: Point-in-Time-Recovery",
    "rag.index_test_vektoren": "RAG: Vektoren im Index-Test",
    "einlesen.batch_groesse": "Ingestion: Batchgröße (Chunks)",
    "einlesen.max_gleichzeitige_batches": "Ingestion: gleichzeitige Batches",
    "agenten.guardrails": "Agenten: Guardrails",
    "agenten.logging": "Agenten: Logging",
    "langfuse.modus": "Langfuse: Betrieb",
    "langfuse.host": "Langfuse: Adresse",
    "langfuse.sampling_prozent": "Langfuse: Sampling (%)",
    "langfuse.pii_redaction": "Langfuse: PII maskieren",
    "skalierung.min": "Skalierung: Min-Instanzen (Standard)",
    "skalierung.max": "Skalierung: Max-Instanzen (Standard)",
    "canary.stabil_prozent": "Canary: Anteil stabile Revision (%)",
    "canary.canary_prozent": "Canary: Anteil neue Revision (%)",
    "canary.stabil_tag_variable": "Canary: CI-Variable des stabilen Tags",
    "gcp.projekt": "GCP: Projekt",
    "gcp.projektnummer": "GCP: Projektnummer",
    "gcp.region": "GCP: Region",
    "gcp.dienstkonto": "GCP: Dienstkonto",
    "compose.lokale_adresse": "Compose: lokale Adresse",
    "compose.image_variable": "Compose: Variable für eigene Images",
    "compose.standard_tag": "Compose: Standard-Tag",
    "compose.healthcheck.intervall": "Compose: Healthcheck-Intervall",
    "compose.healthcheck.timeout": "Compose: Healthcheck-Timeout",
    "compose.healthcheck.versuche": "Compose: Healthcheck-Versuche",
    "compose.healthcheck.startphase": "Compose: Healthcheck-Startphase",
    "compose.postgres_volume": "Compose: Volume der Datenbank",
    "compose.postgres_daten_pfad": "Compose: Datenpfad im Postgres-Image",
    "compose.langfuse.dienstart": "Compose: Langfuse-Dienst",
    "compose.langfuse.profil": "Compose: Langfuse-Profil",
    "compose.langfuse.datenbank_dienst": "Compose: Langfuse-Datenbankdienst",
    "compose.langfuse.datenbank": "Compose: Langfuse-Datenbank",
    "compose.langfuse.benutzer": "Compose: Langfuse-Datenbankbenutzer",
    "compose.langfuse.volume": "Compose: Langfuse-Volume",
    "dienste.*": "Dienst {0}",
    "jobs.*": "Job {0}",
    "zugriff.*.authentifizierung": "Zugriff auf {0}: Anmeldung nötig",
    "zugriff.*.aufrufer": "Zugriff auf {0}: Aufrufer",
    "zugriff.*.qa_fenster.von": "Zugriff auf {0}: QA-Fenster ab",
    "zugriff.*.qa_fenster.bis": "Zugriff auf {0}: QA-Fenster bis",
    "zugriff.*.qa_fenster.verantwortlich": "Zugriff auf {0}: QA-Fenster verantwortet von",
}
# Values of the matrix's fixed choices (in these keys only), as readers say them.
CHOICE_KEYS = {"laufzeit", "secrets.quelle", "netz.art", "netz.cloudsql_ip", "agenten.logging", "langfuse.modus"}
VALUES = {
    "compose": "Docker Compose",
    "cloudrun": "Cloud Run",
    "env_datei": "Datei",
    "ci_variablen": "CI-Variablen",
    "secret_manager": "Secret Manager",
    "docker_bridge": "Docker-Bridge",
    "konsole": "Konsole",
    "langfuse": "Langfuse",
    "public": "Public IP",
    "private": "Private IP",
}


def label(key: str) -> str | None:
    """German label of a dotted fact key, or None when there is none."""
    parts = key.split(".")
    for pattern, text in LABELS.items():
        wanted = pattern.split(".")
        if len(wanted) != len(parts):
            continue
        names = [part for want, part in zip(wanted, parts, strict=True) if want == "*"]
        if all(want in ("*", part) for want, part in zip(wanted, parts, strict=True)):
            return text.format(*(f"`{n}`" for n in names))
    return None


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def stage_facts(stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    data = stage.model.model_dump(exclude=SKIP, exclude_none=True)
    _flatten(data, "", out)
    for service in stage_resources(stage):
        group = "jobs" if service.is_job else "dienste"
        text = service.display
        if isinstance(service, CloudService) and not service.is_job:
            text += f", {service.min_instances}–{service.max_instances}"
        if service.queues:
            text += f", Queue {', '.join(service.queues)}"
        if service.optional:
            text += " (optional)"
        out[f"{group}.{service.name}"] = text
    return out


def show(value: Any, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if key in CHOICE_KEYS and isinstance(value, str) and value in VALUES:
        return VALUES[value]
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")  # as the overview and the stage pages write dates
    if isinstance(value, dict) and "anzeige" in value:  # an invoker
        return str(value["anzeige"])
    if isinstance(value, (list, tuple)):
        return ", ".join(map(show, value))
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def differences(facts: Facts) -> tuple[list[str], list[list[str]]]:
    """Header and rows (fact, value per stage) where not all stages agree."""
    per_stage = [stage_facts(s) for s in facts.stages]
    keys: list[str] = []
    for f in per_stage:
        keys += [k for k in f if k not in keys]
    rows = []
    for key in keys:
        values = [f.get(key) for f in per_stage]
        if len({repr(v) for v in values}) > 1:
            rows.append([label(key) or f"`{key}`", *(show(v, key) for v in values)])
    return ["Fakt", *(s.name for s in facts.stages)], rows


def markdown(facts: Facts, shared: bool = True) -> str:
    """Facts set in several stages (shared=True) or in only one stage (shared=False)."""
    head, rows = differences(facts)
    picked = [r for r in rows if (sum(cell != "–" for cell in r[1:]) > 1) == shared]
    return table(head, picked)
