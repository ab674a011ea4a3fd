"""Read a schema file into a SchemaSql: statements.py splits, sqlglot parses.

1. statements.split() finds the statements like psql does (comments, quotes,
   dollar quoting, COPY data, psql meta-commands, a byte-order mark) and
   classifies each by its leading keywords.
2. Each statement is tokenized and parsed by sqlglot (postgres dialect),
   except the few that commands.py reads explicitly. Token positions are
   shifted to the statement's place in the file, so every line number is a
   line of the file.
3. A statement sqlglot cannot parse is kept with its kind and marked
   `handled=False`: it is not an error here. PostgreSQL judges it
   (semantics.py); the static rules see only its kind.

parse_schema() raises SchemaSyntaxError only when the text cannot be split
into statements at all (a quote, dollar quote or comment that never closes).
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import Token, TokenType

from .commands import CommandSyntaxError, parse_command
from .statements import Piece, SchemaSyntaxError, split
from .structure import (
    Column,
    Extension,
    Index,
    IndexColumn,
    Policy,
    QualifiedName,
    RlsChange,
    SchemaSql,
    SearchPath,
    Statement,
    Table,
)

_DIALECT = Postgres()

# sqlglot type -> PostgreSQL's format_type() spelling.
_PG_TYPES = {
    "BIGINT": "bigint",
    "INT": "integer",
    "SMALLINT": "smallint",
    "TEXT": "text",
    "UUID": "uuid",
    "JSONB": "jsonb",
    "JSON": "json",
    "BOOLEAN": "boolean",
    "TIMESTAMPTZ": "timestamp with time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMETZ": "time with time zone",
    "TIME": "time without time zone",
    "DATE": "date",
    "INTERVAL": "interval",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DECIMAL": "numeric",
    "VARCHAR": "character varying",
    "CHAR": "character",
    "VARBINARY": "bytea",
    "BINARY": "bytea",
    "INET": "inet",
    "BIGSERIAL": "bigint",
    "SERIAL": "integer",
    "SMALLSERIAL": "smallint",
    "VECTOR": "vector",
    "BIT": "bit",
}
_SERIALS = {"BIGSERIAL", "SERIAL", "SMALLSERIAL"}
_RLS_ACTION = re.compile(r"\b(ENABLE|DISABLE|FORCE|NO\s+FORCE)\s+ROW\s+LEVEL\s+SECURITY\b", re.IGNORECASE)
_BODY = re.compile(
    r"\bAS\s+(\$[A-Za-z_0-9]*\$)(.*?)\1|\bAS\s+'((?:[^']|'')*)'|\bBEGIN\s+ATOMIC\b(.*)", re.IGNORECASE | re.DOTALL
)
_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?'
_CREATE_TABLE_NAME = re.compile(
    rf"CREATE\s+(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|UNLOGGED)\s+)*TABLE\s+(IF\s+NOT\s+EXISTS\s+)?({_NAME})", re.IGNORECASE
)
_ALTER_TABLE_NAME = re.compile(
    r'ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?)',
    re.IGNORECASE,
)


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


def split_statements(sql: str, path: str) -> list[list[Token]]:
    """sqlglot tokens of each SQL statement (psql meta-commands and COPY data left out)."""
    tokenizer = _DIALECT.tokenizer_class(dialect=_DIALECT)
    parts = split(sql, path)
    return [t for p in parts.pieces if not p.meta and (t := _tokens(tokenizer, sql, p))]


def _tokens(tokenizer, sql: str, piece: Piece) -> list[Token] | None:
    """sqlglot's tokens of one statement, positioned in the whole file; None if it cannot tokenize it."""
    try:
        tokens = tokenizer.tokenize(sql[piece.start : piece.end])
    except Exception:
        return None
    lines, columns, offset = piece.line - 1, piece.column - 1, piece.start
    for token in tokens:
        if token.line == 1:
            token.col += columns
        token.line += lines
        token.start += offset
        token.end += offset
    return tokens


def _without_only(tokens: list[Token]) -> tuple[list[Token], bool]:
    """CREATE INDEX … ON ONLY t (pg_dump): sqlglot knows the statement, not ONLY; drop the word, remember it."""
    if len(tokens) < 3 or tokens[0].text.upper() != "CREATE":
        return tokens, False
    words = [t.text.upper() for t in tokens[:3]]
    if "INDEX" not in words:
        return tokens, False
    for i, token in enumerate(tokens[:-1]):
        if token.token_type == TokenType.ON and tokens[i + 1].text.upper() == "ONLY":
            return tokens[: i + 1] + tokens[i + 2 :], True
    return tokens, False


