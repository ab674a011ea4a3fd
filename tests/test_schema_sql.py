"""docs/rag/schema.sql and its rules, static part (no database): each rule fails
on a broken fixture (rule name and line asserted) and passes on a good one; the
statement splitter reads what psql reads; the real schema passes against the
real matrix; `make check` reports with exit codes.

What PostgreSQL itself says about the same fixtures (apply twice, catalog,
tenant probe) is tested in test_schema_sql_postgres.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, snapshot

from checks.schema_sql import (
    OPCLASS,
    RULES,
    SchemaSyntaxError,
    check_schema,
    load_schema,
    parse_schema,
    schema_file,
)
from checks.schema_sql.statements import classify, split, unknown_words
from checks.schema_sql.tenancy import tenant_filter
from umgebungsmatrix.matrix.model import Rag

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "schema"
ISSUE = FIXTURES / "issue11"
CORPUS = FIXTURES / "korpus"

# Facts of the fixtures: small on purpose and independent of the real matrix.
FACTS = Rag(
    db_schema="rag",
    extension="vector",
    pgvector_version="0.8",
    embedding_dimension=3,
    distanz="cosine",
    index_methoden=["hnsw", "ivfflat"],
    index_max_dimension={"hnsw": 2000, "ivfflat": 2000},
    retriever_tabellen=["chunks"],
    agenten_tabellen=["agent_runs"],
    tenant_spalte="tenant_id",
    tenant_einstellung="app.tenant_id",
)
RULE_NAMES = {r.name for r in RULES}

# Good fixtures the static rules cannot judge: the policy is created in a DO block, only
# PostgreSQL sees it (test_schema_sql_postgres.py proves it passes there).
ONLY_POSTGRES_SEES = {"mandanten-rls_do-block_ok.sql"}
GOOD = sorted(p.name for p in FIXTURES.glob("*_ok.sql") if p.name not in ONLY_POSTGRES_SEES) + ["gueltig.sql"]

# fixture, rule, lines of that rule's static findings (in order)
BROKEN = [
    ("unbekannte-anweisung_fehler.sql", "unbekannte-anweisung", [8, 9, 14]),
    ("anwendbar_fehler.sql", "anwendbar", [1, 18]),
    ("transaktion_fehler.sql", "transaktion", [9, 10, 13, 14]),
    ("extension-vor-nutzung_fehler.sql", "extension-vor-nutzung", [5]),
    ("extension-vor-nutzung_fehlt_fehler.sql", "extension-vor-nutzung", [6]),
    ("schema-rag_fehler.sql", "schema-rag", [2, 8, 9, 9, 13, 14]),
    ("embedding-dimension_fehler.sql", "embedding-dimension", [6, 9, 11]),
    ("embedding-dimension_keine_fehler.sql", "embedding-dimension", [1]),
    ("vektor-index_fehler.sql", "vektor-index", [6, 7, 8, 11, 13]),
    ("vektor-index_grenze_fehler.sql", "vektor-index", [5, 7]),
    ("mandanten-rls_fehler.sql", "mandanten-rls", [3, 3, 5, 11, 18, 20]),
    ("mandanten-rls_fehlt_fehler.sql", "mandanten-rls", [1, 4]),
    ("keine-daten_fehler.sql", "keine-daten", [8, 10, 11, 12, 13, 14, 15]),
    ("idempotent_fehler.sql", "idempotent", [1, 2, 3, 8, 9, 12, 14]),
]

# Issue 11, one file per row of its table: (file, fact changes, rule, lines) of the static
# rules; None = accepted. What PostgreSQL adds is in test_schema_sql_postgres.ISSUE_POSTGRES.
ISSUE_STATIC = [
    ("01_funktion_default.sql", {}, None, []),
    ("01_funktion_default_ohne_or_replace.sql", {}, "idempotent", [21]),
    ("02_search_path.sql", {}, None, []),
    ("03_set_storage.sql", {}, None, []),
    ("04_grant_mehrere_tabellen.sql", {}, None, []),
    ("05_grant_schema.sql", {}, None, []),
    ("06_drop_trigger.sql", {}, None, []),
    ("07_trigger_funktion.sql", {}, None, []),
    ("08_kommentar_eigentuemer_sequenz.sql", {}, None, []),
    ("09_rls_zwei_aktionen.sql", {}, None, []),
    ("10_index_on_only.sql", {}, None, []),
    ("11_bom.sql", {}, "anwendbar", [1]),
    ("12_copy_stdin.sql", {}, "keine-daten", [20]),
    ("13_embedding_namen.sql", {}, None, []),
    ("14_public_vector_ohne_index.sql", {}, "vektor-index", [20]),
    ("15_halfvec_cosine.sql", {}, None, []),
    ("16_sparsevec_hnsw.sql", {"embedding_dimension": 3000}, None, []),
    ("17_using_true.sql", {}, "mandanten-rls", [4, 14]),
    ("18_zusaetzliche_policy.sql", {}, "mandanten-rls", [23]),
    ("19_partition_ohne_rls.sql", {}, "mandanten-rls", [18, 18, 18]),
    ("20_gleicher_indexname.sql", {"retriever_tabellen": ["documents", "chunks"]}, "vektor-index", [13, 16]),
    ("21_concurrently.sql", {}, "transaktion", [20]),
    ("22_extension_with_schema.sql", {}, "extension-vor-nutzung", [3]),
    ("23_transaction_timeout.sql", {}, None, []),  # only PostgreSQL 16 can say it does not know the setting
    ("24_enum_ohne_schutz.sql", {}, "idempotent", [20]),
    ("24_enum_do_block.sql", {}, None, []),
]
RAW_PARSER_TEXT = re.compile(r"sqlglot|Expecting|Invalid expression|Unexpected token|exp\.Command|Required keyword")


def findings(name: str, facts: Rag = FACTS, folder: Path = FIXTURES):
    return check_schema(load_schema(folder / name), facts)


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


@pytest.mark.parametrize(("name", "facts", "rule", "expected"), ISSUE_STATIC, ids=[r[0] for r in ISSUE_STATIC])
def test_issue_row_static(name, facts, rule, expected):
    found = findings(name, with_facts(**facts), ISSUE)
    if rule is None:
        assert [f.format() for f in found] == []
    else:
        assert {f.rule for f in found} == {rule}, [f.format() for f in found]
        assert lines(found, rule) == expected


def test_messages_carry_no_raw_parser_text():
    for file in [*FIXTURES.glob("*.sql"), *ISSUE.glob("*.sql"), *CORPUS.glob("*.sql")]:
        try:
            found = check_schema(load_schema(file), FACTS)
        except SchemaSyntaxError as err:
            found = [err]
        for finding in found:
            assert not RAW_PARSER_TEXT.search(str(getattr(finding, "message", finding))), (file.name, finding)


def test_only_text_that_cannot_be_split_is_a_syntax_error():
    with pytest.raises(SchemaSyntaxError) as caught:
        load_schema(FIXTURES / "syntax_zeichenkette_fehler.sql")
    err = caught.value
    assert (err.line, err.column) == (2, 26)
    assert "syntax_zeichenkette_fehler.sql:2:26: Syntaxfehler" in str(err)
    assert "nie geschlossen" in err.message
    # a statement sqlglot cannot parse is kept with its kind; PostgreSQL judges it
    schema = load_schema(FIXTURES / "syntax_fehler.sql")
    broken = next(s for s in schema.statements if s.line == 4)
    assert (broken.kind, broken.handled) == ("CREATE TABLE", False)
    schema = load_schema(FIXTURES / "syntax_policy_fehler.sql")
    assert [s.kind for s in schema.statements if not s.handled] == ["CREATE POLICY"]


def test_statement_lines_survive_comments_strings_and_dollar_quotes():
    schema = load_schema(FIXTURES / "syntax_ok.sql")
    assert [s.line for s in schema.statements][:3] == [5, 6, 8]
    assert schema.statements[-1].kind == "CREATE FUNCTION"
    assert schema.table("rag.chunks").column("content").default == "'a;b'"


# --- the statement splitter reads what psql reads ------------------------------------


def test_split_handles_bom_copy_data_meta_commands_and_function_bodies():
    text = (
        "\ufeffCREATE TABLE a (x int);\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "COPY a (x) FROM stdin;\n1\n'2;\n$$\n\\.\n"
        "\\restrict abc\n"
        "CREATE RULE r AS ON INSERT TO a DO ALSO (SELECT 1; SELECT 2);\n"
        "SELECT E'a\\'b;'; SELECT $x$ ; $x$; /* a /* b */ ; */ SELECT 2;\n;\n"
    )
    parts = split(text)
    assert parts.bom
    assert [(p.line, p.kind) for p in parts.pieces] == [
        (1, "CREATE TABLE"),
        (2, "CREATE FUNCTION"),
        (3, "COPY"),
        (8, "psql \\restrict"),
        (9, "CREATE RULE"),
        (10, "SELECT"),
        (10, "SELECT"),
        (10, "SELECT"),
    ]
    copy = parts.pieces[2]
    assert (copy.data_rows, copy.end_line) == (3, 7)
    assert parts.pieces[3].meta and text[parts.pieces[1].start : parts.pieces[1].end].endswith("END")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("SELECT 1;\nSELECT 'x;\n", 2, 8), ("SELECT $a$ x;\n", 1, 8), ("/* /* */ SELECT 1;", 1, 1), ('SELECT "x;', 1, 8)],
)
def test_split_names_what_never_closes(text, line, column):
    with pytest.raises(SchemaSyntaxError) as caught:
        split(text, "x.sql")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert caught.value.message.endswith("wird nie geschlossen (bis zum Dateiende gelesen)")


def test_classify_and_misspelled_commands():
    assert classify(("CREATE", "OR", "REPLACE", "FUNCTION")) == "CREATE FUNCTION"
    assert classify(("CREATE", "UNIQUE", "INDEX")) == "CREATE INDEX"
    assert classify(("CREATE", "MATERIALIZED", "VIEW")) == "CREATE MATERIALIZED VIEW"
    assert classify(("COMMENT", "ON", "EXTENSION")) == "COMMENT ON"
    assert unknown_words(("CREATE", "TABLE")) is None
    assert unknown_words(("CRAETE", "TABLE")) == ("CRAETE", ["CREATE"])
    assert unknown_words(("ALTER", "TABEL")) == ("TABEL", ["TABLE"])


# --- tenant filters: read the way row level security combines policies -------------------


@pytest.mark.parametrize(
    ("expression", "status"),
    [
        ("tenant_id = current_setting('app.tenant_id', true)::uuid", "ok"),
        ("(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)", "ok"),
        ("tenant_id = current_setting('app.tenant_id')::uuid AND deleted_at IS NULL", "ok"),
        ("tenant_id = (SELECT rag.current_tenant())", "ok"),
        (
            "EXISTS (SELECT 1 FROM rag.documents d WHERE d.id = document_id "
            "AND d.tenant_id = current_setting('app.tenant_id')::uuid)",
            "ok",
        ),
        (
            "document_id IN (SELECT id FROM rag.documents WHERE tenant_id = current_setting('app.tenant_id')::uuid)",
            "ok",
        ),
        (
            "EXISTS (SELECT 1 FROM rag.documents d WHERE d.id = document_id OR "
            "d.tenant_id = current_setting('app.tenant_id')::uuid)",
            "or",
        ),
        ("true", "missing"),
        ("shared", "missing"),
        ("shared OR tenant_id = current_setting('app.tenant_id')::uuid", "or"),
        ("tenant_id = current_setting('app.tenantid')::uuid", "missing"),
    ],
)
def test_tenant_filter(expression, status):
    functions = {"current_tenant": "select current_setting('app.tenant_id')::uuid"}
    assert tenant_filter(expression, "tenant_id", "app.tenant_id", functions).status == status


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


def test_tenant_setting_of_the_matrix_is_enforced_with_a_suggestion():
    found = findings("gueltig.sql", with_facts(tenant_einstellung="app.tenant"))
    assert lines(found, "mandanten-rls") == [5, 16]
    assert "meinten Sie „app.tenant“" in found[1].message


def test_misspelled_table_and_column_names_get_a_suggestion():
    text = (
        (FIXTURES / "gueltig.sql")
        .read_text()
        .replace("rag.chunks", "rag.chunk")
        .replace("tenant_id  uuid", "tenantid   uuid")
    )
    found = check_schema(parse_schema(text, "x.sql"), FACTS)
    messages = " ".join(f.message for f in found)
    assert "meinten Sie „chunks“" in messages


def test_pgvector_limits_depend_on_the_type():
    base = (FIXTURES / "gueltig.sql").read_text()
    half = base.replace("vector(3)", "halfvec(3000)").replace("vector_cosine_ops", "halfvec_cosine_ops")
    assert lines(check_schema(parse_schema(half, "x.sql"), with_facts(embedding_dimension=3000)), "vektor-index") == []
    vector = base.replace("vector(3)", "vector(3000)")
    assert lines(check_schema(parse_schema(vector, "x.sql"), with_facts(embedding_dimension=3000)), "vektor-index") == [
        9,
        11,
    ]
    bits = base.replace("vector(3)", "bit(3)").replace("vector_cosine_ops", "bit_hamming_ops")
    found = check_schema(parse_schema(bits, "x.sql"), FACTS)
    assert lines(found, "vektor-index") == [9, 11] and "Hamming" in found[-1].message + found[-2].message


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


# --- CLI and make check (static only: --ohne-postgres) ------------------------------------


def test_cli_schema_check_exit_1_with_rule_and_line():
    result = run_cli(ROOT, "schema-check", "--ohne-postgres", str(FIXTURES / "idempotent_fehler.sql"))
    assert result.returncode == 1
    assert "tests/fixtures/schema/idempotent_fehler.sql:12: [idempotent]" in result.stdout
    assert "Semantische Regeln übersprungen (mit --ohne-postgres abgeschaltet)" in result.stdout


def test_cli_schema_check_exit_2_when_the_text_cannot_be_split():
    result = run_cli(ROOT, "schema-check", "--ohne-postgres", str(FIXTURES / "syntax_zeichenkette_fehler.sql"))
    assert result.returncode == 2
    assert "syntax_zeichenkette_fehler.sql:2:26: Syntaxfehler" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [None, b"\xff\xfeCREATE"])
def test_cli_schema_check_exit_2_on_unreadable_file(tmp_path, content):
    file = tmp_path / "fehlt.sql"
    if content is not None:
        file.write_bytes(content)
    result = run_cli(ROOT, "schema-check", str(file))
    assert result.returncode == 2
    assert "Datei nicht lesbar" in result.stderr and "Traceback" not in result.stderr


def test_cli_schema_check_help():
    result = run_cli(ROOT, "schema-check", "--help")
    assert result.returncode == 0 and "Exit 1" in result.stdout and "--ohne-postgres" in result.stdout


def test_make_check_reports_a_broken_schema_and_writes_nothing(repo_copy, matrix):
    sql = repo_copy / "docs" / "rag" / "schema.sql"
    dimension = matrix.plattform.rag.embedding_dimension
    text = sql.read_text(encoding="utf-8")
    line = text[: text.index(f"vector({dimension})")].count("\n") + 1
    sql.write_text(text.replace(f"vector({dimension})", f"vector({dimension + 1})"), encoding="utf-8")
    before = snapshot(repo_copy)
    result = run_cli(repo_copy, "check")
    assert result.returncode == 1
    assert f"docs/rag/schema.sql:{line}: [embedding-dimension]" in result.stdout
    assert snapshot(repo_copy) == before


def test_make_check_reports_text_that_cannot_be_split(repo_copy):
    sql = repo_copy / "docs" / "rag" / "schema.sql"
    sql.write_text(sql.read_text(encoding="utf-8") + "\nCOMMENT ON SCHEMA rag IS 'offen;\n", encoding="utf-8")
    result = run_cli(repo_copy, "check")
    assert result.returncode == 1
    assert "[syntax] nicht in Anweisungen zerlegbar" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_make_check_reports_a_misspelled_command(repo_copy):
    sql = repo_copy / "docs" / "rag" / "schema.sql"
    text = sql.read_text(encoding="utf-8")
    line = text.count("\n") + 2
    sql.write_text(text + "\nCRATE INDEX IF NOT EXISTS x ON rag.chunks (id);\n", encoding="utf-8")
    result = run_cli(repo_copy, "check")
    assert result.returncode == 1
    assert (
        f"docs/rag/schema.sql:{line}: [unbekannte-anweisung] „CRATE“ ist kein Befehl von PostgreSQL 16 "
        "(meinten Sie CREATE?)" in result.stdout
    )
