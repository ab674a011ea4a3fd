"""docs/rag/schema.sql and its rules: each rule fails on a broken fixture
(rule name and line asserted) and passes on a good one; the real schema
passes against the real matrix; CLI and `make check` report with exit codes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.schema_sql import (
    OPCLASS, RULES, SchemaSyntaxError, check_schema, load_schema, parse_schema, schema_file,
)
from macros.model import Rag
from tests.conftest import ROOT, run_cli, snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "schema"

# Facts of the fixtures: small on purpose and independent of the real matrix.
FACTS = Rag(
    db_schema="rag", extension="vector", pgvector_version="0.8", embedding_dimension=3, distanz="cosine",
    index_methoden=["hnsw", "ivfflat"], index_max_dimension={"hnsw": 2000, "ivfflat": 2000},
    retriever_tabellen=["chunks"], agenten_tabellen=["agent_runs"],
    tenant_spalte="tenant_id", tenant_einstellung="app.tenant_id",
)
RULE_NAMES = {r.name for r in RULES}

GOOD = sorted(p.name for p in FIXTURES.glob("*_ok.sql")) + ["gueltig.sql"]

# fixture, rule, lines of that rule's findings (in order)
BROKEN = [
    ("unbekannte-anweisung_fehler.sql", "unbekannte-anweisung", [12, 20]),
    ("extension-vor-nutzung_fehler.sql", "extension-vor-nutzung", [5]),
    ("extension-vor-nutzung_fehlt_fehler.sql", "extension-vor-nutzung", [6]),
    ("schema-rag_fehler.sql", "schema-rag", [2, 8, 9, 9, 13, 14]),
    ("embedding-dimension_fehler.sql", "embedding-dimension", [6, 7, 8, 9, 11]),
    ("embedding-dimension_keine_fehler.sql", "embedding-dimension", [1]),
    ("vektor-index_fehler.sql", "vektor-index", [6, 7, 8, 11, 13]),
    ("vektor-index_grenze_fehler.sql", "vektor-index", [7]),
    ("mandanten-rls_fehler.sql", "mandanten-rls", [3, 3, 5, 18, 20]),
    ("mandanten-rls_fehlt_fehler.sql", "mandanten-rls", [1, 4]),
    ("keine-daten_fehler.sql", "keine-daten", [8, 10, 11, 12, 13, 14, 15]),
    ("idempotent_fehler.sql", "idempotent", [1, 2, 3, 8, 9, 12, 14]),
]

# fixture, line, column of the syntax error
SYNTAX = [
    ("syntax_fehler.sql", 6, 21),
    ("syntax_zeichenkette_fehler.sql", 2, 26),
    ("syntax_policy_fehler.sql", 4, 9),
]


def findings(name: str, facts: Rag = FACTS):
    return check_schema(load_schema(FIXTURES / name), facts)


def lines(found, rule: str) -> list[int]:
    return [int(f.where.rsplit(":", 1)[1]) for f in found if f.rule == rule]


def with_facts(**changes) -> Rag:
    return Rag.model_validate({**FACTS.model_dump(), **changes})


# --- fixtures: every rule passes on good SQL and fails on broken SQL ---------------

def test_every_rule_has_a_good_and_a_broken_fixture():
    assert {rule for _f, rule, _l in BROKEN} == RULE_NAMES
    for rule in RULE_NAMES | {"syntax"}:
        assert (FIXTURES / f"{rule}_ok.sql").is_file(), rule


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_passes_every_rule(name):
    assert [f.format() for f in findings(name)] == []


@pytest.mark.parametrize(("name", "rule", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_fixture_fails_its_rule_at_the_line(name, rule, expected):
    found = findings(name)
    assert lines(found, rule) == expected
    for finding in (f for f in found if f.rule == rule):
        assert finding.where.startswith(f"tests/fixtures/schema/{name}:")
        assert finding.doc == "rag/schema.md"
        assert f"[{rule}]" in finding.format()


@pytest.mark.parametrize(("name", "line", "column"), SYNTAX)
def test_syntax_error_reports_line_and_column(name, line, column):
    with pytest.raises(SchemaSyntaxError) as caught:
        load_schema(FIXTURES / name)
    err = caught.value
    assert (err.line, err.column) == (line, column)
    assert f"{name}:{line}:{column}: Syntaxfehler" in str(err)


def test_statement_lines_survive_comments_strings_and_dollar_quotes():
    schema = load_schema(FIXTURES / "syntax_ok.sql")
    assert [s.line for s in schema.statements][:3] == [5, 6, 8]
    assert schema.statements[-1].kind == "CREATE FUNCTION"
    assert schema.table("rag.chunks").column("content").default == "'a;b'"


# --- the matrix decides: the same SQL passes or fails with other facts -------------

def test_distance_of_the_matrix_picks_the_operator_class():
    found = findings("gueltig.sql", with_facts(distanz="l2"))
    assert lines(found, "vektor-index") == [9, 11]
    assert OPCLASS["l2"] in found[0].message or OPCLASS["l2"] in found[1].message


def test_index_method_must_be_allowed_by_the_matrix():
    assert lines(findings("gueltig.sql", with_facts(index_methoden=["ivfflat"])), "vektor-index") == [9, 11]


def test_dimension_of_the_matrix_is_enforced():
    found = findings("gueltig.sql", with_facts(embedding_dimension=4))
    assert lines(found, "embedding-dimension") == [9]
    assert "vector(4)" in found[0].message


def test_tenant_setting_of_the_matrix_is_enforced():
    found = findings("gueltig.sql", with_facts(tenant_einstellung="app.mandant"))
    assert lines(found, "mandanten-rls") == [5]


# --- the real schema ---------------------------------------------------------------

def test_real_schema_passes_against_the_matrix(matrix):
    schema = load_schema()
    assert schema.path == "docs/rag/schema.sql"
    assert [f.format() for f in check_schema(schema, matrix.plattform.rag)] == []


def test_real_schema_structure_follows_the_matrix(matrix):
    rag = matrix.plattform.rag
    schema = load_schema(schema_file(matrix))
    for name in rag.retriever_tabellen:
        table = schema.table(f"{rag.db_schema}.{name}")
        assert table.rls_enabled and table.rls_forced
        assert table.column(rag.tenant_spalte).not_null
        assert any(rag.tenant_einstellung in p.settings for p in table.policies)
    for name in rag.agenten_tabellen:
        table = schema.table(f"{rag.db_schema}.{name}")
        assert not table.rls_enabled and not table.policies
    vectors = [(t, c) for t in schema.tables for c in t.columns if c.is_vector]
    assert vectors and all(c.type == f"vector({rag.embedding_dimension})" for _t, c in vectors)
    for table, column in vectors:
        opclasses = {k.opclass for i in table.indexes for k in i.columns if k.column == column.name}
        assert OPCLASS[rag.distanz] in opclasses


def test_real_schema_fails_when_the_matrix_dimension_changes(matrix):
    rag = matrix.plattform.rag
    other = Rag.model_validate({**rag.model_dump(), "embedding_dimension": rag.embedding_dimension // 2})
    schema = load_schema()
    embedding = next(c for t in schema.tables for c in t.columns if c.is_vector)
    assert lines(check_schema(schema, other), "embedding-dimension") == [embedding.line]


def test_parse_schema_accepts_text_and_names_the_path():
    schema = parse_schema("CREATE SCHEMA IF NOT EXISTS rag;\n", "x.sql")
    assert schema.schemas == (("rag", 1),) and schema.where(1) == "x.sql:1"


# --- CLI and make check --------------------------------------------------------------

def test_cli_schema_check_passes_on_the_real_schema():
    result = run_cli(ROOT, "schema-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"erfüllt alle {len(RULES)} Regeln" in result.stdout


def test_cli_schema_check_exit_1_with_rule_and_line():
    result = run_cli(ROOT, "schema-check", str(FIXTURES / "idempotent_fehler.sql"))
    assert result.returncode == 1
    assert "tests/fixtures/schema/idempotent_fehler.sql:12: [idempotent]" in result.stdout


@pytest.mark.parametrize(("name", "line", "column"), SYNTAX[:1])
def test_cli_schema_check_exit_2_on_syntax_error(name, line, column):
    result = run_cli(ROOT, "schema-check", str(FIXTURES / name))
    assert result.returncode == 2
    assert f"{name}:{line}:{column}: Syntaxfehler" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_schema_check_exit_2_on_missing_file(tmp_path):
    result = run_cli(ROOT, "schema-check", str(tmp_path / "fehlt.sql"))
    assert result.returncode == 2
    assert "Datei nicht lesbar" in result.stderr and "Traceback" not in result.stderr


def test_cli_schema_check_help():
    result = run_cli(ROOT, "schema-check", "--help")
    assert result.returncode == 0 and "Exit 1" in result.stdout


def test_make_check_reports_a_broken_schema_and_writes_nothing(repo_copy, matrix):
    sql = repo_copy / "docs" / "rag" / "schema.sql"
    dimension = matrix.plattform.rag.embedding_dimension
    text = sql.read_text(encoding="utf-8")
    line = text[:text.index(f"vector({dimension})")].count("\n") + 1
    sql.write_text(text.replace(f"vector({dimension})", f"vector({dimension + 1})"), encoding="utf-8")
    before = snapshot(repo_copy)
    result = run_cli(repo_copy, "check")
    assert result.returncode == 1
    assert f"docs/rag/schema.sql:{line}: [embedding-dimension]" in result.stdout
    assert snapshot(repo_copy) == before


def test_make_check_reports_a_syntax_error(repo_copy):
    sql = repo_copy / "docs" / "rag" / "schema.sql"
    sql.write_text(sql.read_text(encoding="utf-8") + "\nCREATE TABLE rag.kaputt (;\n", encoding="utf-8")
    result = run_cli(repo_copy, "check")
    assert result.returncode == 1
    assert "[syntax] Syntaxfehler" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