def _name(ident: exp.Expr | None) -> str | None:
    if ident is None:
        return None
    if isinstance(ident, exp.Identifier):
        return ident.this if ident.quoted else ident.this.lower()
    return ident.name.lower()


def _qualified(table: exp.Table) -> QualifiedName:
    return QualifiedName(_name(table.args.get("db")), _name(table.this) or "")


def _user_type(dtype: exp.DataType) -> tuple[str | None, str] | None:
    """(schema, name) of a user-defined type such as public.vector or halfvec."""
    kind = dtype.args.get("kind")
    if isinstance(kind, exp.Dot):
        return _name(kind.this), _name(kind.expression) or ""
    if isinstance(kind, exp.Identifier):
        return None, _name(kind) or ""
    return None


def pg_type(dtype: exp.DataType) -> tuple[str, str, tuple[int, ...]]:
    """(format_type spelling, base type, numeric modifiers) of a sqlglot type.

    A schema prefix is left out (public.vector(1536) -> 'vector(1536)', as
    format_type() prints it with public on the search_path); see type_schema().
    """
    if dtype.this == exp.DataType.Type.ARRAY and dtype.expressions:
        inner, base, args = pg_type(dtype.expressions[0])
        return inner + "[]", base + "[]", args
    args = tuple(int(e.name) for e in dtype.expressions if e.name.isdigit())
    known = _PG_TYPES.get(dtype.this.name)
    if known is not None:
        base = known
    else:  # user-defined (halfvec, public.vector, citext, ...)
        user = _user_type(dtype)
        if user is not None:
            base = user[1]
        else:
            base = dtype.sql("postgres").split("(")[0].strip().lower()
    if dtype.this.name in _SERIALS:
        args = ()
    modifiers = f"({','.join(map(str, args))})" if args else ""
    return base + modifiers, base, args


def type_schema(dtype: exp.DataType) -> str | None:
    """The schema a type name is qualified with ('public' for public.vector(1536)), else None."""
    if dtype.this == exp.DataType.Type.ARRAY and dtype.expressions:
        return type_schema(dtype.expressions[0])
    user = _user_type(dtype)
    return user[0] if user else None


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
    partition_of: QualifiedName | None = None
    inherits: tuple[QualifiedName, ...] = ()
    partitioned: bool = False


