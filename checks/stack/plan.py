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

from umgebungsmatrix.artifacts.app_facts import schema_file
from umgebungsmatrix.facts import ComposeStage, Facts, Service
from umgebungsmatrix.paths import ROOT


@dataclass(frozen=True)
class ServicePlan:
    name: str  # service name in the stage (web, worker, ...)
    art: str  # its kind
    command: tuple[str, ...]  # rendered dienstarten.<art>.befehl
    env: dict[str, str]  # non-secret values of the variables it reads
    secret_env: tuple[str, ...]  # names of secret variables it reads (values from the provider)
    queues: tuple[str, ...] = ()
    port: int | None = None
    health_path: str | None = None


@dataclass(frozen=True)
class WorkerPlan:
    """A Celery worker to start: a stage's worker or a separation probe."""

    node: str  # Celery node name prefix (unique in the run)
    stage: str  # stage whose declaration it reproduces
    service: str  # service name in that stage
    queues: tuple[str, ...]  # queues it must consume, exactly
    foreign_queues: tuple[str, ...]  # queues it must never take
    redis_db: int  # separation workers get their own Redis database
    command: tuple[str, ...]
    env: dict[str, str]


@dataclass(frozen=True)
class StackPlan:
    stage: ComposeStage
    database: str
    user: str
    database_url_env: str
    redis_url_env: str
    schema_file: Path
    db_schema: str
    migration: ServicePlan | None  # a service of kind migration, run to completion first
    web: ServicePlan | None
    workers: tuple[WorkerPlan, ...]
    all_queues: tuple[str, ...]
    auto_migrate: bool  # the matrix says the local stage migrates on start
    migrations_env: str | None  # env name that switches the migration on start
    facts: Facts  # everything else a provider needs (the docker provider renders from it)
    notes: tuple[str, ...] = field(default=())


def service_plan(service: Service) -> ServicePlan:
    """A service's command, non-secret env and secret names, as the facts resolved them."""
    env = {e.name: e.value or "" for e in service.env if not e.secret}
    return ServicePlan(
        service.name,
        service.kind,
        service.command,
        env,
        service.secret_names,
        service.queues,
        service.port,
        service.health_path,
    )


def _worker(service: Service, stage_id: str, all_queues: tuple[str, ...], redis_db: int, node: str) -> WorkerPlan:
    plan = service_plan(service)
    return WorkerPlan(
        node,
        stage_id,
        service.name,
        service.queues,
        tuple(q for q in all_queues if q not in service.queues),
        redis_db,
        plan.command,
        plan.env,
    )


def _separation_workers(facts: Facts, all_queues: tuple[str, ...], first_db: int) -> list[WorkerPlan]:
    """One worker per distinct queue split of the cloud stages (e.g. ingestion only)."""
    out: list[WorkerPlan] = []
    seen: set[tuple[str, ...]] = set()
    for stage in facts.cloud_stages:
        for service in stage.services:
            if service.role != "worker" or set(service.queues) == set(all_queues) or service.queues in seen:
                continue
            seen.add(service.queues)
            out.append(
                _worker(service, stage.id, all_queues, first_db + len(out), f"trennung-{'-'.join(service.queues)}")
            )
    return out


def build_plan(facts: Facts, schema: Path | None = None) -> StackPlan:
    """What a stack check starts for the compose stage: web, workers, an optional migration job."""
    stage: ComposeStage = facts.compose_stage
    app = [s for s in stage.services if s.profile is None and not s.optional and s.artifact is not None]
    web = next((service_plan(s) for s in app if s.entry), None)
    migration = next((service_plan(s) for s in app if s.role == "job"), None)
    all_queues = facts.queue_names
    workers = [_worker(s, stage.id, all_queues, 0, s.name) for s in app if s.role == "worker"]
    _art, entry = facts.entry_kind
    migrations_env = entry.migrations_env
    auto = any(p is not None and p.env.get(migrations_env or "") == "true" for p in (web, migration))
    platform = facts.platform
    return StackPlan(
        stage=stage,
        database=platform.postgres.datenbank,
        user=platform.postgres.benutzer,
        database_url_env=platform.postgres.url_env,
        redis_url_env=platform.redis.url_env,
        schema_file=schema or ROOT / schema_file(facts),
        db_schema=platform.rag.db_schema,
        migration=migration,
        web=web,
        workers=tuple(workers + _separation_workers(facts, all_queues, first_db=1)),
        all_queues=all_queues,
        auto_migrate=auto,
        migrations_env=migrations_env,
        facts=facts,
    )
