"""Typed model of matrix/umgebungen.yaml (pydantic v2, strict, unknown keys refused).

Every fact of every stage lives here exactly once. What the platform grows by
is data: stages, table columns, service kinds (`dienstarten`) and variables
are open mappings/lists. What really is fixed stays typed:

- the runtime of a stage (`laufzeit`: compose or cloudrun), exactly one compose stage;
- the role of a service kind (`rolle`): http, worker, scheduler, job, postgres, redis.

Rules across fields (min <= max, known queues, references between sections)
are in `rules.py`; derived values are computed once in `umgebungsmatrix.facts`.
Field descriptions are German: they reach editors through the JSON Schema.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated, Literal

# pydantic scans installed entry points for plugins on import (~40 ms); we use none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

NAME_PATTERN = r"^[a-z][a-z0-9-]*$"
ENV_PATTERN = r"^[A-Z][A-Z0-9_]*$"
SQL_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
DURATION_PATTERN = r"^[0-9]+(ms|s|m|h)$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
EnvName = Annotated[str, Field(pattern=ENV_PATTERN)]
SqlName = Annotated[str, Field(pattern=SQL_NAME_PATTERN)]
Port = Annotated[int, Field(ge=1, le=65535)]
# Cloud Run's Admin API types instance counts as int32 (v2 minInstanceCount/maxInstanceCount; the
# v1 scale annotations are read the same way): a larger number is refused by the API, not by gcloud.
INT32_MAX = 2**31 - 1
Instances = Annotated[int, Field(ge=0, le=INT32_MAX)]
PositiveInstances = Annotated[int, Field(ge=1, le=INT32_MAX)]
Role = Literal["http", "worker", "scheduler", "job", "postgres", "redis"]
Runtime = Literal["compose", "cloudrun"]
Ingress = Literal["all", "internal", "internal-and-cloud-load-balancing"]
# A calendar date written as "YYYY-MM-DD" in quotes (unquoted, YAML 1.1 and 1.2 read it differently).
Datum = Annotated[date, Field(strict=False)]
# IAM principal types Cloud Run accepts in a policy binding (https://cloud.google.com/iam/docs/principal-identifiers);
# allUsers/allAuthenticatedUsers are not written as invokers: public access is `qa_fenster` or `authentifizierung: false`.
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IAM_MEMBER_PATTERN = (
    rf"^((user|group|serviceAccount):{_EMAIL}|domain:[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}"
    r"|(principal|principalSet)://[A-Za-z0-9._~:/@%+=*-]+)$"
)
# Keywords for members the facts layer derives from the stage.
MEMBER_KEYWORDS = ("dienstkonto", "iap")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
QA_WINDOW_MAX_DAYS = 30

# Roles that run the platform's own code in the background (no requests):
# in Cloud Run they listen on the platform's small health endpoint.
BACKGROUND_ROLES: tuple[Role, ...] = ("worker", "scheduler")
INFRASTRUCTURE_ROLES: tuple[Role, ...] = ("postgres", "redis")


class Strict(BaseModel):
    """Base: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Postgres(Strict):
    version: PositiveInt
    image: str = Field(description="Image-Vorlage, {version} wird ersetzt")
    datenbank: str
    benutzer: str
    port: Port
    url_env: EnvName = Field(description="Umgebungsvariable mit der Verbindungs-URL der Datenbank")


class Redis(Strict):
    version: PositiveInt
    image: str = Field(description="Image-Vorlage, {version} wird ersetzt")
    port: Port
    url_env: EnvName = Field(description="Umgebungsvariable mit der URL von Broker und Ergebnis-Backend")


