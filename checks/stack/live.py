"""The live checks. Each talks only to StackEndpoints and reports in German.

Order matters: the empty-start check runs first, before any probe touches
the stack.
"""

from __future__ import annotations

import math
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from umgebungsmatrix.matrix.model import Matrix

from . import catalog, clients
from .appcmd import APP_DIR, PROBE_TASK, app_env
from .plan import StackPlan
from .provider import StackEndpoints
from .result import CheckResult

# pgvector's operator per distance (its operator classes are in checks.schema_sql.OPCLASS).
OPERATOR = {"cosine": "<=>", "l2": "<->", "inner_product": "<#>"}
PROBE_TIMEOUT = 10.0
FOREIGN_GRACE = 0.3  # seconds a foreign message must stay untouched after a round trip


@dataclass
class Ctx:
    matrix: Matrix
    plan: StackPlan
    ep: StackEndpoints

    def connect(self, url: str | None = None, **kw) -> psycopg.Connection:
        return psycopg.connect(url or self.ep.database_url, connect_timeout=5, **kw)

    @property
    def rag(self):
        return self.matrix.plattform.rag


def one(conn: psycopg.Connection, query: Any, params: Any = None) -> Any:
    """The single row a query must return (a missing row is a broken reality, not None)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"Abfrage ohne Ergebnis: {query}")
    return row


CheckFn = Callable[[Ctx, CheckResult], None]
CHECKS: list[tuple[str, str, CheckFn]] = []


def live_check(check_id: str, title: str) -> Callable[[CheckFn], CheckFn]:
    def wrap(fn: CheckFn) -> CheckFn:
        CHECKS.append((check_id, title, fn))
        return fn

    return wrap


# -- empty start ---------------------------------------------------------------
@live_check("leerer-start", "Leerer Start: keine Zeilen, keine Nachrichten, kein Import")
def empty_start(ctx: Ctx, res: CheckResult) -> None:
    if not ctx.ep.fresh:
        res.skip("der Stack wurde nicht von dieser Prüfung frisch gestartet")
        return
    if not ctx.plan.stage.empty_start:
        res.skip(f"Stage {ctx.plan.stage.id} startet laut Matrix nicht leer")
        return
    with ctx.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
                (ctx.rag.db_schema,),
            )
        ]
        res.expect(
            bool(tables),
            f"{len(tables)} Tabellen in Schema {ctx.rag.db_schema}",
            f"Schema {ctx.rag.db_schema} hat keine Tabellen (Migration fehlt?)",
        )
        # row_security=off errors instead of silently hiding rows behind a policy
        conn.execute("SET row_security = off")
        for table in tables:
            count = one(
                conn,
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(ctx.rag.db_schema), sql.Identifier(table)),
            )[0]
            res.expect(
                count == 0,
                f"{ctx.rag.db_schema}.{table}: 0 Zeilen",
                f"{ctx.rag.db_schema}.{table}: {count} Zeile(n) direkt nach dem Start",
            )
    for broker in sorted({w.broker_url for w in ctx.ep.workers} | {ctx.ep.redis_url}):
        r = clients.redis_client(broker)
        for queue in ctx.plan.all_queues:
            length = r.llen(queue)
            res.expect(
                length == 0,
                f"Queue {queue} ({_db(broker)}): Länge 0",
                f"Queue {queue} ({_db(broker)}): {length} Nachricht(en) direkt nach dem Start",
            )
        results = sum(1 for _ in r.scan_iter(clients.RESULT_KEY.format("*"), count=1000))
        res.expect(
            results == 0,
            f"keine Task-Ergebnisse in {_db(broker)}",
            f"{results} Task-Ergebnis(se) in {_db(broker)}: es lief schon eine Aufgabe",
        )
    for worker in ctx.ep.workers:
        stats = clients.celery_app(worker.broker_url).control.inspect(destination=[worker.node], timeout=1.0).stats()
        total = (stats or {}).get(worker.node, {}).get("total")
        if total is None:
            res.bad(f"{worker.node}: keine Statistik erhalten")
        else:
            res.expect(
                not total,
                f"{worker.node}: noch keine Aufgabe ausgeführt (kein Initial-Import)",
                f"{worker.node}: hat schon Aufgaben ausgeführt: {dict(total)}",
            )


def _db(url: str) -> str:
    return f"Redis-DB {url.rsplit('/', 1)[-1]}"


# -- services and versions -----------------------------------------------------
@live_check("dienste", "Dienste, Namen und Versionen wie in der Matrix")
def services(ctx: Ctx, res: CheckResult) -> None:
    pg = ctx.matrix.plattform.postgres
    with ctx.connect() as conn:
        db, user, version = one(
            conn, "SELECT current_database(), current_user, current_setting('server_version_num')::int"
        )
    res.expect(db == pg.datenbank, f"Datenbank {db}", f"Datenbank heißt {db}, Matrix: {pg.datenbank}")
    res.expect(user == pg.benutzer, f"Benutzer {user}", f"Benutzer ist {user}, Matrix: {pg.benutzer}")
    res.expect(
        version // 10000 == pg.version,
        f"Postgres {version // 10000} (Matrix: {pg.version})",
        f"Postgres {version // 10000} läuft, die Matrix sagt {pg.version}",
    )
    redis_version = clients.redis_client(ctx.ep.redis_url).info("server")["redis_version"]
    major = int(str(redis_version).split(".")[0])
    want = ctx.matrix.plattform.redis.version
    res.expect(
        major == want, f"Redis {redis_version} (Matrix: {want})", f"Redis {redis_version} läuft, die Matrix sagt {want}"
    )
    if ctx.ep.web_url and ctx.ep.health_path:
        status = clients.http_status(ctx.ep.web_url + ctx.ep.health_path)
        res.expect(status == 200, f"Web: GET {ctx.ep.health_path} → 200", f"Web: GET {ctx.ep.health_path} → {status}")


# -- migration -----------------------------------------------------------------
@live_check("migration", "Automatische Migration wendet rag/schema.sql an wie der Compose-Stack")
def migration(ctx: Ctx, res: CheckResult) -> None:
    from checks.schema_sql import display_path, schema_file

    if not ctx.ep.local:
        res.skip("nur lokal: außerhalb von Dev lokal wird nie migriert")
        return
    declared = schema_file(ctx.matrix)
    env_name = ctx.plan.migrations_env
    if not ctx.plan.auto_migrate:
        with ctx.connect() as conn:
            exists = one(conn, "SELECT to_regnamespace(%s) IS NOT NULL", (ctx.rag.db_schema,))[0]
        res.expect(
            not exists,
            f"Matrix: keine automatische Migration; Schema {ctx.rag.db_schema} fehlt wie erwartet",
            f"Matrix: keine automatische Migration, aber Schema {ctx.rag.db_schema} existiert",
        )
        return
    who = "Migrations-Job" if ctx.plan.migration else f"Web mit {env_name}=true"
    res.expect(
        "angewendet" in ctx.ep.migration_log,
        f"{who} hat beim Start migriert: {_first_line(ctx.ep.migration_log, 'angewendet')}",
        f"{who} hat beim Start nichts angewendet (Log: {ctx.ep.migration_log or 'leer'})",
    )
    with ctx.connect() as conn:
        live = catalog.fingerprint(conn, ctx.rag.db_schema)
    reference, again = _reference_fingerprints(ctx, declared)
    shown = display_path(declared)
    only_live, only_ref = sorted(live - reference), sorted(reference - live)
    if not only_live and not only_ref:
        res.good(
            f"Katalog nach Auto-Migration = Katalog nach `psql --single-transaction -f {shown}` ({len(live)} Objekte)"
        )
    for line in only_live[:6]:
        res.bad(f"nur nach Auto-Migration: {line}")
    for line in only_ref[:6]:
        res.bad(f"nur nach {shown}: {line}")
    if len(only_live) + len(only_ref) > 12:
        res.bad(f"… {len(only_live) + len(only_ref) - 12} weitere Unterschiede")
    res.expect(
        again == reference,
        "erneutes Anwenden (Neustart) ändert nichts",
        f"erneutes Anwenden ändert den Katalog: {sorted(again ^ reference)[:3]}",
    )


def _first_line(text: str, needle: str) -> str:
    return next((line.strip() for line in text.splitlines() if needle in line), "")


def _reference_fingerprints(ctx: Ctx, schema_path) -> tuple[set[str], set[str]]:
    """Apply the declared file to a scratch database (twice) like the header says."""
    if not ctx.ep.admin_database_url or not ctx.ep.psql:
        raise RuntimeError("Provider liefert keine Admin-Verbindung und kein psql für die Referenz")
    name = f"umx_referenz_{secrets.token_hex(4)}"
    with psycopg.connect(ctx.ep.admin_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    url = ctx.ep.admin_database_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        prints = []
        for _ in range(2):
            done = subprocess.run(
                [
                    str(ctx.ep.psql),
                    "-X",
                    "-q",
                    "--single-transaction",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    url,
                    "-f",
                    str(schema_path),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                raise RuntimeError(f"psql -f {schema_path} scheiterte: {done.stderr.strip()}")
            with psycopg.connect(url) as conn:
                prints.append(catalog.fingerprint(conn, ctx.rag.db_schema))
        return prints[0], prints[1]
    finally:
        with psycopg.connect(ctx.ep.admin_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# -- declared vs. live schema --------------------------------------------------
@live_check("schema", "Deklariertes Schema (sqlglot) = Live-Katalog")
def declared_vs_live(ctx: Ctx, res: CheckResult) -> None:
    from checks.schema_sql import load_schema, schema_file

    declared = load_schema(schema_file(ctx.matrix))
    schema = ctx.rag.db_schema
    with ctx.connect() as conn:
        live = catalog.read_tables(conn, schema)
        extensions: dict[str, str] = dict(conn.execute("SELECT extname, extversion FROM pg_extension").fetchall())
    for ext in declared.extensions:
        res.expect(
            ext.name in extensions,
            f"Extension {ext.name} {extensions.get(ext.name, '')} vorhanden",
            f"Extension {ext.name} fehlt live",
        )
    tables = {t.name.name: t for t in declared.tables if (t.name.schema or "public") == schema}
    for name in sorted(set(live) - set(tables)):
        res.bad(f"Tabelle {schema}.{name} gibt es live, aber nicht in {declared.path}")
    for name, table in tables.items():
        if name not in live:
            res.bad(f"Tabelle {schema}.{name} aus {declared.path}:{table.line} fehlt live")
            continue
        _compare_table(res, f"{schema}.{name}", table, live[name], ctx.rag.embedding_dimension)


def _compare_table(res: CheckResult, shown: str, table, live, dimension: int) -> None:
    declared_cols = {c.name: c for c in table.columns}
    problems = []
    for col in table.columns:
        got = live.columns.get(col.name)
        if got is None:
            problems.append(f"Spalte {col.name} ({col.type}) fehlt live")
        elif got[0] != col.type:
            problems.append(f"Spalte {col.name}: deklariert {col.type}, live {got[0]}")
        elif got[1] != col.not_null:
            problems.append(f"Spalte {col.name}: NOT NULL deklariert {col.not_null}, live {got[1]}")
    problems += [
        f"Spalte {name} ({t}) gibt es nur live" for name, (t, _n) in live.columns.items() if name not in declared_cols
    ]
    for problem in problems:
        res.bad(f"{shown}: {problem}")
    if not problems:
        vectors = [f"{c.name} {c.type}" for c in table.columns if c.is_vector]
        res.good(
            f"{shown}: {len(table.columns)} Spalten mit gleichen Typen"
            + (f" ({', '.join(vectors)})" if vectors else "")
        )
    for col in table.columns:
        if col.is_vector:
            res.expect(
                col.dimension == dimension,
                f"{shown}.{col.name}: Dimension {col.dimension} = Matrix",
                f"{shown}.{col.name}: Dimension {col.dimension}, Matrix: {dimension}",
            )
    _compare_indexes(res, shown, table, live)
    rls = (table.rls_enabled, table.rls_forced)
    res.expect(
        rls == (live.rls_enabled, live.rls_forced),
        f"{shown}: RLS {_rls_text(*rls)}",
        f"{shown}: RLS deklariert {_rls_text(*rls)}, live {_rls_text(live.rls_enabled, live.rls_forced)}",
    )
    policies = {p.name for p in table.policies}
    if policies or live.policies:
        res.expect(
            policies == live.policies,
            f"{shown}: Policies {', '.join(sorted(policies))}",
            f"{shown}: Policies deklariert {sorted(policies)}, live {sorted(live.policies)}",
        )


def _compare_indexes(res: CheckResult, shown: str, table, live) -> None:
    declared = {i.name: i for i in table.indexes}
    for name, index in declared.items():
        got = live.indexes.get(name)
        if got is None:
            res.bad(f"{shown}: Index {name} fehlt live")
            continue
        want_ops = [c.opclass for c in index.columns]
        ops_ok = len(want_ops) == len(got.opclasses) and all(
            want == have if want else default
            for want, have, default in zip(want_ops, got.opclasses, got.default_opclass)
        )
        ok = index.method == got.method and ops_ok
        res.expect(
            ok,
            f"{shown}: Index {name} {got.method} ({', '.join(got.opclasses)})",
            f"{shown}: Index {name} deklariert {index.method} ({', '.join(o or 'Standard' for o in want_ops)}), "
            f"live {got.method} ({', '.join(got.opclasses)})",
        )
    for name, got in live.indexes.items():
        if name not in declared and not got.backs_constraint:
            res.bad(f"{shown}: Index {name} ({got.method}) gibt es nur live")


def _rls_text(enabled: bool, forced: bool) -> str:
    return ("aktiv" if enabled else "aus") + (", erzwungen" if forced else "")


# -- pgvector --------------------------------------------------------------------
@live_check("pgvector", "pgvector: Extension und Nächste-Nachbarn-Suche")
def pgvector(ctx: Ctx, res: CheckResult) -> None:
    from checks.schema_sql import OPCLASS

    rag = ctx.rag
    with ctx.connect() as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (rag.extension,)).fetchone()
        if not res.expect(
            row is not None,
            f"Extension {rag.extension} {row[0] if row else ''} installiert",
            f"Extension {rag.extension} ist nicht installiert",
        ):
            return
        assert row is not None  # res.expect returned above otherwise
        version, wanted = row[0], rag.pgvector_version
        res.expect(
            version == wanted or version.startswith(wanted + "."),
            f"{rag.extension} {version} (Matrix: {wanted})",
            f"{rag.extension} {version} läuft, die Matrix sagt {wanted} (plattform.rag.pgvector_version)",
        )
        operator = OPERATOR[rag.distanz]
        vectors, query = _probe_vectors(rag.embedding_dimension)
        want = _expected_order(vectors, query, rag.distanz)
        contrast = _expected_order(vectors, query, "l2" if rag.distanz != "l2" else "cosine")
        try:
            with conn.transaction(force_rollback=True):
                conn.execute(
                    sql.SQL("CREATE TEMP TABLE umx_nn (id int PRIMARY KEY, embedding {}({}))").format(
                        sql.Identifier(rag.extension if rag.extension == "vector" else "vector"),
                        sql.Literal(rag.embedding_dimension),
                    )
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO umx_nn VALUES (%s, %s::vector)", [(i, _literal(v)) for i, v in vectors.items()]
                    )
                conn.execute("SET LOCAL enable_seqscan = off")
                for method in rag.index_methoden:
                    got, used = _nearest(conn, method, OPCLASS[rag.distanz], operator, query)
                    res.expect(
                        got == want and used,
                        f"{method}/{OPCLASS[rag.distanz]}: `ORDER BY embedding {operator} q` liefert "
                        f"{got} wie erwartet (Index benutzt)",
                        f"{method}: `ORDER BY embedding {operator} q` liefert {got}, erwartet {want}"
                        + ("" if used else " (Index nicht benutzt)"),
                    )
            res.expect(
                want != contrast,
                f"Reihenfolge unterscheidet {rag.distanz} von anderen Distanzen",
                "Testvektoren unterscheiden die Distanzen nicht",
            )
        except psycopg.Error as exc:
            res.bad(f"Nächste-Nachbarn-Suche scheiterte: {str(exc).strip()}")
        gone = one(conn, "SELECT to_regclass('pg_temp.umx_nn') IS NULL")[0]
        res.expect(
            gone,
            f"{len(vectors)} Testvektoren per Rollback verworfen, nichts bleibt",
            "Testtabelle ist nach dem Rollback noch da",
        )


def _nearest(conn, method: str, opclass: str, operator: str, query: list[float]) -> tuple[list[int], bool]:
    index = f"umx_nn_{method}"
    options = sql.SQL(" WITH (lists = 1)") if method == "ivfflat" else sql.SQL("")
    conn.execute(
        sql.SQL("CREATE INDEX {} ON umx_nn USING {} (embedding {}){}").format(
            sql.Identifier(index), sql.Identifier(method), sql.Identifier(opclass), options
        )
    )
    statement = sql.SQL("SELECT id FROM umx_nn ORDER BY embedding {} %s::vector LIMIT 10").format(sql.SQL(operator))
    plan = "\n".join(r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + statement, (_literal(query),)))
    got = [r[0] for r in conn.execute(statement, (_literal(query),))]
    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
    return got, index in plan


def _probe_vectors(dimension: int) -> tuple[dict[int, list[float]], list[float]]:
    """Vectors in the plane of the first two axes: angle decides cosine, length decides L2."""
    specs = {1: (0.1, 9.0), 2: (0.6, 0.4), 3: (1.1, 3.0), 4: (1.5, 0.2), 5: (2.5, 1.0)}  # id: (angle, length)

    def vec(angle: float, length: float) -> list[float]:
        return [length * math.cos(angle), length * math.sin(angle)] + [0.0] * (dimension - 2)

    return {i: vec(a, r) for i, (a, r) in specs.items()}, vec(0.0, 1.0)


def _expected_order(vectors: dict[int, list[float]], query: list[float], distance: str) -> list[int]:
    def dist(v: list[float]) -> float:
        dot = sum(a * b for a, b in zip(v, query))
        if distance == "cosine":
            return 1 - dot / (math.sqrt(sum(a * a for a in v)) * math.sqrt(sum(b * b for b in query)))
        if distance == "inner_product":
            return -dot
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(v, query)))

    return sorted(vectors, key=lambda i: dist(vectors[i]))


def _literal(v: list[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in v) + "]"


# -- queues ----------------------------------------------------------------------
@live_check("queues", "Queues: Worker konsumieren genau die Queues der Matrix")
def queues(ctx: Ctx, res: CheckResult) -> None:
    if not ctx.ep.workers:
        res.skip("keine Worker bekannt")
        return
    local = [w for w in ctx.ep.workers if w.stage == ctx.plan.stage.id]
    consumed = {q for w in local for q in w.queues}
    missing = [q for q in ctx.plan.all_queues if q not in consumed]
    res.expect(
        not missing,
        f"Stage {ctx.plan.stage.id}: jede Queue hat einen Worker ({', '.join(sorted(consumed))})",
        f"Stage {ctx.plan.stage.id}: Queue(s) {', '.join(missing)} ohne Worker",
    )
    pending = []
    for worker in ctx.ep.workers:
        app = clients.celery_app(worker.broker_url)
        active = (app.control.inspect(destination=[worker.node], timeout=1.0).active_queues() or {}).get(worker.node)
        names = sorted(q["name"] for q in active or [])
        label = f"{worker.service} ({worker.stage})"
        res.expect(
            names == sorted(worker.queues),
            f"{label}: konsumiert genau {', '.join(names)}",
            f"{label}: konsumiert {', '.join(names) or 'nichts'}, Matrix: {', '.join(worker.queues)}",
        )
        foreign = {q: app.send_task(PROBE_TASK, args=[f"fremd-{q}"], queue=q).id for q in worker.foreign_queues}
        own = {q: app.send_task(PROBE_TASK, args=[f"probe-{q}"], queue=q).id for q in worker.queues}
        pending.append((worker, label, own, foreign))
    last_sent = time.monotonic()
    for worker, label, own, _foreign in pending:
        for queue, task_id in own.items():
            doc = clients.wait_result(worker.broker_url, task_id, PROBE_TIMEOUT)
            if doc is None:
                res.bad(f"{label}: Probe über {queue} kam nicht zurück (nach {PROBE_TIMEOUT:g} s)")
                continue
            answer = doc.get("result") or {}
            res.expect(
                doc.get("status") == "SUCCESS" and answer.get("queue") == queue and answer.get("worker") == worker.node,
                f"{label}: Probe über {queue} hin und zurück",
                f"{label}: Probe über {queue} kam zurück als {doc.get('status')} {answer}",
            )
    # a consuming worker would have taken a foreign message long before its own probe returned;
    # the grace period covers the rest (once for all workers)
    time.sleep(max(0.0, FOREIGN_GRACE - (time.monotonic() - last_sent)))
    for worker, label, _own, foreign in pending:
        r = clients.redis_client(worker.broker_url)
        for queue, task_id in foreign.items():
            left = r.llen(queue)
            ran = r.exists(clients.RESULT_KEY.format(task_id))
            res.expect(
                left == 1 and not ran,
                f"{label}: Nachricht auf {queue} bleibt in Redis liegen (LLEN {left}), nie genommen",
                f"{label}: Nachricht auf {queue} wurde genommen (LLEN {left}, Ergebnis {'da' if ran else 'fehlt'})",
            )
            r.delete(queue)
    if any(w.stage == ctx.plan.stage.id for w in ctx.ep.workers):
        task_without_queue(ctx, res)


# The platform's own Celery app sends the probe without naming a queue, as beat does:
# its configuration (not ours) decides where the task lands.
_SEND_WITHOUT_QUEUE = (
    "import sys; from plattform.worker import app; print(app.send_task(sys.argv[1], args=['ohne-queue']).id)"
)


def task_without_queue(ctx: Ctx, res: CheckResult, app_dir: Path = APP_DIR) -> None:
    """A task sent by the platform app without a queue is consumed by a worker of the stage."""
    env = app_env({ctx.plan.redis_url_env: ctx.ep.redis_url}) | {"PYTHONPATH": str(app_dir)}
    done = subprocess.run(
        [sys.executable, "-c", _SEND_WITHOUT_QUEUE, PROBE_TASK], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        res.bad(f"die App konnte keine Aufgabe senden: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        return
    task_id = done.stdout.strip().splitlines()[-1]
    doc = clients.wait_result(ctx.ep.redis_url, task_id, PROBE_TIMEOUT)
    if doc is not None and doc.get("status") == "SUCCESS":
        queue = (doc.get("result") or {}).get("queue")
        res.good(f"Aufgabe ohne Queue (wie von Beat) landet in {queue} und wird konsumiert")
        return
    r = clients.redis_client(ctx.ep.redis_url)
    stuck = [key.decode() for key in r.keys("*") if r.type(key) == b"list" and r.llen(key)]
    res.bad(
        f"Aufgabe ohne Queue wurde nach {PROBE_TIMEOUT:g} s von keinem Worker konsumiert; sie liegt in "
        f"{', '.join(stuck) or 'keiner Liste'} (Standard-Queue der App ist keine Queue der Matrix)"
    )
    for key in stuck:
        r.delete(key)


def run_all(matrix: Matrix, plan: StackPlan, ep: StackEndpoints, only: list[str] | None = None) -> list[CheckResult]:
    ctx = Ctx(matrix, plan, ep)
    results = []
    for check_id, title, fn in CHECKS:
        if only and check_id not in only:
            continue
        res = CheckResult(check_id, title)
        started = time.perf_counter()
        try:
            fn(ctx, res)
        except (psycopg.Error, OSError, RuntimeError, subprocess.SubprocessError) as exc:
            res.bad(f"Prüfung abgebrochen: {type(exc).__name__}: {str(exc).strip()}")
        res.seconds = time.perf_counter() - started
        results.append(res)
    return results
