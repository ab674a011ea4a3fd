"""Benchmark: the schema rules on docs/rag/schema.sql.

Targets (issue 11):
- static rules (split, sqlglot, rules) on the real schema ≤ 100 ms;
- with PostgreSQL semantics, server start included (throw-away server from the
  cached template cluster, apply twice, catalog, tenant probe) ≤ 2.5 s, measured
  in-process and as the whole `umgebungsmatrix schema-check` command;
- a generated 5,000-line schema, static, ≤ 1 s.

The generated schema repeats the real pattern (retriever table with vector
column, HNSW index, RLS, policy; agent table) until it has 5,000 lines, with
facts matching it, so every rule does its full work and nothing is reported.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_REAL_MS = 100.0
TARGET_SEMANTIC_MS = 2500.0
TARGET_LARGE_MS = 1000.0
LARGE_LINES = 5000


def _block(i: int, rag) -> str:
    from checks.schema_sql import OPCLASS

    s, t, a = rag.db_schema, f"chunks_{i}", f"runs_{i}"
    check = f"{rag.tenant_spalte} = NULLIF(current_setting('{rag.tenant_einstellung}', true), '')::uuid"
    return f"""
CREATE TABLE IF NOT EXISTS {s}.{t} (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    {rag.tenant_spalte}   uuid NOT NULL,
    content     text NOT NULL,
    embedding   vector({rag.embedding_dimension}) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS {t}_embedding_idx ON {s}.{t} USING {rag.index_methoden[0]} (embedding {OPCLASS[rag.distanz]});
ALTER TABLE {s}.{t} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {s}.{t} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS {t}_tenant ON {s}.{t};
CREATE POLICY {t}_tenant ON {s}.{t} USING ({check}) WITH CHECK ({check});
CREATE TABLE IF NOT EXISTS {s}.{a} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, status text NOT NULL);
"""


def large_schema(rag, lines: int = LARGE_LINES):
    """(SQL text of about `lines` lines, facts that classify its tables)."""
    head = f"CREATE EXTENSION IF NOT EXISTS {rag.extension};\nCREATE SCHEMA IF NOT EXISTS {rag.db_schema};\n"
    blocks, i = [head], 0
    while sum(b.count("\n") for b in blocks) < lines:
        blocks.append(_block(i, rag))
        i += 1
    facts = rag.model_copy(
        update={
            "retriever_tabellen": [f"chunks_{n}" for n in range(i)],
            "agenten_tabellen": [f"runs_{n}" for n in range(i)],
        }
    )
    return "".join(blocks), facts


def measure(text: str, facts, runs: int) -> tuple[float, int, int]:
    from checks.schema_sql import check_schema, parse_schema

    times, found, statements = [], 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        schema = parse_schema(text, "bench.sql")
        found = len(check_schema(schema, facts))
        times.append((time.perf_counter() - started) * 1000)
        statements = len(schema.statements)
    return statistics.median(times), found, statements


def measure_semantic(text: str, rag, runs: int) -> tuple[float, int, float]:
    """Median ms of static + semantic rules with a freshly started server; findings; server start ms."""
    from checks.schema_sql import check_schema_text
    from checks.servers.scratch import scratch_postgres

    with scratch_postgres():
        pass  # builds the template cluster once if it is missing (not part of the measurement)
    times, found, start = [], 0, 0.0
    for _ in range(runs):
        started = time.perf_counter()
        with scratch_postgres() as server:
            start = server.started_in * 1000
            report = check_schema_text(text, "docs/rag/schema.sql", rag, server=server)
        times.append((time.perf_counter() - started) * 1000)
        found = len(report.findings) if report.semantic is not None else -1
    return statistics.median(times), found, start


def measure_cli(runs: int) -> float:
    import subprocess

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "umgebungsmatrix", "schema-check"], cwd=ROOT, capture_output=True, text=True
        )
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(done.stdout + done.stderr)
            return float("inf")
    return statistics.median(times)


def main() -> int:
    from checks.schema_sql import schema_file
    from umgebungsmatrix.facts import load as load_facts

    rag = load_facts().matrix.plattform.rag
    real = schema_file().read_text(encoding="utf-8")
    real_ms, real_found, real_statements = measure(real, rag, runs=20)
    print(
        f"RAG-Schema lesen + prüfen (echt, {real.count(chr(10))} Zeilen, {real_statements} Anweisungen): "
        f"Median {real_ms:.1f} ms (Ziel ≤ {TARGET_REAL_MS:.0f} ms), {real_found} Verstöße"
    )
    semantic_ms, semantic_found, start_ms = measure_semantic(real, rag, runs=5)
    print(
        f"RAG-Schema mit PostgreSQL (Serverstart {start_ms:.0f} ms, zweimal anwenden, Katalog, Probe): "
        f"Median {semantic_ms:.0f} ms (Ziel ≤ {TARGET_SEMANTIC_MS:.0f} ms), {semantic_found} Verstöße"
    )
    cli_ms = measure_cli(runs=3)
    print(
        f"`umgebungsmatrix schema-check` als ganzer Prozess: Median {cli_ms:.0f} ms "
        f"(Ziel ≤ {TARGET_SEMANTIC_MS:.0f} ms)"
    )
    text, facts = large_schema(rag)
    large_ms, large_found, large_statements = measure(text, facts, runs=5)
    print(
        f"RAG-Schema lesen + prüfen (erzeugt, {text.count(chr(10))} Zeilen, {large_statements} Anweisungen): "
        f"Median {large_ms:.0f} ms (Ziel ≤ {TARGET_LARGE_MS:.0f} ms), {large_found} Verstöße"
    )
    ok = (
        real_ms <= TARGET_REAL_MS
        and large_ms <= TARGET_LARGE_MS
        and real_found == 0
        and large_found == 0
        and semantic_ms <= TARGET_SEMANTIC_MS
        and cli_ms <= TARGET_SEMANTIC_MS
        and semantic_found == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
