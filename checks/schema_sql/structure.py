"""The parsed structure of a schema file: plain, frozen dataclasses.

This is the public API other checks compare against (for example the live
stack check holds the catalog of a running database against it):

    from checks.schema_sql import load_schema
    schema = load_schema()                     # docs/rag/schema.sql
    chunks = schema.table("rag.chunks")
    chunks.column("embedding").type           # 'vector(N)'
    [(i.method, i.columns[0].opclass) for i in chunks.indexes]
    chunks.rls_enabled, [p.name for p in chunks.policies]

Types are spelled as PostgreSQL's format_type() prints them ('integer',
'timestamp with time zone', 'vector(N)'), so they compare 1:1 with
pg_attribute. Names are folded to lower case like PostgreSQL does for
unquoted identifiers. Line numbers are 1-based lines of the schema file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Types an embedding column can have: pgvector's vector, halfvec and sparsevec,
# and PostgreSQL's bit (binary vectors). pgvector README, "Half-Precision
# Vectors", "Binary Vectors", "Sparse Vectors" (pgvector 0.7+).
VECTOR_TYPES = ("vector", "halfvec", "sparsevec", "bit")
# pgvector's approximate index methods.
VECTOR_METHODS = ("hnsw", "ivfflat")


@dataclass(frozen=True, order=True)
class QualifiedName:
    """`schema.name`; schema is None when the SQL leaves it to the search_path."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type() spelling, e.g. 'vector(N)', 'uuid', 'text[]'
    base_type: str  # type without modifiers, e.g. 'vector'
    type_args: tuple[int, ...]  # numeric modifiers, e.g. (N,) for vector(N)
    not_null: bool  # NOT NULL, part of the primary key, identity or serial
    line: int
    default_node: Any = field(default=None, repr=False, compare=False)  # sqlglot tree of DEFAULT
    identity: bool = False  # GENERATED ... AS IDENTITY or serial: the database fills it
    comment: str | None = None
    type_schema: str | None = None  # 'public' for public.vector(1536) (pg_dump style), else None

    @property
    def default(self) -> str | None:
        """DEFAULT expression as sqlglot writes it (now() -> CURRENT_TIMESTAMP); None without one."""
        return None if self.default_node is None else self.default_node.sql("postgres")

    @property
    def is_vector(self) -> bool:
        """An embedding column: found by its type (vector, halfvec, sparsevec, bit), never by its name."""
        return self.base_type in VECTOR_TYPES

    @property
    def dimension(self) -> int | None:
        """The N of vector(N)/halfvec(N)/sparsevec(N)/bit(N); None otherwise."""
        return self.type_args[0] if self.is_vector and self.type_args else None


@dataclass(frozen=True)
class IndexColumn:
    expression: str  # a column name, or the SQL of an expression
    column: str | None  # the column name when the key is a plain column
    opclass: str | None  # operator class, None for the method's default


@dataclass(frozen=True)
class Index:
    """An index from CREATE INDEX (not the implicit ones of PRIMARY KEY/UNIQUE)."""

    name: str | None
    table: QualifiedName
    method: str  # access method, lower case; 'btree' when USING is absent
    columns: tuple[IndexColumn, ...]
    unique: bool
    where: str | None  # predicate of a partial index
    if_not_exists: bool
    line: int
    concurrently: bool = False  # CREATE INDEX CONCURRENTLY: cannot run inside a transaction
    only: bool = False  # ON ONLY: the partitioned table alone (pg_dump), partitions attach later


@dataclass(frozen=True)
class Policy:
    """A row level security policy from CREATE POLICY."""

    name: str
    table: QualifiedName
    command: str  # ALL, SELECT, INSERT, UPDATE or DELETE
    permissive: bool
    roles: tuple[str, ...]  # ('public',) when TO is absent
    using: str | None  # SQL of the USING expression
    with_check: str | None  # SQL of the WITH CHECK expression
    columns: tuple[str, ...]  # columns the expressions reference
    settings: tuple[str, ...]  # names read with current_setting('...')
    line: int


@dataclass(frozen=True)
class PolicyDrop:
    name: str
    table: QualifiedName
    if_exists: bool
    line: int


