"""Facts of one Cloud Run service or job, derived from the matrix.

Everything here is computed from matrix/umgebungen.yaml; nothing is typed in.
Conventions (not facts) live here and are documented on docs/stages/:
- secret names in Secret Manager are the variable names in lower-kebab-case,
- revision names of canary services are `<service>-${IMAGE_TAG}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from macros.model import Matrix, Stage
from macros.render import ServiceView, services, variable_value

HEADER_LINES = (
    "Erzeugt aus matrix/umgebungen.yaml – nicht von Hand bearbeiten.",
    "Ändern: Matrix anpassen, dann `make generate`.",
)
OUT_DIR = "cloudrun"


@dataclass(frozen=True)
class EnvEntry:
    """One environment variable of a service: literal value or secret."""

    name: str
    secret: bool
    value: str | None = None  # rendered value of a non-secret variable


def cloud_stages(matrix: Matrix) -> list[Stage]:
    return [s for s in matrix.stages if s.laufzeit == "cloudrun"]


def cloud_services(matrix: Matrix, stage: Stage) -> list[ServiceView]:
    return services(matrix, stage)


def cloud_jobs(matrix: Matrix, stage: Stage) -> list[ServiceView]:
    return services(matrix, stage, jobs=True)


def manifest_path(stage: Stage, view: ServiceView) -> str:
    suffix = "-job" if view.is_job else ""
    return f"{OUT_DIR}/{stage.id}/{view.name}{suffix}.yaml"


def deploy_script_path(stage: Stage) -> str:
    return f"{OUT_DIR}/{stage.id}/deploy.sh"


def tag_ref(matrix: Matrix) -> str:
    return "${" + matrix.plattform.artefakte.tag_variable + "}"


def image(matrix: Matrix, view: ServiceView) -> str:
    if view.image:
        return view.image
    return f"{matrix.plattform.artefakte.registry}/{view.artefakt}:{tag_ref(matrix)}"


def concurrency(matrix: Matrix, stage: Stage, view: ServiceView) -> int:
    """Celery worker concurrency: the kind's `parallelitaet` if the matrix has one,
    else the stage's concurrent ingestion batches."""
    kind = matrix.dienstarten[view.art]  # type: ignore[index]
    return getattr(kind, "parallelitaet", None) or stage.einlesen.max_gleichzeitige_batches


def command(matrix: Matrix, stage: Stage, view: ServiceView) -> list[str]:
    """Full command line in Cloud Run (health wrapper first, if the kind has one)."""
    if not view.befehl:
        return []
    values = {"queues": ",".join(view.queues), "parallelitaet": str(concurrency(matrix, stage, view))}
    argv = [part.format(**values) for part in view.befehl]
    health = matrix.dienstarten[view.art].health_endpunkt  # type: ignore[index]
    return [*health.befehl, *argv] if health else argv


def container_port(matrix: Matrix, view: ServiceView) -> int | None:
    if view.port:
        return view.port
    health = matrix.dienstarten[view.art].health_endpunkt  # type: ignore[index]
    return health.port if health else None


def health_path(matrix: Matrix, view: ServiceView) -> str | None:
    health = matrix.dienstarten[view.art].health_endpunkt  # type: ignore[index]
    return view.health_pfad or (health.pfad if health else None)


def is_queue_consumer(matrix: Matrix, view: ServiceView) -> bool:
    """Services that work in the background (no requests): CPU must stay allocated."""
    return matrix.dienstarten[view.art].health_endpunkt is not None  # type: ignore[index]


def serves_requests(view: ServiceView) -> bool:
    return view.port is not None and not view.is_job


def env_entries(matrix: Matrix, stage: Stage, view: ServiceView) -> list[EnvEntry]:
    out = []
    for name, variable in matrix.variablen.items():
        if view.art not in variable.dienste:
            continue
        if variable.geheim:
            out.append(EnvEntry(name, True))
        else:
            out.append(EnvEntry(name, False, variable_value(matrix, stage, name)))
    return out


def secret_names(matrix: Matrix) -> list[str]:
    return [name for name, v in matrix.variablen.items() if v.geheim]


def secret_id(variable: str) -> str:
    """Secret Manager id of a variable: DATABASE_URL -> database-url."""
    return variable.lower().replace("_", "-")


def service_account(stage: Stage) -> str:
    gcp = stage.gcp
    assert gcp is not None
    return f"{gcp.dienstkonto}@{gcp.projekt}.iam.gserviceaccount.com"


def cloudsql_connection(stage: Stage) -> str:
    gcp, netz = stage.gcp, stage.netz
    assert gcp is not None
    return f"{gcp.projekt}:{gcp.region}:{netz.cloudsql_instanz}"  # type: ignore[union-attr]


def ingress(stage: Stage, view: ServiceView) -> str:
    netz = stage.netz
    if view.art == "web" and netz.web_ingress:  # type: ignore[union-attr]
        return netz.web_ingress  # type: ignore[union-attr]
    return netz.ingress  # type: ignore[union-attr]


def public_cloudsql(stage: Stage) -> bool:
    return stage.netz.cloudsql_ip == "public"  # type: ignore[union-attr]


def revision_name(matrix: Matrix, view: ServiceView, tag_variable: str | None = None) -> str:
    variable = tag_variable or matrix.plattform.artefakte.tag_variable
    return f"{view.name}-${{{variable}}}"


def uses_canary(stage: Stage, view: ServiceView) -> bool:
    return stage.canary is not None and serves_requests(view)


def placeholders(matrix: Matrix, stage: Stage) -> list[str]:
    """CI variables substituted into the manifests before `gcloud ... replace`."""
    names = [matrix.plattform.artefakte.tag_variable]
    if stage.canary:
        names.append(stage.canary.stabil_tag_variable)
    return names


def deploys_with_flags(stage: Stage) -> bool:
    """Staging: config only through `gcloud run deploy --set-env-vars` from CI."""
    return stage.secrets.quelle == "ci_variablen"
