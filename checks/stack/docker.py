"""Docker provider: the generated compose/docker-compose.yml, really started.

The stack runs under a unique compose project with labels (see
dockerstack.stack); the checks reach it through the host ports the engine
chose for the compose file's published ports on 127.0.0.1, exactly like the
embedded provider's endpoints. The run's secrets carry URL delimiters
(dockerstack.run_override.HOSTILE_TAIL), percent-encoded in the URLs.
Offline (no registry, the default when a tiny pull fails) every image is
built locally first (dockerstack.images); online the compose file's
upstream images are used unchanged.

The cloud stages' queue splits are reproduced like in the embedded
provider: extra Celery workers, started with `docker exec` inside the
compose worker container (same image, same code), each on its own Redis
database.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

from dockerstack import engine, images
from dockerstack.engine import DockerFailed, DockerUnavailable
from dockerstack.images import BuildFailed
from dockerstack.run_override import HOSTILE_TAIL
from dockerstack.stack import ComposeRun, Container, StackFailed, sweep
from umgebungsmatrix.artifacts.offline_override import STANDIN_HEALTH_ENV

from ..compose.resolved import least_privilege_findings
from ..env_file import env_file_findings, parse_env
from . import clients
from .appcmd import SCHEMA_FILE_ENV
from .embedded import FAST_WORKER_FLAGS, pg_bin
from .plan import StackPlan, WorkerPlan
from .provider import Provider, StackEndpoints, StackError, WorkerEndpoint

WORKER_TIMEOUT = 90.0
OFFLINE_ENV = "STACK_OFFLINE"  # 1: always build local images, 0: use upstream images


class DockerProvider(Provider):
    name = "docker"

    def __init__(
        self, plan: StackPlan, progress, migrate: bool = False, schema=None, offline: bool | None = None, **_options
    ):
        super().__init__(plan, progress)
        self.schema = schema
        self.offline = offline
        self.run: ComposeRun | None = None
        self.timings: dict[str, float] = {}

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> StackEndpoints:
        try:
            return self._start()
        except (DockerUnavailable, DockerFailed, BuildFailed, StackFailed) as exc:
            raise StackError(f"✗ {exc}") from None

    def stop(self) -> None:
        if self.run is None:
            return
        started = time.perf_counter()
        clients.close_clients()
        try:
            self.run.down()
        finally:
            self.run = None
            self.timings["teardown"] = time.perf_counter() - started
            self.progress(f"✓ Docker-Stack abgebaut ({self.timings['teardown']:.1f} s)")

    def _start(self) -> StackEndpoints:
        facts = self.plan.facts
        self.progress(f"Docker-Engine {engine.engine_ok()}, Compose {engine.compose_cli()}")
        sweep(progress=self.progress)
        offline = self._offline_mode()
        tags: dict[str, str] = {}
        if offline:
            started = time.perf_counter()
            tags = images.ensure_all(facts)
            images.prune_stale(tags)
            self.timings["images"] = time.perf_counter() - started
        schema_services = tuple(
            s.name for s in facts.compose_stage.services if s.profile is None and (s.entry or s.role == "job")
        )
        self.run = ComposeRun(
            facts,
            offline=offline,
            images=tags,
            progress=self.progress,
            schema=self.schema.resolve() if self.schema else None,
            schema_env=SCHEMA_FILE_ENV,
            schema_services=schema_services,
        )
        self._check_resolved_config(self.run)
        started = time.perf_counter()
        self.run.up()
        self.timings["compose_up"] = time.perf_counter() - started
        self.progress(f"✓ Compose-Stack gesund ({self.timings['compose_up']:.1f} s)")
        return self._endpoints()

    def _offline_mode(self) -> bool:
        if self.offline is None and os.environ.get(OFFLINE_ENV, "") in ("0", "1"):
            self.offline = os.environ[OFFLINE_ENV] == "1"
        if self.offline is None:
            self.offline = not images.registry_reachable()
            why = "keine Registry erreichbar" if self.offline else "Registry erreichbar"
            self.progress(f"Images: {'offline (lokal gebaut)' if self.offline else 'online (Upstream)'} – {why}")
        return self.offline

    # -- endpoints -----------------------------------------------------------
    def _endpoints(self) -> StackEndpoints:
        run = self.run
        assert run is not None
        found = run.containers()
        self._check_container_secrets(found)
        self._check_env_file(run)
        secrets = _env_values(run.env_text)
        inner_db, inner_redis = secrets[self.plan.database_url_env], secrets[self.plan.redis_url_env]
        database_url = _to_host(inner_db, found)
        redis_url = _to_host(inner_redis, found)
        web_url, migration_log = None, ""
        if self.plan.web is not None and self.plan.web.name in found:
            web = found[self.plan.web.name]
            host, port = web.ports[self.plan.web.port]  # type: ignore[index]
            web_url = f"http://{host}:{port}"
            migration_log = run.logs(web, tail=200)
        workers = self._workers(found, inner_redis, redis_url)
        return StackEndpoints(
            provider=self.name,
            stage=self.plan.stage.id,
            database_url=database_url,
            redis_url=redis_url,
            web_url=web_url,
            health_path=self.plan.web.health_path if self.plan.web else None,
            workers=workers,
            schema_file=self.plan.schema_file,
            local=True,
            fresh=True,
            migration_log=migration_log,
            timings=self.timings,
            psql=pg_bin() / "psql",
            admin_database_url=database_url.rsplit("/", 1)[0] + "/postgres",
        )

    def _check_resolved_config(self, run: ComposeRun) -> None:
        """Least privilege as Compose resolves it: each service gets exactly its matrix variables."""
        problems = least_privilege_findings(
            self.plan.facts, run.config(), _env_values(run.env_text), allowed=(SCHEMA_FILE_ENV, STANDIN_HEALTH_ENV)
        )
        if problems:
            raise StackError("✗ Compose-Konfiguration: " + "; ".join(p.message for p in problems))
        self.progress(f"✓ {run.compose} config: jeder Dienst bekommt genau seine Variablen aus der Matrix")

    def _check_container_secrets(self, found: dict[str, Container]) -> None:
        """No running container holds a secret the matrix does not assign to its service."""
        stage = self.plan.facts.compose_stage
        secrets = set(self.plan.facts.secret_names())
        for service in stage.services:
            container = found.get(service.name)
            if container is None:
                continue
            extra = sorted((container.env_names & secrets) - set(service.secret_names))
            if extra:
                raise StackError(f"✗ Container {service.name} läuft mit fremden Geheimnissen: {', '.join(extra)}")
        self.progress(f"✓ {len(found)} Container laufen nur mit ihren eigenen Geheimnissen")

    def _check_env_file(self, run: ComposeRun) -> None:
        """The run's env file passes the .env check: its password (with URL delimiters) is percent-encoded
        in DATABASE_URL, which libpq reads as POSTGRES_PASSWORD; the healthy stack proves the app connects."""
        stage = self.plan.facts.compose_stage
        problems = env_file_findings(self.plan.facts, run.workdir / stage.env_file)
        if problems:
            raise StackError("✗ env-Datei des Laufs: " + "; ".join(p.message for p in problems))
        self.progress(
            f"✓ env-Datei des Laufs: Passwort mit {HOSTILE_TAIL} in {self.plan.database_url_env} prozentkodiert, "
            "libpq liest es wie POSTGRES_PASSWORD"
        )

    def _workers(self, found: dict[str, Container], inner_redis: str, redis_url: str) -> tuple[WorkerEndpoint, ...]:
        started = time.perf_counter()
        pending: list[tuple[WorkerPlan, str, str]] = []
        stage_workers = [w for w in self.plan.workers if w.stage == self.plan.stage.id]
        host = next((found[w.service] for w in stage_workers if w.service in found), None)
        for worker in self.plan.workers:
            if worker.stage == self.plan.stage.id:
                if worker.service not in found:
                    raise StackError(f"Worker-Dienst „{worker.service}“ fehlt im Compose-Stack")
                node = f"celery@{found[worker.service].hostname}"
                pending.append((worker, node, _with_db(redis_url, _db_of(inner_redis))))
                continue
            if host is None:
                raise StackError("kein Worker-Container, in dem die Trennungs-Worker laufen könnten")
            node = f"{worker.node}@umx{self.run.run_id}"  # type: ignore[union-attr]
            env = {**worker.env, self.plan.redis_url_env: _with_db(inner_redis, worker.redis_db)}
            self.run.exec_detached(host, [*worker.command, "-n", node, *FAST_WORKER_FLAGS], env)  # type: ignore[union-attr]
            pending.append((worker, node, _with_db(redis_url, worker.redis_db)))
        out = []
        for worker, node, broker in pending:
            self._wait_worker(worker, node, broker)
            self.progress(f"✓ Worker {node} bereit (Queues {','.join(worker.queues)})")
            out.append(WorkerEndpoint(node, worker.stage, worker.service, worker.queues, worker.foreign_queues, broker))
        self.timings["worker"] = time.perf_counter() - started
        return tuple(out)

    def _wait_worker(self, worker: WorkerPlan, node: str, broker: str) -> None:
        """Ping until the node answers; fail fast when its container is gone."""
        run = self.run
        assert run is not None
        service = next(w.service for w in self.plan.workers if w.stage == self.plan.stage.id)
        deadline = time.monotonic() + WORKER_TIMEOUT
        while not clients.ping(broker, node):
            container = run.containers().get(service)
            if container is None or container.state != "running":
                logs = run.logs(container, 20) if container else ""
                raise StackError(
                    f"Worker-Container „{service}“ läuft nicht mehr ({container.state if container else 'fehlt'}),"
                    f" {node} kann nicht starten:\n{logs}"
                )
            if time.monotonic() > deadline:
                logs = run.logs(container, 20)
                raise StackError(
                    f"Worker {node} meldet sich nach {WORKER_TIMEOUT:.0f} s nicht. "
                    f"Letzte Logzeilen von „{service}“:\n{logs}"
                )


def _env_values(text: str) -> dict[str, str]:
    return {name: value for name, (_line, value) in parse_env(text).items()}


def _to_host(url: str, found: dict[str, Container]) -> str:
    """postgresql://u:p@postgres:5432/db -> the same URL via the published port on the host."""
    parts = urlsplit(url)
    service, port = parts.hostname, parts.port
    container = found.get(service or "")
    if container is None or port not in container.ports:
        raise StackError(f"Dienst „{service}“ veröffentlicht Port {port} nicht: die Prüfung erreicht ihn nicht")
    host, published = container.ports[port]
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{auth}{host}:{published}", parts.path, parts.query, parts.fragment))


def _db_of(redis_url: str) -> int:
    path = urlsplit(redis_url).path.strip("/")
    return int(path) if path.isdigit() else 0


def _with_db(redis_url: str, db: int) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