def _column(coldef: exp.ColumnDef) -> tuple[Column, bool, bool]:
    """The column, whether it is the primary key, whether it is UNIQUE."""
    dtype = coldef.args.get("kind")
    type_, base, args = pg_type(dtype) if isinstance(dtype, exp.DataType) else ("", "", ())
    kinds = [c.args.get("kind") for c in coldef.args.get("constraints") or []]
    primary = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
    unique = any(isinstance(k, exp.UniqueColumnConstraint) for k in kinds)
    not_null = primary or any(
        (isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"))
        or isinstance(k, exp.GeneratedAsIdentityColumnConstraint)
        for k in kinds
    )
    not_null = not_null or (isinstance(dtype, exp.DataType) and dtype.this.name in _SERIALS)
    line = coldef.this.meta.get("line", 0) if isinstance(coldef.this, exp.Identifier) else 0
    default = next((k.this for k in kinds if isinstance(k, exp.DefaultColumnConstraint)), None)
    identity = any(isinstance(k, exp.GeneratedAsIdentityColumnConstraint) for k in kinds) or (
        isinstance(dtype, exp.DataType) and dtype.this.name in _SERIALS
    )
    schema = type_schema(dtype) if isinstance(dtype, exp.DataType) else None
    column = Column(_name(coldef.this) or "", type_, base, args, not_null, line, default, identity, type_schema=schema)
    return column, primary, unique


def _identifiers(node: exp.Expr | None) -> tuple[str, ...]:
    if node is None:
        return ()
    items = node.expressions if isinstance(node, exp.Schema) else [node]
    return tuple(_name(i) or "" for i in items)


def _set_config_path(node: exp.Expr) -> SearchPath | None:
    """SELECT [pg_catalog.]set_config('search_path', 'a, b', …) as pg_dump writes it."""
    if not isinstance(node, exp.Select) or len(node.expressions) != 1 or node.args.get("from"):
        return None
    call = node.expressions[0]
    if isinstance(call, exp.Dot):
        call = call.expression
    if not isinstance(call, exp.Anonymous) or call.name.lower() != "set_config" or len(call.expressions) < 2:
        return None
    name, value = call.expressions[0], call.expressions[1]
    if not (isinstance(name, exp.Literal) and name.this == "search_path" and isinstance(value, exp.Literal)):
        return None
    schemas = tuple(s.strip().strip('"') for s in value.this.split(",") if s.strip())
    return SearchPath(schemas, call.meta.get("line", 0) if hasattr(call, "meta") else 0)


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.tables: dict[QualifiedName, _TableDraft] = {}
        self.indexes: list[Index] = []
        self.policies: list[Policy] = []
        self.extensions: list[Extension] = []
        self.schemas: list[tuple[str, int]] = []
        self.functions: list[tuple[QualifiedName, str, int]] = []
        self.search_path: tuple[str, ...] | None = None

    def resolve(self, name: QualifiedName) -> QualifiedName:
        """An unqualified name after SET search_path: the schema PostgreSQL creates it in."""
        if name.schema is not None or not self.search_path:
            return name
        first = next((s for s in self.search_path if s not in ("$user", "pg_temp", "pg_catalog")), None)
        return QualifiedName(first, name.name) if first else name

    def draft(self, name: QualifiedName) -> _TableDraft | None:
        name = self.resolve(name)
        if name in self.tables:
            return self.tables[name]
        if name.schema is None:
            matches = [d for q, d in self.tables.items() if q.name == name.name]
            return matches[0] if len(matches) == 1 else None
        return None

    def add(self, node: exp.Expr, line: int) -> None:
        if isinstance(node, exp.Create):
            self._create(node, line)
        elif isinstance(node, exp.Alter) and isinstance(node.this, exp.Table):
            draft = self.draft(_qualified(node.this))
            for action in node.args.get("actions") or []:
                if draft is not None and isinstance(action, exp.ColumnDef):
                    column = _column(action)[0]
                    if draft.columns and any(c.name == column.name for c in draft.columns):
                        continue  # ADD COLUMN IF NOT EXISTS of an existing column: PostgreSQL skips it
                    draft.columns.append(column)
        elif isinstance(node, exp.Comment):
            self._comment(node)
        elif isinstance(node, exp.Select):
            path = _set_config_path(node)
            if path is not None:
                self.detail(replace(path, line=line))

    def _create(self, node: exp.Create, line: int) -> None:
        kind = (node.args.get("kind") or "").upper()
        target = node.this
        if kind == "SCHEMA" and isinstance(target, exp.Table):
            self.schemas.append((_name(target.args.get("db")) or _name(target.this) or "", line))
        elif kind == "TABLE" and isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            self._table(node, target, line)
        elif kind == "TABLE" and isinstance(target, exp.Table):
            draft = _TableDraft(self.resolve(_qualified(target)), line, bool(node.args.get("exists")))
            self._table_properties(node, draft)
            self.tables.setdefault(draft.name, draft)
        elif kind == "INDEX" and isinstance(target, exp.Index):
            self._index(node, target, line)

    def _table_properties(self, node: exp.Create, draft: _TableDraft) -> None:
        properties = node.args.get("properties")
        for prop in properties.expressions if properties else []:
            if isinstance(prop, exp.PartitionedOfProperty) and isinstance(prop.this, exp.Table):
                draft.partition_of = self.resolve(_qualified(prop.this))
            elif isinstance(prop, exp.InheritsProperty):
                draft.inherits = tuple(
                    self.resolve(_qualified(t)) for t in prop.expressions if isinstance(t, exp.Table)
                )
            elif isinstance(prop, exp.PartitionedByProperty):
                draft.partitioned = True

    def _table(self, node: exp.Create, schema: exp.Schema, line: int) -> None:
        draft = _TableDraft(self.resolve(_qualified(schema.this)), line, bool(node.args.get("exists")))
        self._table_properties(node, draft)
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

    def _index(self, node: exp.Create, index: exp.Index, line: int, only: bool = False) -> None:
        params = index.args.get("params") or exp.IndexParameters()
        using = params.args.get("using")
        columns = []
        for key in params.args.get("columns") or []:
            inner = key.this if isinstance(key, exp.Ordered) else key
            opclass = None
            if isinstance(inner, exp.Opclass):
                opclass = _name(inner.expression.this if isinstance(inner.expression, exp.Table) else inner.expression)
                inner = inner.this
            column = _name(inner.this) if isinstance(inner, exp.Column) else None
            columns.append(IndexColumn(column or inner.sql("postgres"), column, opclass))
        where = params.args.get("where")
        table = index.args.get("table")
        self.indexes.append(
            Index(
                name=_name(index.this),
                table=self.resolve(_qualified(table)) if isinstance(table, exp.Table) else QualifiedName(None, ""),
                method=(using.name if using is not None else "btree").lower(),
                columns=tuple(columns),
                unique=bool(node.args.get("unique")),
                where=where.this.sql("postgres") if where is not None else None,
                if_not_exists=bool(node.args.get("exists")),
                line=line,
                concurrently=bool(node.args.get("concurrently")),
                only=only,
            )
        )

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
            self.policies.append(replace(detail, table=self.resolve(detail.table)))
        elif isinstance(detail, SearchPath):
            self.search_path = detail.schemas
        elif isinstance(detail, RlsChange):
            draft = self.draft(detail.table)
            if draft is not None:
                if detail.action in ("ENABLE", "DISABLE"):
                    draft.rls_enabled = detail.action == "ENABLE"
                else:
                    draft.rls_forced = detail.action == "FORCE"

    def opaque(self, kind: str, text: str, line: int) -> tuple[RlsChange, ...]:
        """What the rules need from a statement sqlglot cannot parse (its columns stay unknown)."""
        if kind == "CREATE TABLE":
            table = _CREATE_TABLE_NAME.match(text)
            if table:
                draft = _TableDraft(self.resolve(_parse_name(table.group(2))), line, bool(table.group(1)))
                parent = re.search(rf"\bPARTITION\s+OF\s+({_NAME})", text, re.IGNORECASE)
                if parent:
                    draft.partition_of = self.resolve(_parse_name(parent.group(1)))
                draft.partitioned = bool(re.search(r"\)\s*PARTITION\s+BY\b", text, re.IGNORECASE))
                self.tables.setdefault(draft.name, draft)
        if kind in {"CREATE FUNCTION", "CREATE PROCEDURE"}:
            name = re.match(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+([\w$.\"]+)", text, re.IGNORECASE)
            if name:
                self._function(name.group(1), text, line)
        if kind == "ALTER TABLE":
            table = _ALTER_TABLE_NAME.match(text)
            if table:
                altered = _parse_name(table.group(1))
                changes = tuple(
                    RlsChange(altered, re.sub(r"\s+", " ", a.upper()), line) for a in _RLS_ACTION.findall(text)
                )
                for change in changes:
                    self.detail(change)
                return changes
        return ()

    def function(self, node: exp.Create, text: str, line: int) -> None:
        target = node.this
        if isinstance(target, exp.UserDefinedFunction) and isinstance(target.this, exp.Table):
            self._function(str(_qualified(target.this)), text, line)

    def _function(self, name: str, text: str, line: int) -> None:
        body = _BODY.search(text)
        if body is None:
            return
        source = next((g for g in (body.group(2), body.group(3), body.group(4)) if g is not None), "")
        self.functions.append((self.resolve(_parse_name(name)), source, line))

    def tables_out(self) -> tuple[Table, ...]:
        indexes: dict[int, list[Index]] = {}
        policies: dict[int, list[Policy]] = {}
        for index in self.indexes:
            indexes.setdefault(id(self.draft(index.table)), []).append(index)
        for policy in self.policies:
            policies.setdefault(id(self.draft(policy.table)), []).append(policy)
        out = []
        for name, d in self.tables.items():
            out.append(
                Table(
                    name=name,
                    columns=tuple(d.columns),
                    primary_key=d.primary_key,
                    unique=tuple(d.unique),
                    indexes=tuple(indexes.get(id(d), ())),
                    policies=tuple(policies.get(id(d), ())),
                    rls_enabled=d.rls_enabled,
                    rls_forced=d.rls_forced,
                    if_not_exists=d.if_not_exists,
                    line=d.line,
                    comment=d.comment,
                    partition_of=d.partition_of,
                    inherits=d.inherits,
                    partitioned=d.partitioned,
                )
            )
        return tuple(out)


def _parse_name(text: str) -> QualifiedName:
    """'rag.chunks', '"Rag"."x"', 'chunks' -> QualifiedName (unquoted parts folded to lower case)."""
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."\s(]+)', text)
    names = [q.replace('""', '"') if q else w.lower() for q, w in parts][:2]
    if len(names) == 2:
        return QualifiedName(names[0], names[1])
    return QualifiedName(None, names[0] if names else "")


def parse_schema(sql: str, path: str = "schema.sql") -> SchemaSql:
    """Parse the text of a schema file.

    Raises SchemaSyntaxError only if the text cannot be split into
    statements (a string, quoted name, dollar quote or comment never
    closes); any statement sqlglot cannot parse is kept, unparsed.
    """
    parts = split(sql, path)
    collect = gc.isenabled()
    gc.disable()  # sqlglot builds many small trees; cyclic GC passes in between cost a third of the time
    try:
        return _parse(sql, path, parts)
    finally:
        if collect:
            gc.enable()


def _parse(sql: str, path: str, parts) -> SchemaSql:
    builder = _Builder(path)
    statements: list[Statement] = []
    tokenizer = _DIALECT.tokenizer_class(dialect=_DIALECT)
    parser = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE)
    with _quiet_sqlglot():
        for number, piece in enumerate(parts.pieces):
            text = sql[piece.start : piece.end]
            common = dict(
                end_line=piece.end_line,
                words=piece.words,
                search_path=builder.search_path,
                copy_rows=piece.data_rows if piece.data is not None else None,
            )
            if piece.meta:
                statements.append(Statement(number, piece.line, piece.column, piece.kind, text, meta=True, **common))
                continue
            tokens = _tokens(tokenizer, sql, piece)
            details = None
            if tokens:
                try:
                    details = parse_command(tokens, sql, piece.line)
                except CommandSyntaxError:
                    details = None
            if details:
                for detail in details:
                    builder.detail(detail)
                statements.append(
                    Statement(
                        number, piece.line, piece.column, piece.kind, text, None, details[0], details=details, **common
                    )
                )
                continue
            node = None
            only = False
            if tokens:
                tokens, only = _without_only(tokens)
                try:
                    node = parser.parse(tokens, sql)[0]
                except Exception:
                    node = None
            if node is None or isinstance(node, exp.Command):
                changes = builder.opaque(piece.kind, text, piece.line)
                statements.append(
                    Statement(
                        number,
                        piece.line,
                        piece.column,
                        piece.kind,
                        text,
                        None,
                        changes[0] if changes else None,
                        handled=False,
                        details=changes,
                        **common,
                    )
                )
                continue
            if only and isinstance(node, exp.Create) and isinstance(node.this, exp.Index):
                builder._index(node, node.this, piece.line, only=True)
            else:
                builder.add(node, piece.line)
            if isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() in ("FUNCTION", "PROCEDURE"):
                builder.function(node, text, piece.line)
            statements.append(Statement(number, piece.line, piece.column, piece.kind, text, node, **common))
    return SchemaSql(
        path=path,
        statements=tuple(statements),
        extensions=tuple(builder.extensions),
        schemas=tuple(builder.schemas),
        tables=builder.tables_out(),
        indexes=tuple(builder.indexes),
        policies=tuple(builder.policies),
        lines=sql.count("\n") + 1,
        bom=parts.bom,
        functions=tuple(builder.functions),
    )


def load_schema(file: Path | str | None = None, display: str | None = None) -> SchemaSql:
    """Read and parse a schema file (default: docs/rag/schema.sql).

    Raises OSError/UnicodeDecodeError if it cannot be read, SchemaSyntaxError
    if it cannot be split into statements.
    """
    from .paths import display_path, schema_file

    file = Path(file) if file is not None else schema_file()
    text = file.read_text(encoding="utf-8")
    return parse_schema(text, display or display_path(file))


__all__ = ["SchemaSyntaxError", "load_schema", "parse_schema", "pg_type", "split_statements", "type_schema"]
