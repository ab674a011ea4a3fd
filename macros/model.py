"""Typed model of matrix/umgebungen.yaml (pydantic v2).

Every fact of every stage lives here exactly once; the table, the runbooks
and the generated configs read it through these models. Cross-field rules
(min <= max, links to existing pages, queues that exist, ...) are model
validators whose messages are German, because they reach the user.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

# pydantic scans installed entry points for plugins on import (~40 ms); we use none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

StageId = Literal["dev", "staging", "prod"]
REQUIRED_STAGES: tuple[str, ...] = ("dev", "staging", "prod")
SERVICE_KINDS = ("web", "worker", "beat", "litellm", "postgres", "redis", "langfuse", "migration")
ServiceKind = Literal["web", "worker", "beat", "litellm", "postgres", "redis", "langfuse", "migration"]
Port = int  # range enforced by Field below
NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
ENV_PATTERN = r"^[A-Z][A-Z0-9_]*$"
SqlName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]


class Strict(BaseModel):
    """Base: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Postgres(Strict):
    version: PositiveInt
    image: str = Field(description="Image-Vorlage, {version} wird ersetzt")
    datenbank: str
    benutzer: str
    port: int = Field(ge=1, le=65535)
    url_env: str = Field(pattern=ENV_PATTERN, description="Umgebungsvariable mit der Verbindungs-URL der Datenbank")


class Redis(Strict):
    version: PositiveInt
    image: str
    port: int = Field(ge=1, le=65535)
    url_env: str = Field(pattern=ENV_PATTERN, description="Umgebungsvariable mit der URL von Broker und Ergebnis-Backend")


class Rag(Strict):
    db_schema: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    extension: str
    pgvector_version: str = Field(
        pattern=r"^\d+\.\d+$",
        description="pgvector-Version (Major.Minor) wie in Produktion; check-stack prüft sie live")
    embedding_dimension: int = Field(ge=1, le=16000)
    distanz: Literal["cosine", "l2", "inner_product"]
    index_methoden: list[Literal["hnsw", "ivfflat"]] = Field(
        min_length=1, description="erlaubte pgvector-Indexmethoden für Embedding-Spalten")
    index_max_dimension: dict[Literal["hnsw", "ivfflat"], PositiveInt] = Field(
        description="höchste Dimension, die eine Indexmethode für den Typ vector indizieren kann")
    retriever_tabellen: list[SqlName] = Field(
        min_length=1, description="Tabellen, die der Retriever liest: Mandantentrennung per RLS")
    agenten_tabellen: list[SqlName] = Field(
        description="plattformweite Tabellen der Agenten: ohne Mandanten-Policy")
    tenant_spalte: SqlName = Field(description="Spalte mit dem Mandanten in den Retriever-Tabellen")
    tenant_einstellung: str = Field(
        pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$",
        description="Sitzungsvariable mit dem Mandanten, gelesen per current_setting()")

    @model_validator(mode="after")
    def _tables_and_limits(self) -> "Rag":
        both = sorted(set(self.retriever_tabellen) & set(self.agenten_tabellen))
        if both:
            raise ValueError(f"Tabelle(n) {', '.join(both)} sind zugleich Retriever- und Agenten-Tabelle")
        missing = [m for m in self.index_methoden if m not in self.index_max_dimension]
        if missing:
            raise ValueError(f"index_max_dimension fehlt für {', '.join(missing)}")
        return self