class Rag(Strict):
    db_schema: SqlName
    extension: str
    pgvector_version: str = Field(
        pattern=r"^\d+\.\d+$",
        description="pgvector-Version (Major.Minor) wie in Produktion; check-stack prüft sie live",
    )
    embedding_dimension: int = Field(ge=1, le=16000)
    distanz: Literal["cosine", "l2", "inner_product"]
    index_methoden: list[Literal["hnsw", "ivfflat"]] = Field(
        min_length=1, description="erlaubte pgvector-Indexmethoden für Embedding-Spalten"
    )
    index_max_dimension: dict[Literal["hnsw", "ivfflat"], PositiveInt] = Field(
        description="höchste Dimension, die eine Indexmethode für den Typ vector indizieren kann"
    )
    retriever_tabellen: list[SqlName] = Field(
        min_length=1, description="Tabellen, die der Retriever liest: Mandantentrennung per RLS"
    )
    agenten_tabellen: list[SqlName] = Field(description="plattformweite Tabellen der Agenten: ohne Mandanten-Policy")
    tenant_spalte: SqlName = Field(description="Spalte mit dem Mandanten in den Retriever-Tabellen")
    tenant_einstellung: str = Field(
        pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$",
        description="Sitzungsvariable mit dem Mandanten, gelesen per current_setting()",
    )


