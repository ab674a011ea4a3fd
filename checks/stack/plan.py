"""What a stack check starts, derived from the matrix only.

The plan names the local stage (the one running on Compose), the database
name and user, the env of each service (names and non-secret values from
`variablen`), the rendered commands of `dienstarten.*.befehl`, and the extra
"separation" workers that reproduce how the cloud stages split the queues.
Providers (embedded, docker) start exactly this plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from macros.matrix import ROOT
from macros.model import Matrix, Stage
from macros.render import ServiceView, services, variable_value

from .app_facts import schema_file

# Kinds a stack check starts as processes; Postgres and Redis come from the
# provider itself, LiteLLM/Langfuse/Beat are not part of these claims.
APP_KINDS = ("migration", "web", "worker")


class PlanProblem(Exception):
    """The matrix cannot be turned into a runnable stack; German message."""


@dataclass(frozen=True)
class ServicePlan:
    name: str                       # service name in the stage (web, worker, ...)
    art: str                        # its kind
    command: tuple[str, ...]        # rendered dienstarten.<art>.befehl
    env: dict[str, str]             # non-secret values of the variables it reads
    secret_env: tuple[str, ...]     # names of secret variables it reads (values from the provider)
    queues: tuple[str, ...] = ()
    port: int | None = None
    health_path: str | None = None


@dataclass(frozen=True)
class WorkerPlan:
    """A Celery worker to start: a stage's worker or a separation probe."""

    node: str                       # Celery node name prefix (unique in the run)
    stage: str                      # stage whose declaration it reproduces
    service: str                    # service name in that stage
    queues: tuple[str, ...]         # queues it must consume, exactly
    foreign_queues: tuple[str, ...] # queues it must never take
    redis_db: int                   # separation workers get their own Redis database
    command: tuple[str, ...]
    env: dict[str, str]


@dataclass(frozen=True)
class StackPlan:
    stage: Stage
    database: str
    user: str
    database_url_env: str
    redis_url_env: str
    schema_file: Path
    db_schema: str
    migration: ServicePlan | None   # a service of kind migration, run to completion first
    web: ServicePlan | None
    workers: tuple[WorkerPlan, ...]
    all_queues: tuple[str, ...]
    auto_migrate: bool              # the matrix says the local stage migrates on start
    migrations_env: str | None      # env name that switches the migration on start
    notes: tuple[str, ...] = field(default=())


def local_stage(matrix: Matrix) -> Stage:
    local = [s for s in matrix.stages if s.laufzeit == "compose"]
    if len(local) != 1:
        raise PlanProblem(f"genau eine Stage mit laufzeit compose erwartet, gefunden {len(local)}")
    return local[0]


def render_command(matrix: Matrix, view: ServiceView) -> tuple[str, ...]:
    """dienstarten.<art>.befehl with its placeholders filled (like the compose file)."""
    if not view.befehl:
        raise PlanProblem(f"Dienst „{view.name}“ ({view.art}) hat keinen befehl in dienstarten")
    kind = matrix.dienstarten[view.art]  # type: ignore[index]
    values = {"queues": ",".join(view.queues), "parallelitaet": getattr(kind, "parallelitaet", None) or 1}
    try:
        return tuple(part.format(**values) for part in view.befehl)
    except (KeyError, IndexError) as exc:
        raise PlanProblem(f"Platzhalter {exc} im befehl von „{view.art}“ ist unbekannt") from None


def service_env(matrix: Matrix, stage: Stage, art: str) -> tuple[dict[str, str], tuple[str, ...]]:
    env: dict[str, str] = {}
    secrets: list[str] = []
    for name, variable in matrix.variablen.items():
        if art not in variable.dienste:
            continue
        if variable.geheim:
            secrets.append(name)
        else:
            env[name] = variable_value(matrix, stage, name)
    return env, tuple(secrets)


def service_plan(matrix: Matrix, stage: Stage, view: ServiceView) -> ServicePlan:
    env, secrets = service_env(matrix, stage, view.art)
    return ServicePlan(view.name, view.art, render_command(matrix, view), env, secrets,
                       view.queues, view.port, view.health_pfad)


def _separation_workers(matrix: Matrix, all_queues: tuple[str, ...], first_db: int) -> list[WorkerPlan]:
    """One worker per distinct queue split of the cloud stages (e.g. ingestion only)."""
    out: list[WorkerPlan] = []
    seen: set[tuple[str, ...]] = set()
    for stage in matrix.stages:
        if stage.laufzeit == "compose":
            continue
        for view in services(matrix, stage):
            if view.art != "worker" or set(view.queues) == set(all_queues) or view.queues in seen:
                continue
            seen.add(view.queues)
            env, _secrets = service_env(matrix, stage, view.art)
            foreign = tuple(q for q in all_queues if q not in view.queues)
            out.append(WorkerPlan(f"trennung-{'-'.join(view.queues)}", stage.id, view.name, view.queues,
                                  foreign, first_db + len(out), render_command(matrix, view), env))
    return out


def build_plan(matrix: Matrix, schema: Path | None = None) -> StackPlan:
    stage = local_stage(matrix)
    views = [v for v in services(matrix, stage) if v.art in APP_KINDS and not v.optional]
    all_queues = tuple(q.name for q in matrix.plattform.queues.values())
    by_art = {art: [v for v in views if v.art == art] for art in APP_KINDS}
    for art in ("web", "migration"):
        if len(by_art[art]) > 1:
            raise PlanProblem(f"Stage {stage.id}: mehr als ein Dienst der Art {art}")
    stage_workers = []
    for view in by_art["worker"]:
        env, _secrets = service_env(matrix, stage, "worker")
        stage_workers.append(WorkerPlan(view.name, stage.id, view.name, view.queues,
                                        tuple(q for q in all_queues if q not in view.queues), 0,
                                        render_command(matrix, view), env))
    web = service_plan(matrix, stage, by_art["web"][0]) if by_art["web"] else None
    migration = service_plan(matrix, stage, by_art["migration"][0]) if by_art["migration"] else None
    migrations_env = matrix.dienstarten["web"].migrations_env
    auto = any(plan is not None and plan.env.get(migrations_env or "") == "true" for plan in (web, migration))
    return StackPlan(
        stage=stage,
        database=matrix.plattform.postgres.datenbank,
        user=matrix.plattform.postgres.benutzer,
        database_url_env=matrix.plattform.postgres.url_env,
        redis_url_env=matrix.plattform.redis.url_env,
        schema_file=schema or ROOT / schema_file(matrix),
        db_schema=matrix.plattform.rag.db_schema,
        migration=migration,
        web=web,
        workers=tuple(stage_workers + _separation_workers(matrix, all_queues, first_db=1)),
        all_queues=all_queues,
        auto_migrate=auto,
        migrations_env=migrations_env,
    )