class Queue(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    beschreibung: str


class Langfuse(Strict):
    env_praefix: str = Field(pattern=r"^[A-Z][A-Z0-9_]*_$")


class Artefakte(Strict):
    registry: str
    tag_variable: str = Field(pattern=ENV_PATTERN)


class Plattform(Strict):
    name: str
    leerer_start_text: str = Field(min_length=1)
    postgres: Postgres
    redis: Redis
    rag: Rag
    queues: dict[str, Queue] = Field(min_length=1)
    langfuse: Langfuse
    artefakte: Artefakte

    @model_validator(mode="after")
    def _unique_queue_names(self) -> "Plattform":
        seen: dict[str, str] = {}
        for role, queue in self.queues.items():
            if queue.name in seen:
                raise ValueError(
                    f"Queue-Name „{queue.name}“ ist doppelt vergeben ({seen[queue.name]} und {role})"
                )
            seen[queue.name] = role
        return self


class Spalte(Strict):
    id: str = Field(pattern=r"^[a-z_]+$")
    titel: str = Field(min_length=1)
    leerer_start: bool = False


class HealthEndpunkt(Strict):
    """Small HTTP health endpoint for services without their own port (Cloud Run needs one)."""

    port: int = Field(ge=1, le=65535, description="containerPort; Cloud Run setzt $PORT auf diesen Wert")
    pfad: str = Field(pattern=r"^/")
    befehl: list[str] = Field(min_length=1, description="Wrapper vor dem eigentlichen Befehl")


class Dienstart(Strict):
    anzeige: str
    artefakt: str | None = None
    image: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    health_pfad: str | None = Field(default=None, pattern=r"^/")
    befehl: list[str] | None = None
    datenbank_env: str | None = Field(default=None, pattern=ENV_PATTERN)
    migrations_env: str | None = Field(default=None, pattern=ENV_PATTERN,
                                       description="Umgebungsvariable, die die Migration beim Start schaltet")
    health_endpunkt: HealthEndpunkt | None = Field(default=None, description="nur in Cloud Run")
    parallelitaet: PositiveInt | None = Field(
        default=None, description="Prozesse je Worker-Container (Platzhalter {parallelitaet} im Befehl)")
    startet_nach: list[ServiceKind] = Field(
        default_factory=list, description="Compose: startet erst, wenn Dienste dieser Arten gesund sind")


class Variable(Strict):
    beschreibung: str
    geheim: bool = False
    dienste: list[ServiceKind] = Field(min_length=1)
    wert: str | None = Field(default=None, description="Jinja-Vorlage über Stage-Fakten")
    beispiel: str | None = Field(
        default=None, description="Jinja-Vorlage: Form des Werts als Hinweis in .env.example, nie ein echtes Geheimnis")

    @model_validator(mode="after")
    def _secret_has_no_value(self) -> "Variable":
        if self.geheim and self.wert is not None:
            raise ValueError("eine geheime Variable darf keinen Wert in der Matrix haben")
        if not self.geheim and self.wert is None:
            raise ValueError("eine nicht geheime Variable braucht einen „wert“")
        return self


class Migrationen(Strict):
    automatisch: bool


class SecretsEnvDatei(Strict):
    quelle: Literal["env_datei"]
    datei: str


class SecretsCi(Strict):
    quelle: Literal["ci_variablen"]
    gcloud_flag: Literal["--set-env-vars"]


class SecretsManager(Strict):
    quelle: Literal["secret_manager"]
    versionen: dict[str, PositiveInt] = Field(description="Gepinnte Secret-Manager-Version je geheimer Variable")


Secrets = SecretsEnvDatei | SecretsCi | SecretsManager


class Gcp(Strict):
    projekt: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str
    dienstkonto: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
                             description="Service Account der Cloud-Run-Dienste (ohne @projekt...)")


class NetzLokal(Strict):
    art: Literal["docker_bridge"]


class NetzCloud(Strict):
    art: Literal["cloudrun"]
    ingress: Literal["all", "internal", "internal-and-cloud-load-balancing"]
    web_ingress: Literal["all", "internal", "internal-and-cloud-load-balancing"] | None = None
    vpc_connector: str = Field(pattern=NAME_PATTERN)
    vpc_egress: Literal["private-ranges-only", "all-traffic"]
    cloudsql_ip: Literal["public", "private"]
    cloudsql_instanz: str = Field(pattern=NAME_PATTERN)
    memorystore_instanz: str = Field(pattern=NAME_PATTERN)


class Datenbank(Strict):
    pitr: bool


class StageRag(Strict):
    index_test_vektoren: PositiveInt


class Einlesen(Strict):
    batch_groesse: PositiveInt
    max_gleichzeitige_batches: PositiveInt


class Agenten(Strict):
    guardrails: bool
    logging: Literal["konsole", "langfuse"]


class StageLangfuse(Strict):
    modus: Literal["optional", "ci_variablen", "secret_manager"]
    host: str | None = Field(default=None, description="fehlt lokal: der Compose-Dienst langfuse")
    sampling_prozent: float = Field(ge=0, le=100, strict=False)
    pii_redaction: bool


class Skalierung(Strict):
    min: int = Field(ge=0)
    max: PositiveInt

    @model_validator(mode="after")
    def _min_le_max(self) -> "Skalierung":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) ist größer als max ({self.max})")
        return self


class Canary(Strict):
    stabil_prozent: int = Field(ge=0, le=100)
    canary_prozent: int = Field(ge=0, le=100)
    stabil_tag_variable: str = Field(pattern=ENV_PATTERN,
                                     description="CI-Variable mit dem Image-Tag der stabilen Revision")

    @model_validator(mode="after")
    def _sum_100(self) -> "Canary":
        if self.stabil_prozent + self.canary_prozent != 100:
            raise ValueError(
                f"Traffic-Anteile ergeben {self.stabil_prozent + self.canary_prozent} %, nicht 100 %"
            )
        return self