@dataclass(frozen=True)
class RlsChange:
    """ALTER TABLE ... {ENABLE|DISABLE|FORCE|NO FORCE} ROW LEVEL SECURITY."""

    table: QualifiedName
    action: str  # 'ENABLE', 'DISABLE', 'FORCE' or 'NO FORCE'
    line: int


@dataclass(frozen=True)
class SearchPath:
    """SET search_path … or SELECT set_config('search_path', …): where unqualified names go."""

    schemas: tuple[str, ...]  # in order; () for '' (pg_dump: nothing unqualified)
    line: int


@dataclass(frozen=True)
class Extension:
    name: str
    schema: str | None
    if_not_exists: bool
    line: int


@dataclass(frozen=True)
class Table:
    name: QualifiedName
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...]  # UNIQUE constraints (column lists)
    indexes: tuple[Index, ...]  # CREATE INDEX ... ON this table
    policies: tuple[Policy, ...]
    rls_enabled: bool
    rls_forced: bool
    if_not_exists: bool
    line: int
    comment: str | None = None
    partition_of: QualifiedName | None = None  # CREATE TABLE … PARTITION OF parent
    inherits: tuple[QualifiedName, ...] = ()  # CREATE TABLE … INHERITS (parent, …)
    partitioned: bool = False  # CREATE TABLE … PARTITION BY …

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Statement:
    """One statement of the file, in order.

    `kind` comes from the statement's leading keywords (statements.classify),
    whether or not sqlglot can parse it. `node` is sqlglot's tree; it is None
    for the statements read by the explicit parsers (CREATE EXTENSION,
    CREATE/DROP POLICY, ALTER TABLE ... ROW LEVEL SECURITY, SET search_path),
    whose result is in `detail` (all of them in `details`), and for
    statements sqlglot cannot parse. `handled` is False for a statement
    whose inside no parser understands: the static rules see only its kind;
    PostgreSQL judges it (semantics.py).
    """

    index: int
    line: int
    column: int
    kind: str  # e.g. 'CREATE TABLE', 'CREATE POLICY', 'INSERT', 'psql \restrict'
    text: str
    node: Any = None  # sqlglot.exp.Expr
    detail: Extension | Policy | PolicyDrop | RlsChange | SearchPath | None = None
    handled: bool = True
    end_line: int = 0  # last line (with COPY data: the `\.` line)
    words: tuple[str, ...] = ()  # leading keywords, upper case
    meta: bool = False  # a psql meta-command (`\restrict …`), not SQL
    copy_rows: int | None = None  # COPY … FROM stdin: number of data lines that follow
    search_path: tuple[str, ...] | None = None  # search_path in effect (None: server default)
    details: tuple[Any, ...] = ()  # every explicit result (ALTER TABLE … ENABLE …, FORCE …)


@dataclass(frozen=True)
class SchemaSql:
    """Everything the schema file declares, in file order."""

    path: str  # as shown in messages, e.g. 'docs/rag/schema.sql'
    statements: tuple[Statement, ...]
    extensions: tuple[Extension, ...]
    schemas: tuple[tuple[str, int], ...]  # (name, line) of CREATE SCHEMA
    tables: tuple[Table, ...]
    indexes: tuple[Index, ...]  # all CREATE INDEX, also on tables not created here
    policies: tuple[Policy, ...]  # all CREATE POLICY
    lines: int = field(default=0)  # number of lines of the file
    bom: bool = False  # the file starts with a UTF-8 byte-order mark
    functions: tuple[tuple[QualifiedName, str, int], ...] = ()  # (name, body text, line) of CREATE FUNCTION
    _by_name: dict[QualifiedName, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.name: t for t in reversed(self.tables)})

    def table(self, name: str | QualifiedName) -> Table | None:
        """Look a table up by 'schema.name', by bare name, or by QualifiedName."""
        if isinstance(name, str):
            schema, _, bare = name.rpartition(".")
            key = QualifiedName(schema or None, bare)
        else:
            key = name
        if key in self._by_name:
            return self._by_name[key]
        if key.schema is None:
            return next((t for t in self.tables if t.name.name == key.name), None)
        return None

    def where(self, line: int, column: int | None = None) -> str:
        return f"{self.path}:{line}" + (f":{column}" if column else "")
