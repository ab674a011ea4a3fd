"""Read a schema file with sqlglot (postgres dialect) into a SchemaSql.

The file is tokenized once; statements are split at the semicolon tokens so
each keeps its first line. Each statement is then parsed by sqlglot, except
the few that sqlglot cannot parse and commands.py reads explicitly.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from itertools import accumulate
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from umgebungsmatrix.errors import InputError

from .commands import CommandSyntaxError, parse_command
from .structure import (
    Column, Extension, Index, IndexColumn, Policy, QualifiedName, RlsChange, SchemaSql,
    Statement, Table,
)

_DIALECT = Postgres()

# sqlglot type -> PostgreSQL's format_type() spelling.
_PG_TYPES = {
    "BIGINT": "bigint", "INT": "integer", "SMALLINT": "smallint", "TEXT": "text",
    "UUID": "uuid", "JSONB": "jsonb", "JSON": "json", "BOOLEAN": "boolean",
    "TIMESTAMPTZ": "timestamp with time zone", "TIMESTAMP": "timestamp without time zone",
    "TIMETZ": "time with time zone", "TIME": "time without time zone", "DATE": "date",
    "INTERVAL": "interval", "DOUBLE": "double precision", "FLOAT": "real",
    "DECIMAL": "numeric", "VARCHAR": "character varying", "CHAR": "character",
    "VARBINARY": "bytea", "BINARY": "bytea", "INET": "inet",
    "BIGSERIAL": "bigint", "SERIAL": "integer", "SMALLSERIAL": "smallint",
    "VECTOR": "vector",
}
_SERIALS = {"BIGSERIAL", "SERIAL", "SMALLSERIAL"}


class SchemaSyntaxError(InputError):
    """The file is not valid SQL. str() is the German message with file:line:column."""

    def __init__(self, path: str, line: int, column: int, message: str):
        self.path, self.line, self.column, self.message = path, line, column, message
        super().__init__(f"{path}:{line}:{column}: Syntaxfehler: {message}")


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning for every command it cannot parse; we report those ourselves."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Lines:
    """Line and column (1-based) of a character offset, by binary search."""

    def __init__(self, sql: str):
        self.starts = [0, *accumulate(len(line) for line in sql.split("\n"))]
        self.starts = [start + number for number, start in enumerate(self.starts)][:-1]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def _position(sql: str, offset: int) -> tuple[int, int]:
    return _Lines(sql).position(offset)


def split_statements(sql: str, path: str) -> list[list[Token]]:
    """Tokens of each statement, without the terminating semicolon."""
    tokenizer = _DIALECT.tokenizer_class(dialect=_DIALECT)
    try:
        tokens = tokenizer.tokenize(sql)
    except TokenError as err:
        core = getattr(tokenizer, "_core", None)
        offset = getattr(core, "_start", None)
        if not isinstance(offset, int):
            offset = (err.start or 0) + 50
        line, column = _position(sql, min(offset, len(sql)))
        raise SchemaSyntaxError(path, line, column, "Text nicht lesbar (nicht geschlossene Zeichenkette, "
                                "Klammer oder Kommentar?)") from None
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def _name(ident: exp.Expression | None) -> str | None:
    if ident is None:
        return None
    if isinstance(ident, exp.Identifier):
        return ident.this if ident.quoted else ident.this.lower()
    return ident.name.lower()


def _qualified(table: exp.Table) -> QualifiedName:
    return QualifiedName(_name(table.args.get("db")), _name(table.this) or "")


def pg_type(dtype: exp.DataType) -> tuple[str, str, tuple[int, ...]]:
    """(format_type spelling, base type, numeric modifiers) of a sqlglot type."""
    if dtype.this == exp.DataType.Type.ARRAY and dtype.expressions:
        inner, base, args = pg_type(dtype.expressions[0])
        return inner + "[]", base + "[]", args
    args = tuple(int(e.name) for e in dtype.expressions if e.name.isdigit())
    base = _PG_TYPES.get(dtype.this.name)
    if base is None:  # user-defined (halfvec, citext, ...): keep the source spelling
        text = dtype.sql("postgres")
        base = text.split("(")[0].strip().lower()
    if dtype.this.name in ("BIGSERIAL", "SERIAL", "SMALLSERIAL"):
        args = ()
    modifiers = f"({','.join(map(str, args))})" if args else ""
    return base + modifiers, base, args


@dataclass
class _TableDraft:
    name: QualifiedName
    line: int
    if_not_exists: bool
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique: list[tuple[str, ...]] = field(default_factory=list)
    comment: str | None = None
    rls_enabled: bool = False
    rls_forced: bool = False


def _column(coldef: exp.ColumnDef) -> tuple[Column, bool, bool]:
    """The column, whether it is the primary key, whether it is UNIQUE."""
    dtype = coldef.args.get("kind")
    type_, base, args = pg_type(dtype) if isinstance(dtype, exp.DataType) else ("", "", ())
    kinds = [c.args.get("kind") for c in coldef.args.get("constraints") or []]
    primary = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
    unique = any(isinstance(k, exp.UniqueColumnConstraint) for k in kinds)
    not_null = primary or any(
        (isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"))
        or isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds)
    not_null = not_null or (isinstance(dtype, exp.DataType) and dtype.this.name in _SERIALS)
    line = coldef.this.meta.get("line", 0) if isinstance(coldef.this, exp.Identifier) else 0
    default = next((k.this for k in kinds if isinstance(k, exp.DefaultColumnConstraint)), None)
    identity = any(isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds) or (
        isinstance(dtype, exp.DataType) and dtype.this.name in _SERIALS)
    column = Column(_name(coldef.this) or "", type_, base, args, not_null, line, default, identity)
    return column, primary, unique


def _identifiers(node: exp.Expression | None) -> tuple[str, ...]:
    if node is None:
        return ()
    items = node.expressions if isinstance(node, exp.Schema) else [node]
    return tuple(_name(i) or "" for i in items)


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.tables: dict[QualifiedName, _TableDraft] = {}
        self.indexes: list[Index] = []
        self.policies: list[Policy] = []
        self.extensions: list[Extension] = []
        self.schemas: list[tuple[str, int]] = []

    def draft(self, name: QualifiedName) -> _TableDraft | None:
        if name in self.tables:
            return self.tables[name]
        if name.schema is None:
            matches = [d for q, d in self.tables.items() if q.name == name.name]
            return matches[0] if len(matches) == 1 else None
        return None

    def add(self, node: exp.Expression, line: int) -> None:
        if isinstance(node, exp.Create):
            self._create(node, line)
        elif isinstance(node, exp.Alter) and isinstance(node.this, exp.Table):
            draft = self.draft(_qualified(node.this))
            for action in node.args.get("actions") or []:
                if draft is not None and isinstance(action, exp.ColumnDef):
                    draft.columns.append(_column(action)[0])
        elif isinstance(node, exp.Comment):
            self._comment(node)

    def _create(self, node: exp.Create, line: int) -> None:
        kind = (node.args.get("kind") or "").upper()
        target = node.this
        if kind == "SCHEMA" and isinstance(target, exp.Table):
            self.schemas.append((_name(target.args.get("db")) or _name(target.this) or "", line))
        elif kind == "TABLE" and isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            self._table(node, target, line)
        elif kind == "INDEX" and isinstance(target, exp.Index):
            self._index(node, target, line)

    def _table(self, node: exp.Create, schema: exp.Schema, line: int) -> None:
        draft = _TableDraft(_qualified(schema.this), line, bool(node.args.get("exists")))
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                column, primary, unique = _column(item)
                draft.columns.append(column)
                if primary:
                    draft.primary_key = (column.name,)
                if unique:
                    draft.unique.append((column.name,))
                continue
            inner = item.expressions[0] if isinstance(item, exp.Constraint) and item.expressions else item
            if isinstance(inner, exp.PrimaryKey):
                draft.primary_key = tuple(_name(e) or "" for e in inner.expressions)
            elif isinstance(inner, exp.UniqueColumnConstraint):
                draft.unique.append(_identifiers(inner.this))
        keys = set(draft.primary_key)
        draft.columns = [replace(c, not_null=True) if c.name in keys else c for c in draft.columns]
        self.tables.setdefault(draft.name, draft)

    def _index(self, node: exp.Create, index: exp.Index, line: int) -> None:
        params = index.args.get("params") or exp.IndexParameters()
        using = params.args.get("using")
        columns = []
        for key in params.args.get("columns") or []:
            inner = key.this if isinstance(key, exp.Ordered) else key
            opclass = None
            if isinstance(inner, exp.Opclass):
                opclass = _name(inner.expression.this if isinstance(inner.expression, exp.Table)
                                else inner.expression)
                inner = inner.this
            column = _name(inner.this) if isinstance(inner, exp.Column) else None
            columns.append(IndexColumn(column or inner.sql("postgres"), column, opclass))
        where = params.args.get("where")
        table = index.args.get("table")
        self.indexes.append(Index(
            name=_name(index.this),
            table=_qualified(table) if isinstance(table, exp.Table) else QualifiedName(None, ""),
            method=(using.name if using is not None else "btree").lower(),
            columns=tuple(columns),
            unique=bool(node.args.get("unique")),
            where=where.this.sql("postgres") if where is not None else None,
            if_not_exists=bool(node.args.get("exists")),
            line=line,
        ))

    def _comment(self, node: exp.Comment) -> None:
        kind = (node.args.get("kind") or "").upper()
        text = node.expression.name if isinstance(node.expression, exp.Literal) else None
        target = node.this
        if kind == "TABLE" and isinstance(target, exp.Table):
            draft = self.draft(_qualified(target))
            if draft is not None:
                draft.comment = text
        elif kind == "COLUMN" and isinstance(target, exp.Column):
            draft = self.draft(QualifiedName(_name(target.args.get("db")), _name(target.args.get("table")) or ""))
            if draft is not None:
                name = _name(target.this)
                draft.columns = [replace(c, comment=text) if c.name == name else c for c in draft.columns]

    def detail(self, detail) -> None:
        if isinstance(detail, Extension):
            self.extensions.append(detail)
        elif isinstance(detail, Policy):
            self.policies.append(detail)
        elif isinstance(detail, RlsChange):
            draft = self.draft(detail.table)
            if draft is not None:
                if detail.action in ("ENABLE", "DISABLE"):
                    draft.rls_enabled = detail.action == "ENABLE"
                else:
                    draft.rls_forced = detail.action == "FORCE"

    def tables_out(self) -> tuple[Table, ...]:
        indexes: dict[int, list[Index]] = {}
        policies: dict[int, list[Policy]] = {}
        for index in self.indexes:
            indexes.setdefault(id(self.draft(index.table)), []).append(index)
        for policy in self.policies:
            policies.setdefault(id(self.draft(policy.table)), []).append(policy)
        out = []
        for name, d in self.tables.items():
            out.append(Table(
                name=name, columns=tuple(d.columns), primary_key=d.primary_key, unique=tuple(d.unique),
                indexes=tuple(indexes.get(id(d), ())),
                policies=tuple(policies.get(id(d), ())),
                rls_enabled=d.rls_enabled, rls_forced=d.rls_forced, if_not_exists=d.if_not_exists,
                line=d.line, comment=d.comment))
        return tuple(out)


def _kind(node: exp.Expression, tokens: list[Token]) -> str:
    if isinstance(node, (exp.Create, exp.Drop, exp.Alter)) and node.args.get("kind"):
        verb = {exp.Create: "CREATE", exp.Drop: "DROP", exp.Alter: "ALTER"}[type(node)]
        return f"{verb} {str(node.args['kind']).upper()}"
    if isinstance(node, exp.Comment):
        return "COMMENT ON"
    return tokens[0].text.upper()


def _parse_error(err: ParseError, line: int, column: int) -> tuple[int, int, str]:
    """Line, column and German text of sqlglot's first error."""
    first = err.errors[0] if err.errors else {}
    where = f" bei „{first['highlight']}“" if first.get("highlight") else ""
    detail = first.get("description") or str(err)
    return first.get("line") or line, first.get("col") or column, f"ungültiges SQL{where} (sqlglot: {detail})"


