"""The rules that hold a RAG schema file against the matrix (plattform.rag).

Each rule has a static part, a function (schema, rag facts) -> (line,
message) pairs over what statements.py and sqlglot read from the file, and
most rules a semantic part in semantics.py that judges what PostgreSQL 16
really did with the file. RULES lists them with German title and
explanation (the docs page lists them from here).

`Rule.superseded`: when the file ran on PostgreSQL without errors, the
semantic findings of this rule replace its static ones (PostgreSQL is the
judge; the static reading cannot see inside DO blocks or functions). The
static message is kept where both report the same line, since it carries
the advice. Without a server, the static findings stand alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlglot import exp

from .boundary import Finding, Rag
from .statements import unknown_words
from .structure import (
    VECTOR_METHODS,
    Column,
    Extension,
    Index,
    Policy,
    PolicyDrop,
    QualifiedName,
    RlsChange,
    SchemaSql,
    Statement,
    Table,
)
from .tenancy import UNREADABLE, explain, function_bodies, tenant_filter
from .vectors import OPCLASS_PREFIXES, max_dimensions, opclass_for, opclass_type

DOC_PAGE = "rag/schema.md"
# pgvector operator class of the type vector for each distance of the matrix.
OPCLASS = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "inner_product": "vector_ip_ops"}
PGVECTOR_OPCLASS_PREFIXES = OPCLASS_PREFIXES
DATA_STATEMENTS = (exp.Insert, exp.Update, exp.Delete, exp.Copy, exp.Merge, exp.TruncateTable, exp.Select)
DATA_KINDS = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY", "VALUES", "TABLE", "SELECT", "WITH")
MIGRATION = "plattform-migrate bzw. psql --single-transaction"
# Statements PostgreSQL 16 refuses inside a transaction block (their reference pages:
# "cannot be executed inside a transaction block").
NO_TRANSACTION = {
    "VACUUM": "VACUUM",
    "CREATE DATABASE": "CREATE DATABASE",
    "DROP DATABASE": "DROP DATABASE",
    "CREATE TABLESPACE": "CREATE TABLESPACE",
    "DROP TABLESPACE": "DROP TABLESPACE",
    "ALTER SYSTEM": "ALTER SYSTEM",
    "CREATE SUBSCRIPTION": "CREATE SUBSCRIPTION",
    "DROP SUBSCRIPTION": "DROP SUBSCRIPTION",
}
ENDS_TRANSACTION = ("COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE")
STARTS_TRANSACTION = ("BEGIN", "START TRANSACTION")
SET_CONFIG_ONLY = re.compile(
    r"^SELECT\s+(?:pg_catalog\s*\.\s*)?set_config\s*\((?:[^()]|\([^()]*\))*\)\s*$", re.IGNORECASE | re.DOTALL
)

RuleFn = Callable[[SchemaSql, Rag], Iterator[tuple[int, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # German, for the check list and the docs page
    explanation: str  # German, one sentence for the docs page
    fn: RuleFn
    superseded: bool = False  # semantic findings replace the static ones after a clean run

    def run(self, schema: SchemaSql, rag: Rag) -> list[Finding]:
        return [
            Finding(self.name, message, schema.where(line), DOC_PAGE)
            for line, message in sorted(self.fn(schema, rag), key=lambda f: f[0])
        ]


RULES: list[Rule] = []


def rule(name: str, title: str, explanation: str, superseded: bool = False) -> Callable[[RuleFn], RuleFn]:
    def wrap(fn: RuleFn) -> RuleFn:
        RULES.append(Rule(name, title, explanation, fn, superseded))
        return fn

    return wrap


def suggest(word: str, known: Iterable[str]) -> str:
    """' (meinten Sie „x“?)' for the closest known name, or ''."""
    close = difflib.get_close_matches(word, [k for k in known if k != word], n=1, cutoff=0.6)
    return f" (meinten Sie „{close[0]}“?)" if close else ""


def _sql(statements: Iterable[Statement]) -> Iterator[Statement]:
    return (s for s in statements if not s.meta)


def _is_vector_index(index: Index) -> bool:
    return index.method in VECTOR_METHODS or any((c.opclass or "").startswith(OPCLASS_PREFIXES) for c in index.columns)


def _vector_columns(schema: SchemaSql) -> Iterator[tuple[Table, Column]]:
    for table in schema.tables:
        for column in table.columns:
            if column.is_vector:
                yield table, column


# --- statements PostgreSQL 16 does not know -----------------------------------------


@rule(
    "unbekannte-anweisung",
    "Nur Befehle von PostgreSQL 16",
    "Jede Anweisung beginnt mit einem Befehl von PostgreSQL 16 (CREATE TABLE, ALTER …, DO, GRANT, …); "
    "bei Tippfehlern nennt die Meldung den nächstliegenden („meinten Sie …“). Ob die Anweisung gültig ist, "
    "entscheidet PostgreSQL selbst (Regel anwendbar).",
)
def unknown_statements(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    for statement in _sql(schema.statements):
        wrong = unknown_words(statement.words)
        if wrong:
            word, close = wrong
            hint = f" (meinten Sie {close[0]}?)" if close else ""
            yield statement.line, f"„{word}“ ist kein Befehl von PostgreSQL 16{hint}"


# --- PostgreSQL runs the file ------------------------------------------------------------


@rule(
    "anwendbar",
    "PostgreSQL 16 führt die Datei aus",
    "Die Datei läuft so, wie die Migration sie ausführt (plattform-migrate schickt sie als SQL an "
    "PostgreSQL 16): ohne Byte-Order-Mark, ohne psql-Befehle (`\\restrict`, `\\connect`, …), und "
    "PostgreSQL 16 nimmt jede Anweisung an (geprüft auf einem Wegwerf-Server; Meldungen mit Zeile).",
)
def applicable(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    if schema.bom:
        yield (
            1,
            (
                "die Datei beginnt mit einem UTF-8-Byte-Order-Mark (BOM, U+FEFF): psql überspringt ihn, die "
                "Migration (plattform-migrate, auch der Cloud-Run-Job) schickt ihn mit, und PostgreSQL meldet "
                "einen Syntaxfehler in Zeile 1; als UTF-8 ohne BOM speichern"
            ),
        )
    for statement in schema.statements:
        if statement.meta:
            name = statement.words[0] if statement.words else "\\"
            yield (
                statement.line,
                (
                    f"psql-Befehl „{name}“: nur psql kennt Backslash-Befehle; die Migration "
                    "(plattform-migrate, auch der Cloud-Run-Job) schickt die Datei an PostgreSQL, "
                    "das hier einen Syntaxfehler meldet – Zeile entfernen"
                ),
            )


# --- the migration's one transaction ---------------------------------------------------


def _transaction_problem(statement: Statement, first: Statement | None, last: Statement | None) -> str | None:
    words, kind = statement.words, statement.kind
    if "CONCURRENTLY" in words[:6] and kind in ("CREATE INDEX", "DROP INDEX", "REINDEX"):
        shown = "REINDEX … CONCURRENTLY" if kind == "REINDEX" else f"{kind} CONCURRENTLY"
        return (
            f"{shown} kann nicht in einer Transaktion laufen; die Migration ({MIGRATION}) läuft in einer: "
            f"ohne CONCURRENTLY anlegen (der Bestand beginnt leer)"
        )
    if kind == "REINDEX" and len(words) > 1 and words[1] in ("SYSTEM", "DATABASE"):
        return f"REINDEX {words[1]} kann nicht in einer Transaktion laufen ({MIGRATION})"
    if kind == "CLUSTER" and len(words) == 1:
        return f"CLUSTER ohne Tabelle kann nicht in einer Transaktion laufen ({MIGRATION})"
    if kind in NO_TRANSACTION or (kind == "ALTER DATABASE" and "TABLESPACE" in words):
        return f"{NO_TRANSACTION.get(kind, kind)} kann nicht in einer Transaktion laufen ({MIGRATION})"
    if kind in STARTS_TRANSACTION and not (statement is first and last is not None and last.kind in ("COMMIT", "END")):
        return (
            f"{kind}: die Migration läuft schon in einer Transaktion ({MIGRATION}); BEGIN nur ganz am Anfang "
            "mit COMMIT ganz am Ende, sonst weglassen"
        )
    if kind in ENDS_TRANSACTION and not (kind == "ROLLBACK" and "TO" in words[:2]):
        if kind in ("COMMIT", "END") and statement is last and first is not None and first.kind in STARTS_TRANSACTION:
            return None
        return (
            f"{' '.join(words[:2]) if kind == 'PREPARE' else kind} beendet die Transaktion der Migration "
            f"vorzeitig ({MIGRATION}): was danach kommt, läuft nicht mehr atomar und ohne die Sperre der Migration"
        )
    return None


@rule(
    "transaktion",
    "Läuft in der Transaktion der Migration",
    "Die Migration wendet die Datei in einer Transaktion an; Anweisungen, die PostgreSQL 16 dort ablehnt "
    "(CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, ALTER SYSTEM, …) oder die sie beenden (COMMIT, "
    "ROLLBACK), sind verboten.",
)
def transaction(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    sql = list(_sql(schema.statements))
    first, last = (sql[0], sql[-1]) if sql else (None, None)
    for statement in sql:
        problem = _transaction_problem(statement, first, last)
        if problem:
            yield statement.line, problem


# --- the extension -------------------------------------------------------------------------


@rule(
    "extension-vor-nutzung",
    "Extension vor der ersten Nutzung",
    "`CREATE EXTENSION IF NOT EXISTS` der Matrix-Extension steht vor der ersten Vektor-Spalte "
    "und dem ersten Vektor-Index, ohne `WITH SCHEMA` außerhalb von public (sonst finden Sitzungen mit "
    "Standard-search_path den Typ vector nicht).",
)
def extension_first(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    uses = [c.line for _t, c in _vector_columns(schema) if c.base_type != "bit"]
    uses += [i.line for i in schema.indexes if _is_vector_index(i)]
    first_use = min(uses) if uses else None
    created = [e for e in schema.extensions if e.name == rag.extension]
    if not created:
        near = suggest(rag.extension, [e.name for e in schema.extensions])
        yield (
            first_use or 1,
            (
                f"die Extension „{rag.extension}“ wird nie angelegt "
                f"(CREATE EXTENSION IF NOT EXISTS {rag.extension}; vor der ersten Nutzung){near}"
            ),
        )
        return
    if first_use is not None and created[0].line > first_use:
        yield (
            first_use,
            (
                f"„{rag.extension}“ wird hier benutzt, aber erst in Zeile {created[0].line} "
                "angelegt; CREATE EXTENSION muss davor stehen"
            ),
        )
    for extension in created:
        if extension.schema not in (None, "public"):
            yield (
                extension.line,
                (
                    f"CREATE EXTENSION {extension.name} WITH SCHEMA {extension.schema}: Typ und Operatoren liegen dann "
                    f"in „{extension.schema}“, Sitzungen mit Standard-search_path (Dienste, check-stack) finden den Typ "
                    f"vector nicht; WITH SCHEMA weglassen oder public"
                ),
            )


# --- everything in the matrix's schema ------------------------------------------------------


def _references(statement: Statement) -> Iterator[QualifiedName]:
    """Relations a statement creates or refers to (not schemas, triggers, functions or types)."""
    detail = statement.detail
    if isinstance(detail, (Policy, PolicyDrop, RlsChange)):
        yield detail.table
        return
    node = statement.node
    if node is None or isinstance(detail, Extension):
        return
    kind = str(node.args.get("kind") or "").upper()
    if isinstance(node, (exp.Create, exp.Drop)) and kind in (
        "SCHEMA",
        "FUNCTION",
        "PROCEDURE",
        "TYPE",
        "EXTENSION",
        "ROLE",
        "DOMAIN",
    ):
        return
    if isinstance(node, exp.Grant) and kind not in ("", "TABLE"):
        return
    if isinstance(node, exp.Comment) and isinstance(node.this, exp.Column):
        column = node.this
        yield QualifiedName(
            column.args["db"].name.lower() if column.args.get("db") else None,
            column.args["table"].name.lower() if column.args.get("table") else "",
        )
        return
    if isinstance(node, exp.Comment) and kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW", "INDEX", "SEQUENCE"):
        return
    skip: set[int] = set()
    if isinstance(node, (exp.Drop, exp.Create)) and kind in ("TRIGGER", "POLICY", "RULE"):
        skip = {id(t) for t in node.args.get("tables") or []}
        if isinstance(node, exp.Create) and isinstance(node.this, exp.Table):
            skip.add(id(node.this))
    for table in node.find_all(exp.Table):
        if id(table) in skip or isinstance(table.parent, (exp.Opclass, exp.UserDefinedFunction)):
            continue
        if isinstance(table.this, (exp.Anonymous, exp.Func)):
            continue  # a function call in FROM
        db = table.args.get("db")
        yield QualifiedName(db.name.lower() if db else None, table.name.lower())


def _resolve(name: QualifiedName, path: tuple[str, ...] | None) -> QualifiedName:
    if name.schema is not None or not path:
        return name
    first = next((s for s in path if s not in ("$user", "pg_temp", "pg_catalog")), None)
    return QualifiedName(first, name.name) if first else name


@rule(
    "schema-rag",
    "Alles im Schema der Matrix",
    "Jede Tabelle und jeder Verweis liegt im Schema aus `plattform.rag.db_schema` (qualifiziert oder über "
    "`SET search_path`); das Schema wird vor der ersten Nutzung angelegt.",
    superseded=True,
)
def in_schema(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    wanted = rag.db_schema
    created = [line for name, line in schema.schemas if name == wanted]
    first_use = None
    for statement in _sql(schema.statements):
        for raw in dict.fromkeys(_references(statement)):
            name = _resolve(raw, statement.search_path)
            if name.schema is None:
                yield (
                    statement.line,
                    (
                        f"„{name}“ ohne Schema: RAG-Objekte liegen in „{wanted}“ "
                        f"(schreibe {wanted}.{name.name} oder setze search_path)"
                    ),
                )
            elif name.schema in ("pg_catalog", "information_schema"):
                continue
            elif name.schema != wanted:
                yield (
                    statement.line,
                    (f"„{name}“ liegt im Schema „{name.schema}“, nicht in „{wanted}“{suggest(name.schema, [wanted])}"),
                )
            elif first_use is None:
                first_use = statement.line
    if not created:
        yield first_use or 1, f"das Schema „{wanted}“ wird nie angelegt (CREATE SCHEMA IF NOT EXISTS {wanted})"
    elif first_use is not None and created[0] > first_use:
        yield first_use, f"„{wanted}“ wird hier benutzt, aber erst in Zeile {created[0]} angelegt"


# --- embeddings -----------------------------------------------------------------------------


def dimension_problem(table: str, column: str, type_: str, dimension: int | None, rag: Rag) -> str | None:
    """German message if an embedding column's type does not carry the matrix dimension."""
    wanted = rag.embedding_dimension
    base = type_.split("(", maxsplit=1)[0]
    if dimension == wanted:
        return None
    if dimension is None:
        return (
            f"{table}.{column} hat den Typ {type_} ohne Dimension; die Matrix verlangt {base}({wanted}) "
            "(plattform.rag.embedding_dimension), ohne Dimension lässt sich die Spalte nicht indizieren"
        )
    return (
        f"{table}.{column} hat den Typ {type_}, die Matrix verlangt {base}({wanted}) "
        "(plattform.rag.embedding_dimension)"
    )


