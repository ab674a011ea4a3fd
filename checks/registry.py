"""The static checks of `make check`, in one explicit list.

Each check is `(title, fn)` with `fn(facts, rendered) -> list[Finding]`: it
judges the in-memory render (and files it names, such as the RAG schema),
never re-derives a matrix value. Drift (render vs. disk) is `checks.drift`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from umgebungsmatrix.facts import Facts

from .findings import Finding

CheckFn = Callable[[Facts, Mapping[str, str]], list[Finding]]


def all_checks() -> tuple[tuple[str, CheckFn], ...]:
    """The check list; imported on first use (sqlglot and jsonschema load lazily)."""
    from . import env_file, secret_scan
    from .cloudrun import consistency, guardrails
    from .compose import rules as compose_rules
    from .compose import schema as compose_schema
    from .schema_sql import register as rag_schema

    return (
        *compose_schema.CHECKS,
        *compose_rules.CHECKS,
        *rag_schema.CHECKS,
        *consistency.CHECKS,
        *guardrails.CHECKS,
        *secret_scan.CHECKS,
        *env_file.CHECKS,
    )


def run_checks(facts: Facts, rendered: Mapping[str, str]) -> list[tuple[str, list[Finding]]]:
    return [(title, fn(facts, rendered)) for title, fn in all_checks()]
