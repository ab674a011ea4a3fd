"""The provider interface: how a stack comes up, and what checks may talk to.

Checks only see StackEndpoints (URLs, worker node names, capabilities); they
never know whether the stack runs embedded, in Docker or somewhere else.

    with providers.provider_for("embedded", plan, progress) as endpoints:
        results = run_checks(matrix, plan, endpoints)

A provider's `stop()` must leave nothing behind (processes, temp dirs,
containers) and must be safe to call twice and from a signal handler path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from umgebungsmatrix.errors import InputError

from .plan import StackPlan

Progress = Callable[[str], None]


class StackError(InputError):
    """The stack could not be started or reached; German message, exit 2 at the CLI."""


class Refused(StackError):
    """The provider refuses an action (e.g. migrating outside local); German message."""


@dataclass(frozen=True)
class WorkerEndpoint:
    node: str  # full Celery node name, e.g. worker@umx-1234
    stage: str  # stage whose declaration it reproduces
    service: str  # service name in that stage
    queues: tuple[str, ...]  # queues the matrix says it consumes
    foreign_queues: tuple[str, ...]  # queues it must never take
    broker_url: str  # its Redis database


@dataclass(frozen=True)
class StackEndpoints:
    provider: str
    stage: str
    database_url: str  # the app's database (DATABASE_URL)
    redis_url: str  # the app's broker (REDIS_URL)
    web_url: str | None  # base URL of the web service, if running
    health_path: str | None
    workers: tuple[WorkerEndpoint, ...]
    schema_file: Path | None  # schema file the stack migrated (None: not migrated here)
    local: bool  # checks may create scratch databases and send probes
    fresh: bool  # started empty by this run: the empty-start claim applies
    migration_log: str = ""  # what the migration printed (for the report)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per start phase
    psql: Path | None = None  # a psql binary matching the server, for reference applies
    admin_database_url: str | None = None  # maintenance DB on the same server (local only)


class Provider(ABC):
    """Starts (or reaches) a stack for a plan and tears it down again."""

    name: str = "?"

    def __init__(self, plan: StackPlan, progress: Progress):
        self.plan = plan
        self.progress = progress
        self.timings: dict[str, float] = {}  # seconds per start phase, for the report

    @abstractmethod
    def start(self) -> StackEndpoints:
        """Bring the stack up (or reach it); raise StackError with a German reason."""

    @abstractmethod
    def stop(self) -> None:
        """Tear down everything start() created; idempotent."""

    def __enter__(self) -> StackEndpoints:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc) -> None:
        self.stop()
