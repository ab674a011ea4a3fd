"""The facts: the matrix resolved once per stage into narrowed, typed values.

Every derived value (effective min/max, expanded command, ports, env entries,
secret ids, image references, revision names, ingress) is computed in
`build.py` and nowhere else. Artifacts, checks, the site and the stack
providers read these objects only.

Narrowed types: a `ComposeStage` has `ComposeService`s and a compose section;
a `CloudStage` has a `Gcp`, a `NetzCloud`, `CloudService`s and jobs. No
reader needs `getattr(x, "field", None)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from ..matrix import model as m

if TYPE_CHECKING:
    from ..matrix import Source
    from ..matrix.yamlload import PathKey

Role = m.Role


EXAMPLE_PLACEHOLDER = re.compile(r"<[^<>]+>")  # a placeholder in a `beispiel` hint: <passwort>, <zufällig>


@dataclass(frozen=True, kw_only=True)
class EnvEntry:
    """One environment variable as one service of one stage reads it."""

    name: str
    secret: bool
    value: str | None  # rendered value of a non-secret variable; None for secrets
    description: str


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """Secret Manager reference of a secret variable: secret id and pinned version."""

    secret_id: str  # DATABASE_URL -> database-url
    version: int


@dataclass(frozen=True, kw_only=True)
class Service:
    """A service (or job) of one stage, merged with its kind (`dienstarten`)."""

    name: str
    kind: str  # key under dienstarten
    role: Role
    display: str  # German label, e.g. "Web"
    optional: bool
    is_job: bool
    entry: bool  # the platform's entry service (Web)
    queue_roles: tuple[str, ...]
    queues: tuple[str, ...]  # queue names, in the order of queue_roles
    port: int | None  # where the service listens: http port, Postgres/Redis port; None otherwise
    health_path: str | None  # HTTP health path of an http service
    command: tuple[str, ...]  # dienstarten.<kind>.befehl, placeholders expanded; () for none
    artifact: str | None  # own image (artefakt)
    image: str | None  # third-party image, or the versioned Postgres/Redis image
    database_env: str | None
    migrations_env: str | None
    starts_after: tuple[str, ...]  # names of services in this stage it waits for (healthy)
    env: tuple[EnvEntry, ...]
    origin: tuple  # data path of the service in the matrix ("stages", i, "dienste", name)

    @property
    def background(self) -> bool:
        """Works without requests (worker, scheduler): needs CPU always and a health endpoint in Cloud Run."""
        return self.role in m.BACKGROUND_ROLES

    @property
    def secret_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.env if e.secret)

    def reads(self, name: str) -> bool:
        return any(e.name == name for e in self.env)


@dataclass(frozen=True, kw_only=True)
class ComposeService(Service):
    """A service of the compose stage."""

    profile: str | None  # compose profile (optional Langfuse pair)
    db_user: str | None  # role postgres: user and database the container creates
    db_name: str | None
    volume: str | None  # role postgres: named volume for the data directory
    published_port: int | None  # published on the loopback address (None: not published)


@dataclass(frozen=True, kw_only=True)
class Invoker:
    """An IAM member with roles/run.invoker on a service, keywords of the matrix expanded."""

    member: str  # as gcloud takes it, e.g. group:admins@example.com, serviceAccount:x@p.iam.gserviceaccount.com
    display: str  # German label from the matrix


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who may invoke a Cloud Run service or job (matrix `zugriff`; default: authenticated, nobody)."""

    authenticated: bool  # False: public for good (allUsers)
    invokers: tuple[Invoker, ...]
    qa_window: m.QaFenster | None  # public from .von to .bis inclusive (UTC dates), decided by deploy.sh at run time
    origin: tuple  # data path of the entry, or of the stage's `zugriff` when there is none

    @property
    def ever_public(self) -> bool:
        return not self.authenticated or self.qa_window is not None

    def public_on(self, day: date) -> bool:
        """Public on that day: for good, or inside the QA window."""
        window = self.qa_window
        return not self.authenticated or (window is not None and window.von <= day <= window.bis)


@dataclass(frozen=True, kw_only=True)
class CloudService(Service):
    """A Cloud Run service or job of a cloud stage."""

    min_instances: int
    max_instances: int
    ingress: str | None  # None for jobs
    image_ref: str  # registry/artefakt:${IMAGE_TAG} or the third-party image
    cloud_command: tuple[str, ...]  # health wrapper + command for background services
    container_port: int | None  # http port, or the health endpoint's port; None for jobs
    probe_path: str | None  # startup/liveness path; None for jobs
    canary: bool  # gets the stage's traffic split (serves requests)
    revision_name: str | None  # `<name>-${REVISION_NEU}` of the canary revision (deploy.sh sets it)
    stable_revision_name: str | None  # `<name>-${REVISION_STABIL}`
    access: Access


@dataclass(frozen=True, kw_only=True)
class Cell:
    column: str
    template: str | None  # None for the stage name column


