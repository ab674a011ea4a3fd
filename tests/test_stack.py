"""Live stack checks (`make check-stack`): they pass on the real Dev stack and
FAIL on a broken reality; nothing is left running after a run, even an
interrupted one."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from conftest import ROOT

from checks.servers.procs import RUN_MARKER
from checks.stack import clients, live
from checks.stack.appcmd import PROBE_TASK
from checks.stack.embedded import EmbeddedProvider
from checks.stack.external import ExternalProvider
from checks.stack.live import _db
from checks.stack.plan import build_plan
from checks.stack.provider import Refused, StackError
from checks.stack.result import FAILED, OK, SKIPPED

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists(),
        reason="redis-server fehlt: sudo apt-get install -y redis-server (make check-stack installiert es als root)",
    ),
]


def quiet(_message: str) -> None:
    pass


def run_checks(matrix, plan, ep, *only: str):
    return {r.id: r for r in live.run_all(matrix, plan, ep, only=list(only) or None)}


def texts(result) -> str:
    return "\n".join(("✓ " if line.ok else "✗ ") + line.text for line in result.lines)


def leftovers(workdir: str) -> list[str]:
    """Processes that still carry the run's marker, i.e. children of that run."""
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if proc.environ().get(RUN_MARKER) == workdir:
                found.append(f"{proc.info['pid']} {proc.info['name']}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "umgebungsmatrix", "check-stack", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


@pytest.fixture(scope="module")
def plan(live):
    return build_plan(live)


@pytest.fixture(scope="module")
def shared_stack(plan):
    """One clean stack for read-only tests (external provider, parallel runs)."""
    provider = EmbeddedProvider(plan, quiet)
    with provider as ep:
        yield ep
    assert not provider.sup


@pytest.fixture()
def stack(plan):
    """A fresh stack per test: the test may break it."""
    with EmbeddedProvider(plan, quiet) as ep:
        yield ep


# -- the plan is the matrix ------------------------------------------------------
def test_plan_derives_names_and_queues_from_matrix(live, plan):
    dev = live.compose_stage
    assert plan.stage.id == dev.id and plan.database == live.platform.postgres.datenbank
    assert plan.user == live.platform.postgres.benutzer
    workers = [w for w in plan.workers if w.stage == dev.id]
    assert [w.queues for w in workers] == [s.queues for s in dev.services if s.role == "worker"]
    assert all(",".join(w.queues) in w.command for w in plan.workers)
    splits = {s.queues for c in live.cloud_stages for s in c.services if s.role == "worker"}
    separated = {w.queues for w in plan.workers if w.stage != dev.id}
    assert separated == {q for q in splits if set(q) != set(live.queue_names)}
    _art, entry = live.entry_kind
    assert plan.web.command == tuple(entry.befehl)
    assert plan.database_url_env in plan.web.secret_env and plan.redis_url_env in plan.web.secret_env


def test_app_declares_every_command_the_matrix_names(matrix):
    from checks.stack.appcmd import declared_scripts

    named = {k.befehl[0] for k in matrix.dienstarten.values() if k.befehl and k.befehl[0].startswith("plattform")}
    named.add(matrix.plattform.health_endpunkt.befehl[0])
    assert named <= set(declared_scripts())


def test_app_constants_match_checks():
    sys.path.insert(0, str(ROOT / "compose" / "app"))
    try:
        from plattform import settings, worker

        from checks.stack.appcmd import PROBE_TASK, SCHEMA_FILE_ENV

        assert settings.SCHEMA_FILE_ENV == SCHEMA_FILE_ENV
        assert worker.probe.name == PROBE_TASK
    finally:
        sys.path.remove(str(ROOT / "compose" / "app"))


# -- all green on the real stack, two runs at once ----------------------------------
def test_cli_passes_while_another_stack_runs(shared_stack, matrix, plan):
    done = cli("--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and {p["id"] for p in report["pruefungen"]} == {c[0] for c in live.CHECKS}
    assert all(p["status"] == OK for p in report["pruefungen"])
    assert "Postgres läuft" in done.stderr and "Prüfe" in done.stderr
    # the other run neither collided with nor disturbed the shared stack
    assert run_checks(matrix, plan, shared_stack, "dienste")["dienste"].status == OK


def test_text_report_is_german(shared_stack, matrix, plan):
    from checks.stack.result import text_report

    text = text_report(list(run_checks(matrix, plan, shared_stack, "schema", "pgvector").values()), "Kopf", {})
    assert "✓ Deklariertes Schema" in text and "Nächste-Nachbarn" in text and "bestanden" in text


# -- external provider ---------------------------------------------------------------
def test_external_is_read_only_and_skips_local_claims(shared_stack):
    env = {"DATABASE_URL": shared_stack.database_url, "REDIS_URL": shared_stack.redis_url}
    done = cli("--provider", "external", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = {p["id"]: p["status"] for p in json.loads(done.stdout)["pruefungen"]}
    assert status["migration"] == SKIPPED and status["leerer-start"] == SKIPPED
    assert status["schema"] == OK and status["pgvector"] == OK


def test_external_refuses_to_migrate(shared_stack, plan, monkeypatch):
    monkeypatch.setenv(plan.database_url_env, shared_stack.database_url)
    monkeypatch.setenv(plan.redis_url_env, shared_stack.redis_url)
    done = cli("--provider", "external", "--migrieren")
    assert done.returncode == 2
    assert "nur lesend" in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv(plan.migrations_env, "true")
    with pytest.raises(Refused, match=f"{plan.migrations_env}=true verlangt eine Migration"):
        ExternalProvider(plan, quiet).start()


def test_external_without_urls_is_a_clear_error(plan, monkeypatch):
    monkeypatch.delenv(plan.database_url_env, raising=False)
    with pytest.raises(StackError, match=f"Umgebungsvariable {plan.database_url_env} fehlt"):
        ExternalProvider(plan, quiet).start()


# -- each check fails on a broken reality ------------------------------------------------
def test_modified_schema_fails_migration_and_schema_checks(matrix, live, tmp_path):
    declared = (ROOT / "docs" / "rag" / "schema.sql").read_text(encoding="utf-8")
    dim = matrix.plattform.rag.embedding_dimension
    assert f"vector({dim})" in declared
    modified = tmp_path / "schema.sql"
    modified.write_text(
        declared.replace(f"vector({dim})", f"vector({dim // 2})").replace(
            "FORCE ROW LEVEL SECURITY", "NO FORCE ROW LEVEL SECURITY"
        ),
        encoding="utf-8",
    )
    plan = build_plan(live, schema=modified)
    with EmbeddedProvider(plan, quiet) as ep:
        results = run_checks(matrix, plan, ep, "migration", "schema")
    assert results["migration"].status == FAILED, texts(results["migration"])
    assert f"vector({dim // 2})" in texts(results["migration"])
    schema = texts(results["schema"])
    assert results["schema"].status == FAILED
    assert f"deklariert vector({dim}), live vector({dim // 2})" in schema
    assert "RLS deklariert aktiv, erzwungen, live aktiv" in schema


def test_row_or_message_at_start_fails_empty_start_and_missing_extension_fails_pgvector(stack, matrix, plan):
    schema = matrix.plattform.rag.db_schema
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        table = _insert_any_row(conn, schema)
    # an "import" ran on the dev worker, and a message waits for a worker that never takes it
    dev = next(w for w in stack.workers if w.stage == plan.stage.id)
    task = clients.celery_app(dev.broker_url).send_task(PROBE_TASK, queue=dev.queues[0]).id
    assert clients.wait_result(dev.broker_url, task, 10)
    split = next(w for w in stack.workers if w.foreign_queues)
    clients.celery_app(split.broker_url).send_task(PROBE_TASK, queue=split.foreign_queues[0])
    result = run_checks(matrix, plan, stack, "leerer-start")["leerer-start"]
    text = texts(result)
    assert result.status == FAILED
    assert f"{schema}.{table}: 1 Zeile(n) direkt nach dem Start" in text
    assert f"{dev.node}: hat schon Aufgaben ausgeführt" in text and "1 Task-Ergebnis(se) in Redis-DB 0" in text
    assert f"Queue {split.foreign_queues[0]} ({_db(split.broker_url)}): 1 Nachricht(en)" in text

    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f"DROP EXTENSION {matrix.plattform.rag.extension} CASCADE")
    results = run_checks(matrix, plan, stack, "pgvector", "schema")
    assert results["pgvector"].status == FAILED
    assert f"Extension {matrix.plattform.rag.extension} ist nicht installiert" in texts(results["pgvector"])
    assert results["schema"].status == FAILED and "fehlt live" in texts(results["schema"])


def test_pgvector_version_other_than_the_matrix_fails(shared_stack, matrix, plan):
    results = run_checks(matrix, plan, shared_stack, "pgvector")
    assert results["pgvector"].status == OK
    assert f"(Matrix: {matrix.plattform.rag.pgvector_version})" in texts(results["pgvector"])
    rag = matrix.plattform.rag.model_copy(update={"pgvector_version": "0.6"})
    other = matrix.model_copy(update={"plattform": matrix.plattform.model_copy(update={"rag": rag})})
    result = run_checks(other, plan, shared_stack, "pgvector")["pgvector"]
    assert result.status == FAILED and "die Matrix sagt 0.6 (plattform.rag.pgvector_version)" in texts(result)


def test_worker_on_wrong_queues_fails_queue_check(stack, matrix, plan, monkeypatch):
    monkeypatch.setattr(live, "PROBE_TIMEOUT", 1.5)
    dev = next(w for w in stack.workers if w.stage == plan.stage.id and len(w.queues) > 1)
    split = next(w for w in stack.workers if w.foreign_queues)
    app = clients.celery_app(dev.broker_url)
    app.control.cancel_consumer(dev.queues[-1], destination=[dev.node], reply=True, timeout=2)
    clients.celery_app(split.broker_url).control.add_consumer(
        split.foreign_queues[0], destination=[split.node], reply=True, timeout=2
    )
    result = run_checks(matrix, plan, stack, "queues")["queues"]
    text = texts(result)
    assert result.status == FAILED
    assert f"konsumiert {dev.queues[0]}, Matrix: {', '.join(dev.queues)}" in text
    assert f"Probe über {dev.queues[-1]} kam nicht zurück" in text
    assert f"Nachricht auf {split.foreign_queues[0]} wurde genommen" in text


def _insert_any_row(conn, schema: str) -> str:
    """Insert one row into a table of `schema` whose required columns are simple."""
    literals = {"text": "'x'", "uuid": "gen_random_uuid()", "integer": "1", "bigint": "1", "jsonb": "'{}'"}
    tables = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' AND NOT c.relrowsecurity ORDER BY 1",
        (schema,),
    ).fetchall()
    for (table,) in tables:
        required = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull "
            "AND d.adbin IS NULL AND a.attidentity = ''",
            (f"{schema}.{table}",),
        ).fetchall()
        if all(t in literals for _n, t in required):
            names = ", ".join(n for n, _t in required)
            values = ", ".join(literals[t] for _n, t in required)
            try:
                conn.execute(f"INSERT INTO {schema}.{table} ({names}) VALUES ({values})")
                return table
            except psycopg.Error:
                continue
    raise AssertionError("keine Tabelle gefunden, in die sich eine Zeile einfügen lässt")


