"""One complete schema check: the static rules, then PostgreSQL's verdict, merged rule by rule.

    report = check_schema_text(text, "docs/rag/schema.sql", rag)       # starts a throw-away server
    report = check_schema_text(text, path, rag, semantics=False)      # static rules only
    report.findings, report.semantic, report.skipped

Merging (see rules.Rule.superseded): after a clean first application, a
superseded rule reports what PostgreSQL showed, worded with the static
message where both name the same line; otherwise static and semantic
findings are joined (one per line and rule, the static one first). A
semantic `anwendbar` finding on a line a static rule already explains
(unknown keyword, psql command, COPY, CONCURRENTLY, extension order) is
left out: it is the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .boundary import Finding, Rag, scratch_postgres, scratch_unavailable
from .parse import parse_schema
from .rules import RULES, Rule
from .semantics import PROBE, SemanticResult, run_semantics
from .structure import SchemaSql

EXPLAINS_FAILURE = (
    "unbekannte-anweisung",
    "anwendbar",
    "transaktion",
    "keine-daten",
    "extension-vor-nutzung",
    "vektor-index",
    "embedding-dimension",
)


@dataclass
class RuleResult:
    rule: Rule
    findings: list[Finding]


@dataclass
class SchemaReport:
    path: str
    schema: SchemaSql
    results: list[RuleResult] = field(default_factory=list)
    semantic: SemanticResult | None = None
    skipped: str | None = None  # German: why PostgreSQL did not judge the file

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]


def _line(finding: Finding) -> int:
    try:
        return int(finding.where.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0


def merge(
    rule: Rule, static: list[Finding], semantic: list[Finding], clean: bool, explained: set[int]
) -> list[Finding]:
    """The findings of one rule from its static and semantic findings (module docstring)."""
    static_at: dict[int, list[Finding]] = {}
    for finding in static:
        static_at.setdefault(_line(finding), []).append(finding)
    if rule.name == "anwendbar":
        semantic = [f for f in semantic if _line(f) not in explained]
    out: list[Finding] = []
    used: set[int] = set()
    if clean and rule.superseded:
        for finding in semantic:
            line = _line(finding)
            if finding.message.startswith(PROBE):
                out.append(finding)  # evidence of its own, never folded into a static message
            elif line in static_at:
                if line not in used:
                    out += static_at[line]
                    used.add(line)
            else:
                out.append(finding)
    else:
        out = list(static)
        lines = set(static_at)
        for finding in semantic:
            if _line(finding) not in lines:
                out.append(finding)
    return sorted(out, key=_line)


def check_schema_text(
    text: str, path: str, rag: Rag, *, semantics: bool = True, server=None, progress=None
) -> SchemaReport:
    """Static rules and (semantics=True) PostgreSQL's verdict on `text`.

    server: a running ScratchServer to use; None starts a throw-away one
    (checks/servers/scratch.py) and stops it again. When none can start, the
    static rules stand alone and `skipped` says why. Raises
    SchemaSyntaxError if the text cannot be split into statements.
    """
    schema = parse_schema(text, path)
    report = SchemaReport(path, schema)
    static = {rule.name: rule.run(schema, rag) for rule in RULES}
    semantic: SemanticResult | None = None
    if semantics:
        try:
            if server is not None:
                semantic = run_semantics(text, rag, server, path, schema)
            else:
                with scratch_postgres(progress) as started:
                    semantic = run_semantics(text, rag, started, path, schema)
        except scratch_unavailable() as exc:
            report.skipped = f"kein PostgreSQL zum Prüfen: {exc}"
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            report.skipped = (
                f"die Prüfung mit PostgreSQL brach ab ({type(exc).__name__}: {first}); "
                "bitte als Fehler der Prüfung melden"
            )
    else:
        report.skipped = "mit --ohne-postgres abgeschaltet"
    report.semantic = semantic
    explained = {_line(f) for name in EXPLAINS_FAILURE for f in static[name]}
    for rule in RULES:
        found = static[rule.name]
        if semantic is not None:
            found = merge(rule, found, semantic.for_rule(rule.name), semantic.clean, explained)
        report.results.append(RuleResult(rule, found))
    return report
