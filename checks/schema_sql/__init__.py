"""docs/rag/schema.sql: parsed with sqlglot and held against the matrix.

Public API (for the docs macro, the CLI and the live stack check):

    from checks.schema_sql import load_schema, check_schema
    schema = load_schema()                  # SchemaSql, see structure.py
    findings = check_schema(schema, matrix.plattform.rag)

`load_schema`/`parse_schema` raise SchemaSyntaxError (German, file:line:column)
for text that is not SQL. Each rule of rules.RULES is also a registered check
of `make check` (see register.py).
"""

from __future__ import annotations

from checks.findings import Finding
from umgebungsmatrix.matrix.model import Rag

from .parse import SchemaSyntaxError, load_schema, parse_schema, pg_type
from .paths import display_path, schema_file
from .rules import OPCLASS, RULES, SYNTAX_RULE, Rule
from .structure import (
    VECTOR_METHODS, VECTOR_TYPES, Column, Extension, Index, IndexColumn, Policy, PolicyDrop,
    QualifiedName, RlsChange, SchemaSql, Statement, Table,
)


def check_schema(schema: SchemaSql, rag: Rag) -> list[Finding]:
    """All findings of all rules, rule by rule, each sorted by line."""
    return [finding for rule in RULES for finding in rule.run(schema, rag)]


__all__ = [
    "OPCLASS", "RULES", "SYNTAX_RULE", "VECTOR_METHODS", "VECTOR_TYPES", "Column", "Extension", "Finding",
    "Index", "IndexColumn", "Policy", "PolicyDrop", "QualifiedName", "RlsChange", "Rule", "SchemaSql",
    "SchemaSyntaxError", "Statement", "Table", "check_schema", "display_path", "load_schema",
    "parse_schema", "pg_type", "schema_file",
]