@dataclass(frozen=True, kw_only=True)
class Stage:
    """Common facts of every stage."""

    index: int  # position under stages: in the matrix
    id: str
    name: str
    runtime: m.Runtime
    production: bool
    empty_start: bool
    model: m.Stage  # the raw stage (templates read it as `stage`)
    values: dict[str, str]  # rendered values of all non-secret variables
    secret_variables: tuple[str, ...]  # secret variables some service or job of this stage reads

    @property
    def origin(self) -> tuple:
        return ("stages", self.index)


@dataclass(frozen=True, kw_only=True)
class ComposeStage(Stage):
    services: tuple[ComposeService, ...]  # stage services, then the optional Langfuse pair
    compose: m.Compose
    env_file: str  # repo-relative env file with the secrets, e.g. ".env"
    examples: dict[str, str]  # rendered `beispiel` hints of the secrets (.env.example)
    langfuse_server: str | None  # service name of the local Langfuse server (profile)
    langfuse_database: str | None  # its own Postgres service

    def service(self, name: str) -> ComposeService:
        return next(s for s in self.services if s.name == name)

    def filled_example(self, name: str, value: str) -> str:
        """The `beispiel` hint of secret `name` with every <placeholder> replaced by `value`.

        Inside a URL hint (`scheme://…`) the value is percent-encoded (RFC 3986, nothing
        left unencoded), as it must be written in the env file; elsewhere it is kept as is.
        Without a hint the result is `value`. E.g. `postgresql://u:<passwort>@db/x` with
        `a@b` -> `postgresql://u:a%40b@db/x`.
        """
        example = self.examples.get(name)
        if example is None:
            return value
        fill = quote(value, safe="") if "://" in example else value
        return EXAMPLE_PLACEHOLDER.sub(lambda _match: fill, example)

    def of_role(self, role: Role, *, profiles: bool = False) -> tuple[ComposeService, ...]:
        return tuple(s for s in self.services if s.role == role and (profiles or s.profile is None))


@dataclass(frozen=True, kw_only=True)
class CloudStage(Stage):
    services: tuple[CloudService, ...]
    jobs: tuple[CloudService, ...]
    gcp: m.Gcp
    network: m.NetzCloud
    scaling: m.Skalierung
    canary: m.Canary | None
    secret_source: Literal["ci_variablen", "secret_manager"]
    secret_refs: dict[str, SecretRef]  # secret_manager stages only
    service_account: str
    cloudsql_connection: str | None  # project:region:instance when connecting over the public IP
    tag_variables: tuple[str, ...]  # CI variables with image tags (IMAGE_TAG, the canary's stable tag)
    revision_variables: tuple[tuple[str, str], ...]  # (variable deploy.sh sets, tag variable it derives from)

    @property
    def manifest_variables(self) -> tuple[str, ...]:
        """Variables envsubst fills into the manifests: the tags and the revision suffixes derived from them."""
        return self.tag_variables + tuple(name for name, _tag in self.revision_variables)

    @property
    def deploys_with_flags(self) -> bool:
        """Config only through `gcloud run deploy --set-env-vars` from CI (no Secret Manager)."""
        return self.secret_source == "ci_variablen"

    @property
    def public_cloudsql(self) -> bool:
        return self.network.cloudsql_ip == "public"

    @property
    def resources(self) -> tuple[CloudService, ...]:
        """Jobs first (migrations before new code), then services: the deploy order."""
        return self.jobs + self.services

    def resource(self, name: str) -> CloudService:
        return next(s for s in self.resources if s.name == name)


@dataclass(frozen=True, kw_only=True)
class Facts:
    """All stages resolved, plus the platform facts and what the table needs."""

    source: Source
    matrix: m.Matrix
    stages: tuple[Stage, ...]
    compose_stage: ComposeStage
    cloud_stages: tuple[CloudStage, ...]
    cache: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False, compare=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # renders of artifacts

    @property
    def platform(self) -> m.Plattform:
        return self.matrix.plattform

    @property
    def columns(self) -> list[m.Spalte]:
        return self.matrix.spalten

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def queue_name(self, role: str) -> str:
        return self.matrix.plattform.queues[role].name

    @property
    def default_queue(self) -> str:
        """Name of the queue a task without an explicit queue goes to (Celery task_default_queue)."""
        return next(q.name for q in self.matrix.plattform.queues.values() if q.standard)

    @property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.matrix.plattform.queues.values())

    def secret_names(self) -> tuple[str, ...]:
        return tuple(n for n, v in self.matrix.variablen.items() if v.geheim)

    @property
    def entry_kind(self) -> tuple[str, m.Dienstart]:
        """The one kind with einstieg: true (Web); validate guarantees it exists."""
        return next((art, k) for art, k in self.matrix.dienstarten.items() if k.einstieg)

    def where(self, path: PathKey) -> str:
        """`matrix/umgebungen.yaml:LINE:COL` of a matrix value, for findings caused by it."""
        return self.source.where(path)
