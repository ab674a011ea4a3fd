"""The live catalog of one database schema, read from pg_catalog.

Two views of the same catalog:
- `read_tables()`: structured (columns with format_type, indexes with access
  method and operator classes, RLS flags, policies), to compare with the
  parsed schema file;
- `fingerprint()`: one canonical text line per object (pg_get_indexdef,
  pg_get_constraintdef, ...), to compare two databases exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
"""
_INDEXES = """
SELECT ic.relname, t.relname, am.amname, i.indisunique,
       EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid) AS backs_constraint,
       array_agg(opc.opcname ORDER BY k.ord) AS opclasses,
       array_agg(opc.opcdefault ORDER BY k.ord) AS defaults,
       array_agg(pg_get_indexdef(i.indexrelid, k.ord::int, true) ORDER BY k.ord) AS keys
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL unnest(i.indclass::oid[]) WITH ORDINALITY AS k(opc_oid, ord)
JOIN pg_opclass opc ON opc.oid = k.opc_oid
WHERE n.nspname = %(schema)s
GROUP BY ic.relname, t.relname, am.amname, i.indisunique, i.indexrelid
"""
_POLICIES = "SELECT tablename, policyname FROM pg_policies WHERE schemaname = %(schema)s"

_FINGERPRINT = {
    "Tabelle": """
        SELECT format('%%s relkind=%%s rls=%%s force=%%s comment=%%L', c.relname, c.relkind,
                      c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class'))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND c.relkind NOT IN ('i', 'I')""",
    "Spalte": """
        SELECT format('%%s.%%s %%s notnull=%%s default=%%s identity=%%L comment=%%L', c.relname, a.attname,
                      format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                      a.attidentity, col_description(c.oid, a.attnum))
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0
          AND NOT a.attisdropped""",
    "Constraint": """
        SELECT format('%%s %%s: %%s', con.conrelid::regclass, con.conname, pg_get_constraintdef(con.oid))
        FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE n.nspname = %(schema)s""",
    "Index": """
        SELECT pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = %(schema)s""",
    "Policy": """
        SELECT format('%%s.%%s %%s %%s roles=%%s using=%%s check=%%s', tablename, policyname, permissive, cmd,
                      roles, qual, with_check)
        FROM pg_policies WHERE schemaname = %(schema)s""",
    "Extension": "SELECT format('%%s %%s in %%s', extname, extversion, extnamespace::regnamespace) FROM pg_extension",
    "Schema": "SELECT nspname FROM pg_namespace WHERE nspname = %(schema)s",
}


@dataclass(frozen=True)
class LiveIndex:
    name: str
    table: str
    method: str
    unique: bool
    backs_constraint: bool  # the index of a PRIMARY KEY/UNIQUE constraint
    opclasses: tuple[str, ...]
    default_opclass: tuple[bool, ...]
    keys: tuple[str, ...]


@dataclass
class LiveTable:
    name: str
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name -> (format_type, not null)
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: set[str] = field(default_factory=set)
    indexes: dict[str, LiveIndex] = field(default_factory=dict)


def read_tables(conn, schema: str) -> dict[str, LiveTable]:
    params = {"schema": schema}
    tables: dict[str, LiveTable] = {}
    for name, rls, force in conn.execute(_TABLES, params):
        tables[name] = LiveTable(name, rls_enabled=rls, rls_forced=force)
    for table, column, type_, not_null in conn.execute(_COLUMNS, params):
        tables[table].columns[column] = (type_, not_null)
    for name, table, method, unique, backs, opclasses, defaults, keys in conn.execute(_INDEXES, params):
        tables[table].indexes[name] = LiveIndex(
            name, table, method, unique, backs, tuple(opclasses), tuple(defaults), tuple(keys)
        )
    for table, policy in conn.execute(_POLICIES, params):
        tables[table].policies.add(policy)
    return tables


def fingerprint(conn, schema: str) -> set[str]:
    """Every object of `schema` (and the extensions) as a canonical text line."""
    lines: set[str] = set()
    for kind, query in _FINGERPRINT.items():
        for (text,) in conn.execute(query, {"schema": schema}):
            lines.add(f"{kind} {text}")
    return lines