class Queue(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    beschreibung: str
    standard: bool = Field(
        default=False,
        description="Ziel von Aufgaben ohne ausdrückliche Queue (z. B. von Beat "
        "geplant); genau eine Queue ist Standard, sonst landen sie in Celerys Queue „celery“, "
        "die kein Worker konsumiert",
    )


class Langfuse(Strict):
    env_praefix: str = Field(pattern=r"^[A-Z][A-Z0-9_]*_$")


class Artefakte(Strict):
    registry: str = Field(
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$",
        description="Registry und Pfad der eigenen Images (ohne Artefaktname)",
    )
    tag_variable: EnvName = Field(description="CI-Variable mit dem Image-Tag")


class HealthEndpunkt(Strict):
    """Small HTTP health endpoint for background services (Cloud Run needs a listening port)."""

    port: Port = Field(description="containerPort; Cloud Run setzt $PORT auf diesen Wert")
    pfad: str = Field(pattern=r"^/")
    befehl: list[str] = Field(min_length=1, description="Wrapper vor dem eigentlichen Befehl")


class Plattform(Strict):
    name: str
    leerer_start_text: str = Field(min_length=1)
    postgres: Postgres
    redis: Redis
    rag: Rag
    queues: dict[str, Queue] = Field(min_length=1)
    langfuse: Langfuse
    artefakte: Artefakte
    health_endpunkt: HealthEndpunkt = Field(
        description="Health-Endpoint der Hintergrunddienste (Rollen worker, scheduler) in Cloud Run"
    )


class Spalte(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    titel: str = Field(min_length=1)
    leerer_start: bool = Field(
        default=False, description="hängt plattform.leerer_start_text an, wenn die Stage leer startet"
    )
    stagename: bool = Field(default=False, description="die Spalte zeigt den Namen der Stage (keine Zelle)")


class Dienstart(Strict):
    """A kind of service: the same container artifact in every stage."""

    anzeige: str = Field(min_length=1)
    rolle: Role = Field(
        description="http: bedient Anfragen auf port; worker: konsumiert Queues; "
        "scheduler: plant Aufgaben (höchstens eine Instanz); job: läuft einmal; "
        "postgres/redis: Infrastruktur (lokal als Container, in der Cloud verwaltet)"
    )
    einstieg: bool = Field(
        default=False,
        description="der Einstiegsdienst der Plattform (Web): "
        "netz.web_ingress, in Produktion min > 0, Fakten der Referenz-App",
    )
    artefakt: Name | None = Field(default=None, description="eigenes Image (Registry der Plattform)")
    image: str | None = Field(default=None, description="fremdes Image mit Tag")
    port: Port | None = None
    health_pfad: str | None = Field(default=None, pattern=r"^/")
    befehl: list[str] | None = Field(default=None, description="Platzhalter: {queues}, {parallelitaet}")
    datenbank_env: EnvName | None = None
    migrations_env: EnvName | None = Field(
        default=None, description="Umgebungsvariable, die die Migration beim Start schaltet"
    )
    parallelitaet: PositiveInt | None = Field(
        default=None, description="Prozesse je Worker-Container (Platzhalter {parallelitaet} im Befehl)"
    )
    startet_nach: list[str] = Field(
        default_factory=list, description="Compose: startet erst, wenn Dienste dieser Arten gesund sind"
    )


class Variable(Strict):
    beschreibung: str
    geheim: bool = False
    dienste: list[str] = Field(min_length=1, description="Dienstarten, die die Variable lesen")
    wert: str | None = Field(default=None, description="Jinja-Vorlage über Stage-Fakten")
    beispiel: str | None = Field(
        default=None, description="Jinja-Vorlage: Form des Werts als Hinweis in .env.example, nie ein echtes Geheimnis"
    )


class Migrationen(Strict):
    automatisch: bool


class SecretsEnvDatei(Strict):
    quelle: Literal["env_datei"]
    datei: str = Field(min_length=1, pattern=r"^[^/\\][^\\]*$")


class SecretsCi(Strict):
    quelle: Literal["ci_variablen"]
    gcloud_flag: Literal["--set-env-vars"]


class SecretsManager(Strict):
    quelle: Literal["secret_manager"]
    versionen: dict[str, PositiveInt] = Field(description="Gepinnte Secret-Manager-Version je geheimer Variable")


Secrets = SecretsEnvDatei | SecretsCi | SecretsManager


class Gcp(Strict):
    projekt: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    projektnummer: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{5,19}$",
        description="Projektnummer (in Anführungszeichen); nötig für den Aufrufer iap "
        "(service-NUMMER@gcp-sa-iap.iam.gserviceaccount.com)",
    )
    region: str = Field(pattern=r"^[a-z]+-[a-z]+[0-9]+$")
    dienstkonto: str = Field(
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
        description="Service Account der Cloud-Run-Dienste (ohne @projekt...)",
    )


class NetzLokal(Strict):
    art: Literal["docker_bridge"]


class NetzCloud(Strict):
    art: Literal["cloudrun"]
    ingress: Ingress
    web_ingress: Ingress | None = Field(
        default=None, description="Ingress des Einstiegsdienstes (Web), sonst gilt ingress"
    )
    vpc_connector: Name
    vpc_egress: Literal["private-ranges-only", "all-traffic"]
    cloudsql_ip: Literal["public", "private"]
    cloudsql_instanz: Name
    memorystore_instanz: Name


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
    min: Instances = Field(description="Standard-Min-Instances der Dienste")
    max: PositiveInstances = Field(description="Obergrenze der Instanzen je Dienst")


class Canary(Strict):
    stabil_prozent: int = Field(ge=0, le=100)
    canary_prozent: int = Field(ge=0, le=100)
    stabil_tag_variable: EnvName = Field(description="CI-Variable mit dem Image-Tag der stabilen Revision")


class Dienst(Strict):
    art: str = Field(description="Schlüssel unter dienstarten")
    optional: bool = False
    queues: list[str] | None = Field(default=None, description="Rollen unter plattform.queues (nur Worker)")
    min: Instances | None = Field(default=None, description="Min-Instances; Standard: skalierung.min der Stage")
    max: PositiveInstances | None = Field(default=None, description="Max-Instances; Standard: skalierung.max der Stage")


class Aufrufer(Strict):
    """Who may invoke a Cloud Run service (IAM role roles/run.invoker)."""

    mitglied: str = Field(
        description="IAM-Mitglied (user:, group:, serviceAccount:, domain:, principal:, principalSet:) "
        "oder dienstkonto (das Dienstkonto der Stage) oder iap (der IAP-Dienst-Agent hinter dem "
        "HTTPS-Load-Balancer; braucht gcp.projektnummer)"
    )
    anzeige: str = Field(min_length=1, description="wer das ist, auf Deutsch (Tabelle und Stage-Seite)")


class QaFenster(Strict):
    """A time-boxed public access for QA (Staging only, at most 30 days)."""

    von: Datum = Field(description='erster öffentlicher Tag, "JJJJ-MM-TT"')
    bis: Datum = Field(description='letzter öffentlicher Tag (einschließlich, UTC), "JJJJ-MM-TT"')
    verantwortlich: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="E-Mail der Person, die das Fenster verantwortet"
    )


