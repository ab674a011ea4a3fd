"""`make check` and `python -m macros schema-check`: the rules on docs/rag/schema.sql.

Every rule is its own registered check; the file is read and parsed once per
content (cached), however many rules ask for it.
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

from collections.abc import Callable, Mapping

from checks.findings import Finding
from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK, InputError
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.matrix.model import Matrix

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


Artifacts = Mapping[str, str]


def readable(facts: Facts, _artifacts: Artifacts) -> list[Finding]:
    shown, parsed = _current(facts.matrix)
    if isinstance(parsed, SchemaSyntaxError):
        return [Finding(SYNTAX_RULE, f"Syntaxfehler: {parsed.message}",
                        f"{parsed.path}:{parsed.line}:{parsed.column}", DOC_PAGE)]
    if isinstance(parsed, OSError):
        return [Finding(SYNTAX_RULE, f"Datei nicht lesbar: {parsed}", shown, DOC_PAGE)]
    return []


def _rule_check(rule: Rule) -> Callable[[Facts, Artifacts], list[Finding]]:
    def run(facts: Facts, _artifacts: Artifacts) -> list[Finding]:
        _shown, parsed = _current(facts.matrix)
        if not isinstance(parsed, SchemaSql):
            return []  # reported once by readable()
        return rule.run(parsed, facts.matrix.plattform.rag)

    return run


CHECKS = (("RAG-Schema: SQL lesbar", readable),
          *((f"RAG-Schema: {rule.title} [{rule.name}]", _rule_check(rule)) for rule in RULES))


# --- CLI -------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("datei", nargs="?", type=Path, default=None,
                        help="SQL-Datei (Standard: die Schema-Datei der Matrix, docs/rag/schema.sql)")


def run(args: argparse.Namespace, facts: Facts) -> int:
    """Exit 0 clean, 1 on findings, 2 if the file is unreadable or not SQL."""
    matrix = facts.matrix
    file = args.datei if args.datei is not None else schema_file(matrix)
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{shown}: Datei nicht lesbar: {err}") from None
    schema = parse_schema(text, shown)  # SchemaSyntaxError is an InputError (exit 2)
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
        return EXIT_FINDINGS
    print(f"✓ {shown} erfüllt alle {len(RULES)} Regeln.")
    return EXIT_OK