def parse_schema(sql: str, path: str = "schema.sql") -> SchemaSql:
    """Parse the text of a schema file; raise SchemaSyntaxError on invalid SQL."""
    builder = _Builder(path)
    statements: list[Statement] = []
    parser = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE)
    lines = _Lines(sql)
    with _quiet_sqlglot():
        for number, tokens in enumerate(split_statements(sql, path)):
            first, last = tokens[0], tokens[-1]
            line, column = lines.position(first.start)
            text = sql[first.start:last.end + 1]
            try:
                handled = parse_command(tokens, sql, line)
            except CommandSyntaxError as err:
                at_line, at_column = lines.position(err.token.start)
                raise SchemaSyntaxError(path, at_line, at_column, err.message) from None
            if handled is not None:
                kind, detail = handled
                builder.detail(detail)
                statements.append(Statement(number, line, column, kind, text, None, detail))
                continue
            try:
                node = parser.parse(tokens, sql)[0]
            except ParseError as err:
                raise SchemaSyntaxError(path, *_parse_error(err, line, column)) from None
            if node is None:
                continue
            builder.add(node, line)
            statements.append(Statement(number, line, column, _kind(node, tokens), text, node,
                                        handled=not isinstance(node, exp.Command)))
    return SchemaSql(
        path=path,
        statements=tuple(statements),
        extensions=tuple(builder.extensions),
        schemas=tuple(builder.schemas),
        tables=builder.tables_out(),
        indexes=tuple(builder.indexes),
        policies=tuple(builder.policies),
        lines=sql.count("\n") + 1,
    )


def load_schema(file: Path | str | None = None, display: str | None = None) -> SchemaSql:
    """Read and parse a schema file (default: docs/rag/schema.sql).

    Raises OSError if it cannot be read, SchemaSyntaxError if it is not SQL.
    """
    from .paths import display_path, schema_file

    file = Path(file) if file is not None else schema_file()
    text = file.read_text(encoding="utf-8")
    return parse_schema(text, display or display_path(file))