@rule(
    "embedding-dimension",
    "Embedding-Spalten mit der Dimension der Matrix",
    "Jede Embedding-Spalte – erkannt am Typ vector, halfvec, sparsevec oder bit, auch schema-qualifiziert "
    "wie public.vector(N) – hat die Dimension N aus `plattform.rag.embedding_dimension`; es gibt mindestens "
    "eine.",
    superseded=True,
)
def embedding_dimension(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    found = False
    for table, column in _vector_columns(schema):
        found = True
        problem = dimension_problem(str(table.name), column.name, column.type, column.dimension, rag)
        if problem:
            yield column.line, problem
    if not found:
        yield (
            1,
            (
                f"keine Embedding-Spalte gefunden: erwartet mindestens eine Spalte "
                f"vector({rag.embedding_dimension}) (oder halfvec/sparsevec)"
            ),
        )


# --- vector indexes ----------------------------------------------------------------------------


def _key_type(key, table: Table | None) -> tuple[str | None, int | None]:
    """(pgvector type, dimension) of an index key: the column's, or the type of a cast expression."""
    if key.column and table is not None:
        column = table.column(key.column)
        if column is not None:
            return column.base_type, column.dimension
    cast = re.search(
        r"::\s*(?:public\.)?(vector|halfvec|sparsevec|bit)\s*(?:\(\s*(\d+)\s*\))?", key.expression, re.IGNORECASE
    )
    if cast:
        return cast.group(1).lower(), int(cast.group(2)) if cast.group(2) else None
    return opclass_type(key.opclass), None


def _key_columns(key, table: Table | None) -> list[str]:
    if key.column:
        return [key.column]
    if table is None:
        return []
    return [c.name for c in table.columns if re.search(rf"\b{re.escape(c.name)}\b", key.expression)]


def _duplicate_indexes(schema: SchemaSql) -> dict[int, Index]:
    """id(index) -> the earlier index with the same name in the same schema (PostgreSQL skips or fails)."""
    seen: dict[tuple[str | None, str], Index] = {}
    out: dict[int, Index] = {}
    for index in schema.indexes:
        if index.name is None:
            continue
        key = (index.table.schema, index.name)
        if key in seen:
            out[id(index)] = seen[key]
        else:
            seen[key] = index
    return out


def skipped_index_hint(schema: SchemaSql, table: str) -> str:
    """Why a CREATE INDEX of the file on `table` leaves no index: its name was taken (IF NOT EXISTS)."""
    duplicates = _duplicate_indexes(schema)
    for index in schema.indexes:
        first = duplicates.get(id(index))
        if first is not None and index.if_not_exists and str(index.table) == table:
            return (
                f"; CREATE INDEX {index.name} in Zeile {index.line} überspringt PostgreSQL: den Namen gibt es "
                f"schon (Zeile {first.line}, auf {first.table}), Indexnamen sind je Schema eindeutig"
            )
    return ""


def _index_problems(index: Index, table: Table | None, rag: Rag) -> Iterator[str]:
    name = index.name or "(ohne Namen)"
    allowed = ", ".join(rag.index_methoden)
    if index.method not in rag.index_methoden:
        yield (
            f"Index {name} nutzt „{index.method}“; für Vektoren erlaubt die Matrix "
            f"{allowed} (plattform.rag.index_methoden){suggest(index.method, rag.index_methoden)}"
        )
        return
    for key in index.columns:
        type_, dimension = _key_type(key, table)
        if type_ is None:
            continue
        wanted = opclass_for(rag.distanz, type_)
        if wanted is None:
            yield (
                f"Index {name}: Typ {type_} kennt nur Hamming- und Jaccard-Distanz (bit_hamming_ops, "
                f"bit_jaccard_ops); keine passt zur Distanz „{rag.distanz}“ der Matrix"
            )
            continue
        if key.opclass != wanted:
            shown = key.opclass or "keine (für hnsw gibt es keine Standard-Operatorklasse, für ivfflat ist es *_l2_ops)"
            yield (
                f"Index {name}: Operatorklasse {shown} passt nicht zur Distanz „{rag.distanz}“ der Matrix "
                f"für {type_}, erwartet {wanted}{suggest(key.opclass or '', [wanted])}"
            )
        if type_ == "sparsevec" and index.method == "ivfflat":
            yield f"Index {name}: ivfflat kann sparsevec nicht indizieren (nur hnsw)"
            continue
        limit = max_dimensions(index.method, type_, rag.index_max_dimension)
        if limit is not None and dimension and dimension > limit:
            yield (
                f"Index {name}: {index.method} indiziert {type_} höchstens mit {limit} Dimensionen, "
                f"{key.expression} hat {dimension} (pgvector; plattform.rag.index_max_dimension für vector)"
            )


def good_index(index: Index, key, table: Table | None, rag: Rag) -> bool:
    type_, dimension = _key_type(key, table)
    wanted = opclass_for(rag.distanz, type_ or "")
    limit = max_dimensions(index.method, type_ or "", rag.index_max_dimension)
    return (
        index.method in rag.index_methoden
        and wanted is not None
        and key.opclass == wanted
        and not (limit is not None and dimension and dimension > limit)
        and not (type_ == "sparsevec" and index.method == "ivfflat")
    )


@rule(
    "vektor-index",
    "Vektor-Index passend zur Distanz",
    "Jede Embedding-Spalte hat einen Index mit einer Methode aus `plattform.rag.index_methoden` und der "
    "Operatorklasse ihres Typs zu `plattform.rag.distanz` (vector_/halfvec_/sparsevec_…_ops), innerhalb der "
    "Grenzen von pgvector je Typ (vector 2.000, halfvec 4.000, bit 64.000 Dimensionen; sparsevec 1.000 "
    "Nicht-Null-Elemente je Zeile).",
    superseded=True,
)
def vector_index(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    duplicates = _duplicate_indexes(schema)
    for index in schema.indexes:
        earlier = duplicates.get(id(index))
        if earlier is not None and index.if_not_exists:
            yield (
                index.line,
                (
                    f"Index-Name {index.name} gibt es schon (Zeile {earlier.line}, auf {earlier.table}); "
                    f"PostgreSQL überspringt diesen Index wegen IF NOT EXISTS, {index.table} bekommt ihn "
                    "nicht – Indexnamen sind je Schema eindeutig"
                ),
            )
            continue
        if _is_vector_index(index):
            for message in _index_problems(index, schema.table(index.table), rag):
                yield index.line, message
    for table, column in _vector_columns(schema):
        usable = [i for i in table.indexes if id(i) not in duplicates or not i.if_not_exists]
        good = any(
            good_index(i, k, table, rag) for i in usable for k in i.columns if column.name in _key_columns(k, table)
        )
        if not good:
            wanted = opclass_for(rag.distanz, column.base_type) or f"einer Operatorklasse für {rag.distanz}"
            yield (
                column.line,
                (
                    f"{table.name}.{column.name} hat keinen Vektor-Index "
                    f"({' oder '.join(rag.index_methoden)} mit {wanted})"
                    f"{skipped_index_hint(schema, str(table.name))}"
                ),
            )


# --- tenants --------------------------------------------------------------------------------------


def policy_problems(
    name: str, command: str, permissive: bool, using: str | None, check: str | None, rag: Rag, functions
) -> Iterator[str]:
    """German problems of one policy on a retriever table (shared with semantics.py)."""
    if not permissive:
        return  # restrictive policies are ANDed: they can only narrow
    column, setting = rag.tenant_spalte, rag.tenant_einstellung
    if command in ("ALL", "SELECT", "UPDATE", "DELETE"):
        verdict = tenant_filter(using, column, setting, functions)
        if not verdict.ok and verdict.status != UNREADABLE:
            where = f"Policy {name} ({command}) mit USING" if using else f"Policy {name} ({command}) ohne USING"
            yield (
                explain(verdict, column, setting, where)
                + (
                    "; WITH CHECK schützt nur das Schreiben, das Lesen regelt USING"
                    if check and using is not None and tenant_filter(check, column, setting, functions).ok
                    else ""
                )
                + ("; permissive Policies werden mit OR verknüpft: jede muss selbst nach Mandant filtern")
            )
    if command in ("ALL", "INSERT", "UPDATE") and (check is not None or command == "INSERT"):
        verdict = tenant_filter(check, column, setting, functions)
        if not verdict.ok and verdict.status != UNREADABLE:
            yield (
                explain(verdict, column, setting, f"Policy {name} ({command}) mit WITH CHECK")
                + ": Zeilen fremder Mandanten ließen sich schreiben"
            )


def _retriever_table(table: Table, rag: Rag, functions, role: str = "Retriever-Tabelle") -> Iterator[tuple[int, str]]:
    column = table.column(rag.tenant_spalte)
    if column is None and table.columns:
        yield (
            table.line,
            (f"{role} {table.name} hat keine Spalte „{rag.tenant_spalte}“{_near_column(table, rag.tenant_spalte)}"),
        )
    elif column is not None and not column.not_null:
        yield column.line, f"{table.name}.{rag.tenant_spalte} muss NOT NULL sein (Mandantentrennung)"
    if not table.rls_enabled:
        yield table.line, f"{table.name}: ALTER TABLE … ENABLE ROW LEVEL SECURITY fehlt"
    if not table.rls_forced:
        yield (
            table.line,
            (
                f"{table.name}: ALTER TABLE … FORCE ROW LEVEL SECURITY fehlt "
                "(sonst umgeht der Eigentümer der Tabelle die Policy)"
            ),
        )
    readers = [p for p in table.policies if p.permissive and p.command in ("ALL", "SELECT")]
    if not any(
        tenant_filter(p.using, rag.tenant_spalte, rag.tenant_einstellung, functions).status in ("ok", UNREADABLE)
        for p in readers
    ):
        yield (
            table.line,
            (
                f"{table.name}: keine Policy mit USING auf „{rag.tenant_spalte}“ = "
                f"current_setting('{rag.tenant_einstellung}')"
            ),
        )
    for policy in table.policies:
        for problem in policy_problems(
            policy.name, policy.command, policy.permissive, policy.using, policy.with_check, rag, functions
        ):
            yield policy.line, problem


def _near_column(table: Table, wanted: str) -> str:
    close = difflib.get_close_matches(wanted, [c.name for c in table.columns], n=1, cutoff=0.6)
    return f" (Spalte „{close[0]}“ – meinten Sie „{wanted}“?)" if close else ""


def _agent_table(table: Table, rag: Rag) -> Iterator[tuple[int, str]]:
    for policy in table.policies:
        if rag.tenant_spalte in policy.columns or rag.tenant_einstellung in policy.settings:
            yield (
                policy.line,
                (f"Agenten-Tabelle {table.name} ist plattformweit, Policy {policy.name} trennt aber nach Mandant"),
            )
    if table.rls_enabled and not table.policies:
        yield (
            table.line,
            (f"Agenten-Tabelle {table.name}: RLS ohne Policy sperrt jede Zeile; Agenten-Tabellen brauchen kein RLS"),
        )


def role_of(name: QualifiedName, schema: SchemaSql, rag: Rag) -> str | None:
    """'retriever' or 'agent' for a table of the matrix, also for its partitions and children."""
    seen: set[QualifiedName] = set()
    while name not in seen:
        seen.add(name)
        if name.schema in (None, rag.db_schema):
            if name.name in rag.retriever_tabellen:
                return "retriever"
            if name.name in rag.agenten_tabellen:
                return "agent"
        table = schema.table(name)
        parent = table.partition_of or (table.inherits[0] if table.inherits else None) if table else None
        if parent is None:
            return None
        name = parent
    return None


@rule(
    "mandanten-rls",
    "Mandantentrennung nur im Retriever",
    "Tabellen aus `plattform.rag.retriever_tabellen` – samt Partitionen und erbenden Tabellen – haben die "
    "Mandanten-Spalte NOT NULL, RLS (ENABLE und FORCE) und nur permissive Policies, die in USING nach "
    "`current_setting` der Mandanten-Variable filtern (nicht nur in WITH CHECK); mit PostgreSQL zusätzlich "
    "die Probe: als Rolle ohne Eigentümerrechte sieht Mandant A keine Zeile von Mandant B. Tabellen aus "
    "`agenten_tabellen` haben keine Mandanten-Policy; jede Tabelle ist einer der beiden Rollen zugeordnet.",
    superseded=True,
)
def tenancy(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    functions = function_bodies((name, body) for name, body, _line in schema.functions)
    defined: dict[str, Table] = {}
    known = [*rag.retriever_tabellen, *rag.agenten_tabellen]
    for table in schema.tables:
        if table.name.schema not in (None, rag.db_schema):
            continue
        defined[table.name.name] = table
        role = role_of(table.name, schema, rag)
        if role == "retriever":
            inherited = table.name.name not in rag.retriever_tabellen
            yield from _retriever_table(
                table,
                rag,
                functions,
                "Partition/Kindtabelle der Retriever-Tabelle" if inherited else "Retriever-Tabelle",
            )
        elif role == "agent":
            yield from _agent_table(table, rag)
        else:
            yield (
                table.line,
                (
                    f"Tabelle {table.name} ist in der Matrix weder Retriever- noch Agenten-Tabelle "
                    f"(plattform.rag.retriever_tabellen / agenten_tabellen){suggest(table.name.name, known)}"
                ),
            )
    for name in known:
        if name not in defined:
            yield (
                1,
                (
                    f"Tabelle {rag.db_schema}.{name} aus der Matrix fehlt (CREATE TABLE IF NOT EXISTS)"
                    f"{_near_table(name, [d for d in defined if d not in known])}"
                ),
            )


def _near_table(name: str, defined) -> str:
    close = difflib.get_close_matches(name, list(defined), n=1, cutoff=0.6)
    return f" – die Datei legt „{close[0]}“ an, meinten Sie „{name}“?" if close else ""


# --- no data -----------------------------------------------------------------------------------------


def _is_set_config(statement: Statement) -> bool:
    return statement.kind == "SELECT" and bool(SET_CONFIG_ONLY.match(statement.text.strip()))


@rule(
    "keine-daten",
    "Keine Datenanweisungen",
    "Das Schema enthält keine INSERT, UPDATE, DELETE, COPY (auch nicht `COPY … FROM stdin` mit Datenzeilen, "
    "wie pg_dump sie schreibt), MERGE, TRUNCATE, SELECT (außer `set_config`) oder CREATE TABLE … AS: der "
    "Datenbestand beginnt leer; mit PostgreSQL: nach der Migration ist jede Tabelle leer.",
)
def no_data(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    for statement in _sql(schema.statements):
        node = statement.node
        if statement.copy_rows is not None:
            yield (
                statement.line,
                (
                    f"COPY … FROM stdin mit {statement.copy_rows} Datenzeile(n) (bis Zeile {statement.end_line}): "
                    "Daten gehören nicht ins Schema (Start ohne Daten); plattform-migrate kann COPY FROM stdin "
                    "außerdem nicht ausführen"
                ),
            )
            continue
        if _is_set_config(statement):
            continue
        ctas = (
            isinstance(node, exp.Create)
            and isinstance(node.args.get("expression"), exp.Query)
            and str(node.args.get("kind") or "").upper() == "TABLE"
        )
        if ctas:
            yield (
                statement.line,
                f"{statement.kind} … AS SELECT: Datenanweisungen gehören nicht ins Schema (Start ohne Daten)",
            )
        elif (
            isinstance(node, DATA_STATEMENTS)
            or (node is None and statement.kind in DATA_KINDS)
            or (isinstance(node, exp.Query) and statement.kind in DATA_KINDS)
        ):
            yield statement.line, f"{statement.kind}: Datenanweisungen gehören nicht ins Schema (Start ohne Daten)"


# --- idempotence -------------------------------------------------------------------------------------------

GUARD_ADVICE = (
    "PostgreSQL 16 kennt dafür kein IF NOT EXISTS: in einen DO-Block mit "
    "EXCEPTION WHEN duplicate_object THEN NULL einschließen"
)
NO_IF_NOT_EXISTS = (
    "CREATE TYPE",
    "CREATE ROLE",
    "CREATE USER",
    "CREATE GROUP",
    "CREATE DOMAIN",
    "CREATE CAST",
    "CREATE OPERATOR",
    "CREATE EVENT TRIGGER",
    "CREATE PUBLICATION",
    "CREATE CONVERSION",
    "CREATE LANGUAGE",
)
OR_REPLACE = (
    "CREATE FUNCTION",
    "CREATE PROCEDURE",
    "CREATE VIEW",
    "CREATE TRIGGER",
    "CREATE RULE",
    "CREATE AGGREGATE",
    "CREATE TRANSFORM",
)
_GUARDED_DO = re.compile(
    r"EXCEPTION\s+WHEN\s+(?:duplicate_object|duplicate_table|others|sqlstate\s+'42710')"
    r"|IF\s+NOT\s+EXISTS\s*\(|IF\s+EXISTS\s*\(|NOT\s+EXISTS\s*\(",
    re.IGNORECASE,
)
_DO_CREATES = re.compile(r"\bCREATE\s+(TYPE|ROLE|USER|DOMAIN)\b", re.IGNORECASE)


def _alter_problems(node: exp.Alter) -> Iterator[str]:
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef) and not action.args.get("exists"):
            yield f"ADD COLUMN {action.name} ohne IF NOT EXISTS"
        elif isinstance(action, exp.Drop) and not action.args.get("exists"):
            yield "DROP … ohne IF EXISTS"
        elif isinstance(action, exp.AddConstraint):
            yield (
                "ADD CONSTRAINT ist nicht wiederholbar (PostgreSQL 16 kennt kein IF NOT EXISTS dafür; "
                "Constraint in CREATE TABLE aufnehmen)"
            )
        elif isinstance(action, (exp.RenameColumn, exp.AlterRename)):
            yield "Umbenennen ist nicht wiederholbar"


_NAME = r'(?:"[^"]+"|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|[\w$]+))?'
_MODIFIERS = r"(?:(?:OR\s+REPLACE|UNIQUE|CONSTRAINT|TEMP|TEMPORARY|UNLOGGED|TRUSTED|PROCEDURAL|RECURSIVE)\s+)*"


def _object_name(text: str, kind: str) -> str | None:
    """Name after 'CREATE [OR REPLACE] X [IF NOT EXISTS]' / 'DROP X [IF EXISTS]', normalised."""
    verb, _, obj = kind.partition(" ")
    spaced = r"\s+".join(obj.split())
    pattern = (
        rf"^\s*{verb}\s+{_MODIFIERS}{spaced}\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
        rf"(?:CONCURRENTLY\s+)?({_NAME})"
    )
    match = re.match(pattern, text, re.IGNORECASE)
    if match is None:
        return None
    parts = re.findall(r'"([^"]+)"|([\w$]+)', match.group(1))
    return ".".join(q or w.lower() for q, w in parts)


def _opaque_idempotency(statement: Statement, dropped: set[tuple[str, str]]) -> list[str]:
    kind, words, text = statement.kind, statement.words, statement.text
    upper = " ".join(words)
    if kind == "DO":
        created = _DO_CREATES.search(text)
        if created and not _GUARDED_DO.search(text):
            return [f"DO-Block legt CREATE {created.group(1).upper()} ohne Schutz an: {GUARD_ADVICE}"]
        return []
    if kind.startswith("DROP "):
        if "IF EXISTS" not in upper:
            return [f"{kind} ohne IF EXISTS"]
        name = _object_name(text, kind)
        if name:
            dropped.add((kind[5:], name))
        return []
    if kind.startswith("CREATE "):
        if "IF NOT EXISTS" in upper or "OR REPLACE" in upper:
            return []
        if (kind[7:], _object_name(text, kind) or "") in dropped:
            return []
        if kind == "CREATE POLICY":
            name = _object_name(text, kind) or "…"
            return [f"CREATE POLICY {name} ohne vorheriges DROP POLICY IF EXISTS {name} ON …"]
        if kind in NO_IF_NOT_EXISTS:
            return [f"{kind} ohne Schutz: {GUARD_ADVICE}"]
        if kind == "CREATE TRIGGER":
            return ["CREATE TRIGGER ohne OR REPLACE (ab PostgreSQL 14) oder vorheriges DROP TRIGGER IF EXISTS"]
        if kind in OR_REPLACE:
            return [f"{kind} ohne OR REPLACE"]
        return [f"{kind} ohne IF NOT EXISTS"]
    if kind == "ALTER TABLE":
        if re.search(r"\bADD\s+CONSTRAINT\b", text, re.IGNORECASE):
            return [
                "ADD CONSTRAINT ist nicht wiederholbar (PostgreSQL 16 kennt kein IF NOT EXISTS dafür; "
                "Constraint in CREATE TABLE aufnehmen)"
            ]
        if re.search(r"\bATTACH\s+PARTITION\b", text, re.IGNORECASE):
            return [
                "ATTACH PARTITION ist nicht wiederholbar (Partition mit CREATE TABLE IF NOT EXISTS … PARTITION OF anlegen)"
            ]
        if re.search(r"\bADD\s+GENERATED\b", text, re.IGNORECASE):
            return ["ADD GENERATED … AS IDENTITY ist nicht wiederholbar (Identität in CREATE TABLE angeben)"]
        if re.search(
            r"\bADD\s+(?!CONSTRAINT\b|COLUMN\s+IF\b|IF\b)(?:COLUMN\s+)?[\w\"]", text, re.IGNORECASE
        ) and not re.search(r"\bADD\s+(?:COLUMN\s+)?IF\s+NOT\s+EXISTS\b", text, re.IGNORECASE):
            return ["ADD COLUMN ohne IF NOT EXISTS"]
        if re.search(r"\bRENAME\b", text, re.IGNORECASE):
            return ["Umbenennen ist nicht wiederholbar"]
    if kind == "ALTER TYPE" and re.search(r"\bADD\s+VALUE\b(?!\s+IF\s+NOT\s+EXISTS)", text, re.IGNORECASE):
        return ["ALTER TYPE … ADD VALUE ohne IF NOT EXISTS"]
    return []


def _idempotency_problems(statement: Statement, dropped: set[tuple[str, str]]) -> Iterable[str]:
    detail, node = statement.detail, statement.node
    if isinstance(detail, Extension) and not detail.if_not_exists:
        return [f"CREATE EXTENSION {detail.name} ohne IF NOT EXISTS"]
    if isinstance(detail, PolicyDrop):
        if not detail.if_exists:
            return [f"DROP POLICY {detail.name} ohne IF EXISTS"]
        dropped.add(("POLICY", f"{detail.name} {detail.table}"))
        dropped.add(("POLICY", detail.name))
        return []
    if isinstance(detail, Policy):
        if ("POLICY", f"{detail.name} {detail.table}") not in dropped:
            return [
                f"CREATE POLICY {detail.name} ohne vorheriges DROP POLICY IF EXISTS {detail.name} ON {detail.table}"
            ]
        return []
    if detail is not None or statement.meta:
        return []
    if node is None:
        return _opaque_idempotency(statement, dropped)
    if isinstance(node, exp.Create):
        kind = str(node.args.get("kind") or "").upper()
        if kind == "INDEX" and isinstance(node.this, exp.Index) and node.this.this is None:
            return [
                "CREATE INDEX ohne Namen legt bei jeder Anwendung einen weiteren Index an "
                "(Namen vergeben und IF NOT EXISTS)"
            ]
        if node.args.get("exists") or node.args.get("replace"):
            return []
        return _opaque_idempotency(statement, dropped)
    if isinstance(node, exp.Drop):
        if not node.args.get("exists"):
            return [f"{statement.kind} ohne IF EXISTS"]
        return _opaque_idempotency(statement, dropped)
    if isinstance(node, exp.Alter):
        return list(_alter_problems(node))
    return _opaque_idempotency(statement, dropped) if statement.kind in ("DO", "ALTER TYPE") else []


@rule(
    "idempotent",
    "Wiederholbar (idempotent)",
    "Jede Anweisung läuft ein zweites Mal ohne Fehler und ohne etwas zu ändern: CREATE … IF NOT EXISTS oder "
    "OR REPLACE, DROP … IF EXISTS, DROP POLICY IF EXISTS vor jedem CREATE POLICY; für CREATE TYPE und "
    "CREATE ROLE (in PostgreSQL 16 ohne IF NOT EXISTS) der DO-Block mit EXCEPTION WHEN duplicate_object. "
    "Mit PostgreSQL entscheidet die zweite Anwendung.",
    superseded=True,
)
def idempotent(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    dropped: set[tuple[str, str]] = set()
    for statement in _sql(schema.statements):
        for message in _idempotency_problems(statement, dropped):
            yield statement.line, f"{message}: lokale Migrationen führen die Datei bei jedem Start erneut aus"


RULE_NAMES = tuple(r.name for r in RULES)
SYNTAX_RULE = "syntax"
