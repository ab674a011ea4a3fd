"""docs/rag/schema.sql: read with sqlglot, judged by PostgreSQL 16, held against the matrix.

Public API (for the docs macro, the CLI and the live stack check):

    from checks.schema_sql import load_schema, check_schema, check_schema_text
    schema = load_schema()                  # SchemaSql, see structure.py
    findings = check_schema(schema, matrix.plattform.rag)          # static rules only
    report = check_schema_text(text, path, matrix.plattform.rag)   # + PostgreSQL (semantics.py)

Modules: statements.py (split and classify statements like psql), parse.py
(sqlglot per statement), rules.py (static rules), semantics.py (apply twice
on a throw-away PostgreSQL, read the catalog, tenant probe), report.py
(merge both), tenancy.py/vectors.py/pgerrors.py (shared knowledge),
boundary.py (the only imports of project modules outside this package,
besides register.py).

`load_schema`/`parse_schema` raise SchemaSyntaxError (German,
file:line:column) only for text that cannot be split into statements. Each
rule of rules.RULES is also a registered (static) check of `make check`
(see register.py).
"""

from __future__ import annotations

from .boundary import Finding, Rag
from .parse import SchemaSyntaxError, load_schema, parse_schema, pg_type
from .paths import display_path, schema_file
from .rules import OPCLASS, RULES, SYNTAX_RULE, Rule
from .structure import (
    VECTOR_METHODS,
    VECTOR_TYPES,
    Column,
    Extension,
    Index,
    IndexColumn,
    Policy,
    PolicyDrop,
    QualifiedName,
    RlsChange,
    SchemaSql,
    SearchPath,
    Statement,
    Table,
)


def check_schema(schema: SchemaSql, rag: Rag) -> list[Finding]:
    """All findings of all static rules, rule by rule, each sorted by line."""
    return [finding for rule in RULES for finding in rule.run(schema, rag)]


_LAZY = {
    "SchemaReport": "report",
    "check_schema_text": "report",
    "SemanticResult": "semantics",
    "run_semantics": "semantics",
    "semantic_findings": "semantics",
}


def __getattr__(name: str):
    """The PostgreSQL part loads on first use, so `make check` (static) does not pay for it."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OPCLASS",
    "RULES",
    "SYNTAX_RULE",
    "VECTOR_METHODS",
    "VECTOR_TYPES",
    "Column",
    "Extension",
    "Finding",
    "Index",
    "IndexColumn",
    "Policy",
    "PolicyDrop",
    "QualifiedName",
    "RlsChange",
    "Rule",
    "SchemaReport",
    "SchemaSql",
    "SchemaSyntaxError",
    "SearchPath",
    "SemanticResult",
    "Statement",
    "Table",
    "check_schema",
    "check_schema_text",
    "display_path",
    "load_schema",
    "parse_schema",
    "pg_type",
    "run_semantics",
    "schema_file",
    "semantic_findings",
]
