"""`make check` and `umgebungsmatrix schema-check`: the rules on docs/rag/schema.sql.

`make check` runs the static part of every rule, each as its own check in
CHECKS (the file is read and parsed once per content, cached), so it stays
fast and needs no database. `schema-check` runs the static rules and then
PostgreSQL's verdict (semantics.py) on a throw-away server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK, InputError, file_reason
from umgebungsmatrix.facts import Facts

from .boundary import Finding, Matrix
from .parse import SchemaSyntaxError, parse_schema
from .paths import display_path, schema_file
from .rules import DOC_PAGE, RULES, SYNTAX_RULE, Rule
from .structure import SchemaSql

Artifacts = Mapping[str, str]


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
        return shown, OSError(file_reason(err))
    return shown, _parsed(text, shown)


def readable(facts: Facts, _artifacts: Artifacts) -> list[Finding]:
    shown, parsed = _current(facts.matrix)
    if isinstance(parsed, SchemaSyntaxError):
        return [
            Finding(
                SYNTAX_RULE,
                f"nicht in Anweisungen zerlegbar: {parsed.message}",
                f"{parsed.path}:{parsed.line}:{parsed.column}",
                DOC_PAGE,
            )
        ]
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


CHECKS = (
    ("RAG-Schema: SQL lesbar", readable),
    *((f"RAG-Schema: {rule.title} [{rule.name}]", _rule_check(rule)) for rule in RULES),
)


# --- CLI -------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "datei",
        nargs="?",
        type=Path,
        default=None,
        help="SQL-Datei (Standard: die Schema-Datei der Matrix, docs/rag/schema.sql)",
    )
    parser.add_argument(
        "--ohne-postgres",
        action="store_true",
        help="nur die statischen Regeln, ohne Wegwerf-PostgreSQL (schneller, aber ohne Urteil "
        "von PostgreSQL über Gültigkeit, Wiederholbarkeit und Mandantentrennung)",
    )


def _semantic_line(report: Any) -> str:
    semantic = report.semantic
    if semantic is None:
        return (
            f"⚠ Semantische Regeln übersprungen ({report.skipped}): nur die statischen Regeln liefen; "
            "ob PostgreSQL die Datei annimmt und Mandanten trennt, ist damit nicht geprüft."
        )
    if not semantic.clean:
        return f"{semantic.server}: Datei angewendet, PostgreSQL lehnt Anweisungen ab ({semantic.seconds:.2f} s)"
    probed = ", ".join(semantic.probed) or "keine Tabelle"
    return (
        f"{semantic.server}: zweimal angewendet, Katalog gelesen, Mandanten-Probe auf {probed} "
        f"({semantic.seconds:.2f} s)"
    )


def run(args: argparse.Namespace, facts: Facts) -> int:
    """Exit 0 clean, 1 on findings; InputError (exit 2) if the file is unreadable or cannot be split."""
    matrix = facts.matrix
    file = args.datei if args.datei is not None else schema_file(matrix)
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{shown}: Datei nicht lesbar: {file_reason(err)}") from None
    from .report import check_schema_text  # PostgreSQL only for this command, not for `make check`

    # SchemaSyntaxError is an InputError (exit 2)
    report = check_schema_text(
        text,
        shown,
        matrix.plattform.rag,
        semantics=not args.ohne_postgres,
        progress=lambda m: print(m, file=sys.stderr),
    )
    schema = report.schema
    print(
        f"{shown}: {len(schema.statements)} Anweisungen, {len(schema.tables)} Tabellen, "
        f"{len(schema.indexes)} Indizes, {len(schema.policies)} Policies"
    )
    print(_semantic_line(report))
    for note in report.semantic.notes if report.semantic else []:
        print(f"  Hinweis: {note}")
    total = 0
    for result in report.results:
        total += len(result.findings)
        print(f"{'✗' if result.findings else '✓'} {result.rule.name}: {result.rule.title}")
        for finding in result.findings:
            print(f"    {finding.format()}")
    if total:
        print(f"{total} Verstoß/Verstöße in {shown}.")
        return EXIT_FINDINGS
    scope = "" if report.semantic is not None else " (nur statisch)"
    print(f"✓ {shown} erfüllt alle {len(RULES)} Regeln{scope}.")
    return EXIT_OK
