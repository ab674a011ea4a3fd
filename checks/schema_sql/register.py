"""`make check` and `python -m macros schema-check`: the rules on docs/rag/schema.sql.

Every rule is its own registered check; the file is read and parsed once per
content (cached), however many rules ask for it.
"""

from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from pathlib import Path

from checks.registry import Artifacts, Finding, check
from macros.cli import EXIT_DRIFT, EXIT_INPUT, EXIT_OK, register
from macros.matrix import load_matrix
from macros.model import Matrix

from .parse import SchemaSyntaxError, parse_schema
from .paths import display_path, schema_file
from .rules import DOC_PAGE, RULES, SYNTAX_RULE, Rule
from .structure import SchemaSql


@lru_cache(maxsize=8)
def _parsed(text: str, shown: str) -> SchemaSql | SchemaSyntaxError:
    try:
        return parse_schema(text, shown)
    except SchemaSyntaxError as err:
        return err


def _current(matrix: Matrix) -> tuple[str, SchemaSql | SchemaSyntaxError | OSError]:
    file = schema_file(matrix)
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return shown, OSError(str(err))
    return shown, _parsed(text, shown)


@check("RAG-Schema: SQL lesbar")
def readable(matrix: Matrix, _artifacts: Artifacts) -> list[Finding]:
    shown, parsed = _current(matrix)
    if isinstance(parsed, SchemaSyntaxError):
        return [Finding(SYNTAX_RULE, f"Syntaxfehler: {parsed.message}",
                        f"{parsed.path}:{parsed.line}:{parsed.column}", DOC_PAGE)]
    if isinstance(parsed, OSError):
        return [Finding(SYNTAX_RULE, f"Datei nicht lesbar: {parsed}", shown, DOC_PAGE)]
    return []


def _rule_check(rule: Rule) -> None:
    def run(matrix: Matrix, _artifacts: Artifacts) -> list[Finding]:
        _shown, parsed = _current(matrix)
        if not isinstance(parsed, SchemaSql):
            return []  # reported once by readable()
        return rule.run(parsed, matrix.plattform.rag)

    check(f"RAG-Schema: {rule.title} [{rule.name}]")(run)


for _rule in RULES:
    _rule_check(_rule)


# --- CLI -------------------------------------------------------------------

def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("datei", nargs="?", type=Path, default=None,
                        help="SQL-Datei (Standard: die Schema-Datei der Matrix, docs/rag/schema.sql)")


def schema_check(args: argparse.Namespace) -> int:
    """Exit 0 clean, 1 on findings, 2 if the file is unreadable or not SQL."""
    matrix = load_matrix()
    file = args.datei if args.datei is not None else schema_file(matrix)
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"{shown}: Datei nicht lesbar: {err}", file=sys.stderr)
        return EXIT_INPUT
    try:
        schema = parse_schema(text, shown)
    except SchemaSyntaxError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INPUT
    print(f"{shown}: {len(schema.statements)} Anweisungen, {len(schema.tables)} Tabellen, "
          f"{len(schema.indexes)} Indizes, {len(schema.policies)} Policies")
    total = 0
    for rule in RULES:
        findings = rule.run(schema, matrix.plattform.rag)
        total += len(findings)
        print(f"{'✗' if findings else '✓'} {rule.name}: {rule.title}")
        for finding in findings:
            print(f"    {finding.format()}")
    if total:
        print(f"{total} Verstoß/Verstöße in {shown}.")
        return EXIT_DRIFT
    print(f"✓ {shown} erfüllt alle {len(RULES)} Regeln.")
    return EXIT_OK


register("schema-check", "RAG-Schema (SQL) mit sqlglot lesen und gegen die Matrix prüfen "
         "(Exit 1 bei Verstößen, 2 bei Syntaxfehler)", _args, schema_check)