# -- interrupted runs leave nothing behind --------------------------------------------------
@pytest.mark.parametrize("signum, wait_for", [(signal.SIGINT, "Postgres läuft"), (signal.SIGTERM, "Prüfe")])
def test_interrupted_run_leaves_nothing(signum, wait_for):
    proc = subprocess.Popen(
        [sys.executable, "-m", "umgebungsmatrix", "check-stack"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workdir, seen = None, []
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        seen.append(line)
        if m := re.match(r"Arbeitsverzeichnis: (\S+)", line):
            workdir = m.group(1)
        if wait_for in line or time.monotonic() > deadline:
            break
    assert workdir and any(wait_for in s for s in seen), "".join(seen)
    assert leftovers(workdir), "the run should have children before the signal"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, "".join(seen) + err
    assert "Abgebrochen" in err and "Traceback" not in err
    assert not Path(workdir).exists()
    assert leftovers(workdir) == []


def test_embedded_runs_what_the_compose_file_declares(plan):
    """Same commands and non-secret env as compose/docker-compose.yml (when it is generated)."""
    import yaml

    compose_file = ROOT / "compose" / "docker-compose.yml"
    if not compose_file.exists():
        pytest.skip("compose/docker-compose.yml ist (noch) nicht erzeugt")
    services = yaml.safe_load(compose_file.read_text(encoding="utf-8"))["services"]
    for name, service in [(plan.web.name, plan.web)] + [
        (w.service, w) for w in plan.workers if w.stage == plan.stage.id
    ]:
        declared = services[name]
        assert tuple(declared["command"]) == service.command, name
        environment = declared.get("environment") or {}
        for key, value in service.env.items():
            assert str(environment.get(key)) == value, f"{name}: {key}"


def test_cli_choices_name_every_live_check():
    from checks.stack.command import CHECK_IDS

    assert tuple(c[0] for c in live.CHECKS) == CHECK_IDS


# -- a task without a queue (as beat sends it) lands in a consumed queue ---------------------
def test_task_without_queue_is_consumed(matrix, plan, shared_stack):
    results = run_checks(matrix, plan, shared_stack, "queues")
    assert results["queues"].status == OK, texts(results["queues"])
    assert "Aufgabe ohne Queue (wie von Beat) landet in" in texts(results["queues"])


def test_app_without_default_queue_fails(matrix, plan, shared_stack, tmp_path):
    """Broken reality: the app as it was before (Celery's default queue `celery`, which no worker reads)."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "compose" / "app", app)
    worker = app / "plattform" / "worker.py"
    worker.write_text(
        worker.read_text(encoding="utf-8").replace("    task_default_queue=fakten.DEFAULT_QUEUE,\n", ""),
        encoding="utf-8",
    )
    from checks.stack.result import CheckResult

    res = CheckResult("queues", "Queues")
    live.task_without_queue(live.Ctx(matrix, plan, shared_stack), res, app_dir=app)
    assert res.status == FAILED and "liegt in celery" in texts(res), texts(res)


def test_an_interrupt_swallowed_in_a_finalizer_prints_no_traceback():
    """A signal during a Redis client's __del__: Python swallows the Interrupted and hands it to
    sys.unraisablehook, whose default prints "Exception ignored … Traceback". During a run the hook
    drops Interrupted (the run remembers the signal) and passes everything else on."""
    import gc
    import sys

    from checks.stack.command import Interrupted, quiet_swallowed_interrupts

    class Finalizer:
        def __init__(self, exc):
            self.exc = exc

        def __del__(self):
            raise self.exc

    reported = []
    saved = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: reported.append(type(unraisable.exc_value).__name__)
    try:
        with quiet_swallowed_interrupts():
            Finalizer(Interrupted(15))
            Finalizer(ValueError("anderes"))
            gc.collect()
        Finalizer(Interrupted(15))  # outside a run: reported as usual
        gc.collect()
    finally:
        sys.unraisablehook = saved
    assert reported == ["ValueError", "Interrupted"]