class Zugriff(Strict):
    """Access to one service of a cloud stage. Without an entry: authentication required, no invokers."""

    authentifizierung: bool = Field(
        default=True, description="false: dauerhaft öffentlich (allUsers); nie in Produktion, nie für Worker/Beat/Jobs"
    )
    aufrufer: list[Aufrufer] = Field(default_factory=list, description="wer den Dienst aufrufen darf")
    qa_fenster: QaFenster | None = Field(default=None, description="befristet öffentlich für QA (nur Staging)")


class Abweichung(Strict):
    """A cell that deliberately differs from the page the matrix grew from (the seed)."""

    ursprungstext: str = Field(min_length=1, description="der Wortlaut des Ursprungstexts, wörtlich")
    grund: str = Field(min_length=1, description="warum die Zelle abweicht (was der erzeugte Stack tut)")


class ComposeHealthcheck(Strict):
    intervall: str = Field(pattern=DURATION_PATTERN)
    timeout: str = Field(pattern=DURATION_PATTERN)
    versuche: PositiveInt
    startphase: str = Field(pattern=DURATION_PATTERN, description="start_period: Fehlschläge zählen noch nicht")


class ComposeLangfuse(Strict):
    """Local Langfuse v2 needs Postgres (no SQLite): an own database container in a profile."""

    dienstart: str = Field(description="Dienstart des Langfuse-Servers (unter dienstarten)")
    profil: Name
    datenbank_dienst: Name
    datenbank: SqlName
    benutzer: SqlName
    volume: Name


class Compose(Strict):
    """Facts of the generated compose/docker-compose.yml (the compose stage)."""

    lokale_adresse: str = Field(description="Loopback: veröffentlichte Ports und TCP-Proben im Container")
    image_variable: str = Field(
        pattern=r"^[A-Z_]*\{ARTEFAKT\}[A-Z_]*$",
        description="Variable, die ein eigenes Image überschreibt; {ARTEFAKT} wird ersetzt",
    )
    standard_tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    healthcheck: ComposeHealthcheck
    postgres_volume: Name = Field(description="benanntes Volume der Plattform-Datenbank")
    postgres_daten_pfad: str = Field(pattern=r"^/", description="Datenverzeichnis im Postgres-Image")
    langfuse: ComposeLangfuse


class Stage(Strict):
    id: Name = Field(description="kurzer Name: Ordner cloudrun/<id>/, Seite stages/<id>.md")
    name: str = Field(min_length=1)
    laufzeit: Runtime
    produktion: bool = Field(
        default=False,
        description="Produktionsstage: es gelten die Prod-Leitplanken "
        "(Secret Manager, Private IP, PITR, Web nur über den Load Balancer, min > 0)",
    )
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
    zugriff: dict[str, Zugriff] = Field(
        default_factory=dict,
        description="Cloud Run: wer welchen Dienst aufrufen darf (Schlüssel: Dienst); ohne Eintrag nur "
        "angemeldet und ohne Aufrufer",
    )
    zellen: dict[str, str]
    abweichungen: dict[str, Abweichung] = Field(
        default_factory=dict,
        description="Zellen (Schlüssel: Spalte), die bewusst vom Ursprungstext abweichen; "
        "die Matrix-Seite listet sie unter „Abweichungen vom Ursprungstext“",
    )
    compose: Compose | None = Field(default=None, description="nur bei laufzeit compose")


class Matrix(Strict):
    """The whole matrix file."""

    plattform: Plattform
    seiten: dict[str, str] = Field(min_length=1)
    spalten: list[Spalte] = Field(min_length=1)
    dienstarten: dict[str, Dienstart] = Field(min_length=1)
    variablen: dict[str, Variable]
    stages: list[Stage] = Field(min_length=1)