class Dienst(Strict):
    art: ServiceKind
    optional: bool = False
    queues: list[str] | None = None
    min: int | None = Field(default=None, ge=0)
    max: PositiveInt | None = None

    @model_validator(mode="after")
    def _worker_has_queues(self) -> "Dienst":
        if self.art == "worker" and not self.queues:
            raise ValueError("ein Worker braucht mindestens eine Queue („queues“)")
        if self.art != "worker" and self.queues is not None:
            raise ValueError(f"nur Worker konsumieren Queues, nicht „{self.art}“")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) ist größer als max ({self.max})")
        return self


DURATION_PATTERN = r"^[0-9]+(ms|s|m|h)$"


class ComposeHealthcheck(Strict):
    intervall: str = Field(pattern=DURATION_PATTERN)
    timeout: str = Field(pattern=DURATION_PATTERN)
    versuche: PositiveInt
    startphase: str = Field(pattern=DURATION_PATTERN, description="start_period: Fehlschläge zählen noch nicht")


class ComposeLangfuse(Strict):
    """Local Langfuse v2 needs Postgres (no SQLite): an own database container in a profile."""

    profil: str = Field(pattern=NAME_PATTERN)
    datenbank_dienst: str = Field(pattern=NAME_PATTERN)
    datenbank: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    benutzer: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    volume: str = Field(pattern=NAME_PATTERN)


class Compose(Strict):
    """Facts of the generated compose/docker-compose.yml (Dev lokal)."""

    lokale_adresse: str = Field(description="Loopback: veröffentlichte Ports und TCP-Proben im Container")
    image_variable: str = Field(pattern=r"^[A-Z_]*\{ARTEFAKT\}[A-Z_]*$",
                                description="Variable, die ein eigenes Image überschreibt; {ARTEFAKT} wird ersetzt")
    standard_tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    healthcheck: ComposeHealthcheck
    postgres_volume: str = Field(pattern=NAME_PATTERN, description="benanntes Volume der Plattform-Datenbank")
    postgres_daten_pfad: str = Field(pattern=r"^/", description="Datenverzeichnis im Postgres-Image")
    langfuse: ComposeLangfuse


class Stage(Strict):
    id: StageId
    name: str
    laufzeit: Literal["compose", "cloudrun"]
    leerer_start: bool
    gcp: Gcp | None = None
    migrationen: Migrationen
    secrets: Secrets = Field(discriminator="quelle")
    netz: NetzLokal | NetzCloud = Field(discriminator="art")
    datenbank: Datenbank
    rag: StageRag | None = None
    einlesen: Einlesen
    agenten: Agenten
    langfuse: StageLangfuse
    skalierung: Skalierung | None = None
    canary: Canary | None = None
    dienste: dict[str, Dienst] = Field(min_length=1)
    jobs: dict[str, Dienst] = Field(default_factory=dict)
    zellen: dict[str, str]
    compose: Compose | None = Field(default=None, description="nur bei laufzeit compose")

    @model_validator(mode="after")
    def _runtime_consistent(self) -> "Stage":
        cloud = self.laufzeit == "cloudrun"
        if cloud == (self.compose is not None):
            raise ValueError("„compose“ gehört genau zu den Stages mit laufzeit compose")
        if cloud and self.gcp is None:
            raise ValueError("eine Cloud-Run-Stage braucht „gcp“ (Projekt und Region)")
        if cloud and self.skalierung is None:
            raise ValueError("eine Cloud-Run-Stage braucht „skalierung“ (min/max)")
        if cloud != (self.netz.art == "cloudrun"):
            raise ValueError(f"netz.art „{self.netz.art}“ passt nicht zur Laufzeit „{self.laufzeit}“")
        for name in list(self.dienste) + list(self.jobs):
            if not _is_name(name):
                raise ValueError(f"Dienstname „{name}“ ist ungültig (nur a-z, 0-9 und -)")
        return self


def _is_name(value: str) -> bool:
    import re

    return re.fullmatch(NAME_PATTERN, value) is not None


class Matrix(Strict):
    """The whole matrix file."""

    plattform: Plattform
    seiten: dict[str, str] = Field(min_length=1)
    spalten: list[Spalte] = Field(min_length=1)
    dienstarten: dict[ServiceKind, Dienstart]
    variablen: dict[str, Variable]
    stages: list[Stage]

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def queue_name(self, role: str) -> str:
        return self.plattform.queues[role].name
