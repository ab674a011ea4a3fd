"""Macros for docs/rag/schema.md: the structure read from schema.sql, the rules, the SQL.

Everything here is rendered at build time from the parsed file and the
matrix, so the page cannot drift from either.
"""

from __future__ import annotations

from collections.abc import Callable

from mkdocs.exceptions import PluginError

from checks.schema_sql.parse import SchemaSyntaxError, load_schema
from checks.schema_sql.paths import schema_file
from checks.schema_sql.rules import OPCLASS, RULES
from checks.schema_sql.structure import Index, Policy, SchemaSql, Table
from umgebungsmatrix.matrix.model import Matrix, Rag


def _cell(text: str | None) -> str:
    """Text for a Markdown table cell: code span, pipes escaped."""
    if not text:
        return "–"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _role(table: Table, rag: Rag) -> str:
    if table.name.name in rag.retriever_tabellen:
        return "Retriever, nach Mandant getrennt"
    if table.name.name in rag.agenten_tabellen:
        return "Agenten, plattformweit"
    return "nicht zugeordnet"


def _columns(table: Table, rag: Rag) -> list[str]:
    rows = ["| Spalte | Typ | NOT NULL | Hinweis |", "|---|---|---|---|"]
    for column in table.columns:
        notes = []
        if column.name in table.primary_key:
            notes.append("Primärschlüssel")
        if column.name == rag.tenant_spalte:
            notes.append("Mandant")
        if column.comment:
            notes.append(column.comment)
        rows.append(
            f"| `{column.name}` | `{column.type}` | {'ja' if column.not_null else 'nein'} | {'; '.join(notes) or '–'} |"
        )
    return rows


SQL_BLOCK_ID = "schema-sql"  # id of the schema.sql block; pymdownx.highlight anchors its lines


def line_link(number: int, text: str | None = None) -> str:
    """A link to line N of the schema.sql block below (`#__codelineno-schema-sql-N`). Raw HTML: MkDocs
    does not see ids inside highlighted code, so it would report the anchor as missing;
    tests/test_browser.py checks that every such link has its target."""
    return f'<a href="#__codelineno-{SQL_BLOCK_ID}-{number}">{text or f"Zeile {number}"}</a>'


def _index_key(index: Index) -> str:
    return ", ".join(f"{k.expression} {k.opclass}" if k.opclass else k.expression for k in index.columns)


def _indexes(table: Table) -> list[str]:
    rows = ["| Index | Methode | Schlüssel | Zeile |", "|---|---|---|---|"]
    for index in table.indexes:
        kind = f"{index.method}, eindeutig" if index.unique else index.method
        rows.append(
            f"| `{index.name}` | {kind} | {_cell(_index_key(index))} | {line_link(index.line, str(index.line))} |"
        )
    for columns in table.unique:
        rows.append(f"| (UNIQUE-Constraint) | btree, eindeutig | {_cell(', '.join(columns))} | – |")
    return rows


def _policies(policies: tuple[Policy, ...]) -> list[str]:
    rows = ["| Policy | Befehl | USING | WITH CHECK | Zeile |", "|---|---|---|---|---|"]
    for policy in policies:
        rows.append(
            f"| `{policy.name}` | {policy.command} | {_cell(policy.using)} | "
            f"{_cell(policy.with_check)} | {line_link(policy.line, str(policy.line))} |"
        )
    return rows


def _table(table: Table, rag: Rag) -> str:
    rls = "aus"
    if table.rls_enabled:
        rls = "an (ENABLE + FORCE)" if table.rls_forced else "an (ENABLE, ohne FORCE)"
    parts = [f"### `{table.name}`", ""]
    if table.comment:
        parts += [table.comment, ""]
    parts += [
        f"Rolle: **{_role(table, rag)}** · Row Level Security: **{rls}** · definiert in {line_link(table.line)}",
        "",
    ]
    parts += _columns(table, rag) + [""]
    if table.indexes or table.unique:
        parts += _indexes(table) + [""]
    if table.policies:
        parts += _policies(table.policies) + [""]
    return "\n".join(parts)


def structure_markdown(schema: SchemaSql, rag: Rag) -> str:
    """Tables with columns, indexes and policies, as Markdown."""
    extensions = ", ".join(f"`{e.name}` ({line_link(e.line)})" for e in schema.extensions) or "keine"
    head = [
        f"{len(schema.statements)} Anweisungen, {len(schema.tables)} Tabellen, "
        f"{len(schema.indexes)} Indizes, {len(schema.policies)} Policies; Extensions: {extensions}.",
        "",
    ]
    return "\n".join(head + [_table(t, rag) for t in schema.tables])


def rules_markdown() -> str:
    return "\n".join(f"- **`{r.name}`** – {r.title}: {r.explanation}" for r in RULES)


def sql_markdown(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f'{fence}{{ .sql #{SQL_BLOCK_ID} linenums="1" title="schema.sql" }}\n{text.rstrip()}\n{fence}'


def register(env, matrix: Matrix, _page_path: Callable[[], str]) -> None:
    rag = matrix.plattform.rag

    def parsed() -> SchemaSql:
        try:
            return load_schema(schema_file(matrix))
        except SchemaSyntaxError as err:
            raise PluginError(f"RAG-Schema nicht lesbar: {err}") from None

    @env.macro
    def rag_schema_struktur() -> str:
        """Tables, columns, types, indexes and policies, read from schema.sql."""
        return structure_markdown(parsed(), rag)

    @env.macro
    def rag_schema_regeln() -> str:
        """The rules `make check` applies to schema.sql."""
        return rules_markdown()

    @env.macro
    def rag_schema_sql() -> str:
        """schema.sql as a code block (copy button from the theme)."""
        return sql_markdown(schema_file(matrix).read_text(encoding="utf-8"))

    @env.macro
    def rag_operatorklasse() -> str:
        """pgvector operator class for the distance of the matrix."""
        return OPCLASS[rag.distanz]
