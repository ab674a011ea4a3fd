"""The rules that hold docs/rag/schema.sql against the matrix (plattform.rag).

Each rule is a function (schema, rag facts) -> findings, registered in RULES
with a German title and explanation; the docs page lists them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from sqlglot import exp

from checks.findings import Finding
from umgebungsmatrix.matrix.model import Rag

from .structure import (
    VECTOR_METHODS, Column, Extension, Index, Policy, PolicyDrop, QualifiedName, RlsChange,
    SchemaSql, Statement, Table,
)

DOC_PAGE = "rag/schema.md"
# pgvector operator class of the type vector for each distance of the matrix.
OPCLASS = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "inner_product": "vector_ip_ops"}
PGVECTOR_OPCLASS_PREFIXES = ("vector_", "halfvec_", "sparsevec_", "bit_")
DATA_STATEMENTS = (exp.Insert, exp.Update, exp.Delete, exp.Copy, exp.Merge, exp.TruncateTable, exp.Select)
EXPLICIT = "CREATE EXTENSION, CREATE POLICY, DROP POLICY, ALTER TABLE … ROW LEVEL SECURITY"

RuleFn = Callable[[SchemaSql, Rag], Iterator[tuple[int, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # German, for the check list and the docs page
    explanation: str  # German, one sentence for the docs page
    fn: RuleFn

    def run(self, schema: SchemaSql, rag: Rag) -> list[Finding]:
        return [Finding(self.name, message, schema.where(line), DOC_PAGE)
                for line, message in sorted(self.fn(schema, rag), key=lambda f: f[0])]


RULES: list[Rule] = []


def rule(name: str, title: str, explanation: str) -> Callable[[RuleFn], RuleFn]:
    def wrap(fn: RuleFn) -> RuleFn:
        RULES.append(Rule(name, title, explanation, fn))
        return fn

    return wrap


def _is_vector_index(index: Index) -> bool:
    return index.method in VECTOR_METHODS or any(
        (c.opclass or "").startswith(PGVECTOR_OPCLASS_PREFIXES) for c in index.columns)


def _vector_columns(schema: SchemaSql) -> Iterator[tuple[Table, Column]]:
    for table in schema.tables:
        for column in table.columns:
            if column.is_vector:
                yield table, column


def _embedding_columns(schema: SchemaSql) -> Iterator[tuple[Table, Column]]:
    for table in schema.tables:
        for column in table.columns:
            if column.is_vector or column.name.startswith("embedding"):
                yield table, column


@rule("unbekannte-anweisung", "Nur prüfbare Anweisungen",
      "Anweisungen, die sqlglot nur als undurchsichtigen Befehl kennt (etwa DO-Blöcke), sind verboten, "
      f"außer den ausdrücklich gelesenen: {EXPLICIT}.")
def unknown_statements(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    for statement in schema.statements:
        if not statement.handled:
            head = statement.text.split(None, 2)[:2]
            yield statement.line, (
                f"„{' '.join(head)} …“ ist für die Prüfung undurchsichtig (sqlglot: exp.Command); "
                f"erlaubt sind von sqlglot verstandene Anweisungen und {EXPLICIT}")


@rule("extension-vor-nutzung", "Extension vor der ersten Nutzung",
      "`CREATE EXTENSION IF NOT EXISTS` der Matrix-Extension steht vor der ersten Vektor-Spalte "
      "und dem ersten Vektor-Index.")
def extension_first(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    uses = [c.line for _t, c in _vector_columns(schema)] + [i.line for i in schema.indexes if _is_vector_index(i)]
    first_use = min(uses) if uses else None
    created = [e for e in schema.extensions if e.name == rag.extension]
    if not created:
        yield first_use or 1, (f"die Extension „{rag.extension}“ wird nie angelegt "
                               f"(CREATE EXTENSION IF NOT EXISTS {rag.extension}; vor der ersten Nutzung)")
    elif first_use is not None and created[0].line > first_use:
        yield first_use, (f"„{rag.extension}“ wird hier benutzt, aber erst in Zeile {created[0].line} "
                          "angelegt; CREATE EXTENSION muss davor stehen")


def _references(statement: Statement) -> Iterator[QualifiedName]:
    """Tables (and other relations) a statement creates or refers to."""
    detail = statement.detail
    if isinstance(detail, (Policy, PolicyDrop, RlsChange)):
        yield detail.table
        return
    node = statement.node
    if node is None or isinstance(detail, Extension):
        return
    if isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() == "SCHEMA":
        return
    if isinstance(node, exp.Comment) and isinstance(node.this, exp.Column):
        column = node.this
        yield QualifiedName(column.args["db"].name.lower() if column.args.get("db") else None,
                            column.args["table"].name.lower() if column.args.get("table") else "")
        return
    for table in node.find_all(exp.Table):
        if isinstance(table.parent, exp.Opclass):
            continue
        db = table.args.get("db")
        yield QualifiedName(db.name.lower() if db else None, table.name.lower())


@rule("schema-rag", "Alles im Schema der Matrix",
      "Jede Tabelle und jeder Verweis ist mit dem Schema aus `plattform.rag.db_schema` qualifiziert; "
      "das Schema wird vor der ersten Nutzung angelegt.")
def in_schema(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    wanted = rag.db_schema
    created = [line for name, line in schema.schemas if name == wanted]
    first_use = None
    for statement in schema.statements:
        for name in dict.fromkeys(_references(statement)):
            if name.schema is None:
                yield statement.line, (f"„{name}“ ohne Schema: RAG-Objekte liegen in „{wanted}“ "
                                       f"(schreibe {wanted}.{name.name})")
            elif name.schema != wanted:
                yield statement.line, f"„{name}“ liegt im Schema „{name.schema}“, nicht in „{wanted}“"
            elif first_use is None:
                first_use = statement.line
    if not created:
        yield first_use or 1, f"das Schema „{wanted}“ wird nie angelegt (CREATE SCHEMA IF NOT EXISTS {wanted})"
    elif first_use is not None and created[0] > first_use:
        yield first_use, f"„{wanted}“ wird hier benutzt, aber erst in Zeile {created[0]} angelegt"


@rule("embedding-dimension", "Embedding-Spalten mit der Dimension der Matrix",
      "Jede Embedding-Spalte hat den Typ `vector(N)` mit N aus `plattform.rag.embedding_dimension`; "
      "es gibt mindestens eine.")
def embedding_dimension(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    wanted = f"vector({rag.embedding_dimension})"
    found = False
    for table, column in _embedding_columns(schema):
        found = True
        if column.type != wanted:
            yield column.line, (f"{table.name}.{column.name} hat den Typ {column.type or '?'}, die Matrix verlangt "
                                f"{wanted} (plattform.rag.embedding_dimension)")
    if not found:
        yield 1, f"keine Embedding-Spalte gefunden: erwartet mindestens eine Spalte {wanted}"


def _index_problems(index: Index, schema: SchemaSql, rag: Rag) -> Iterator[str]:
    opclass = OPCLASS[rag.distanz]
    allowed = ", ".join(rag.index_methoden)
    if index.method not in rag.index_methoden:
        yield (f"Index {index.name or '(ohne Namen)'} nutzt „{index.method}“; für Vektoren erlaubt die Matrix "
               f"{allowed} (plattform.rag.index_methoden)")
        return
    table = schema.table(index.table)
    for key in index.columns:
        if key.opclass != opclass:
            shown = key.opclass or "keine (Standard vector_l2_ops)"
            yield (f"Index {index.name or '(ohne Namen)'}: Operatorklasse {shown} passt nicht zur Distanz "
                   f"„{rag.distanz}“ der Matrix, erwartet {opclass}")
        column = table.column(key.column) if table and key.column else None
        limit = rag.index_max_dimension[index.method]
        if column is not None and column.dimension and column.dimension > limit:
            yield (f"Index {index.name or '(ohne Namen)'}: {index.method} indiziert vector höchstens mit "
                   f"{limit} Dimensionen, {key.column} hat {column.dimension} (plattform.rag.index_max_dimension)")


@rule("vektor-index", "Vektor-Index passend zur Distanz",
      "Jede Embedding-Spalte hat einen Index mit einer Methode aus `plattform.rag.index_methoden`, der "
      "Operatorklasse zu `plattform.rag.distanz` und innerhalb der Dimensionsgrenze der Methode.")
def vector_index(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    for index in schema.indexes:
        if _is_vector_index(index):
            for message in _index_problems(index, schema, rag):
                yield index.line, message
    opclass = OPCLASS[rag.distanz]
    for table, column in _vector_columns(schema):
        good = [i for i in table.indexes if i.method in rag.index_methoden
                and any(k.column == column.name and k.opclass == opclass for k in i.columns)]
        if not good:
            yield column.line, (f"{table.name}.{column.name} hat keinen Vektor-Index "
                                f"({' oder '.join(rag.index_methoden)} mit {opclass})")


def _tenant_policy(policy: Policy, rag: Rag) -> bool:
    return rag.tenant_spalte in policy.columns and rag.tenant_einstellung in policy.settings


def _retriever_table(table: Table, rag: Rag) -> Iterator[tuple[int, str]]:
    column = table.column(rag.tenant_spalte)
    if column is None:
        yield table.line, f"Retriever-Tabelle {table.name} hat keine Spalte „{rag.tenant_spalte}“"
    elif not column.not_null:
        yield column.line, f"{table.name}.{rag.tenant_spalte} muss NOT NULL sein (Mandantentrennung)"
    if not table.rls_enabled:
        yield table.line, f"{table.name}: ALTER TABLE … ENABLE ROW LEVEL SECURITY fehlt"
    if not table.rls_forced:
        yield table.line, (f"{table.name}: ALTER TABLE … FORCE ROW LEVEL SECURITY fehlt "
                           "(sonst umgeht der Eigentümer der Tabelle die Policy)")
    if not any(_tenant_policy(p, rag) and p.using and p.command in ("ALL", "SELECT") for p in table.policies):
        yield table.line, (f"{table.name}: keine Policy mit USING auf „{rag.tenant_spalte}“ = "
                           f"current_setting('{rag.tenant_einstellung}')")


def _agent_table(table: Table, rag: Rag) -> Iterator[tuple[int, str]]:
    for policy in table.policies:
        if rag.tenant_spalte in policy.columns or rag.tenant_einstellung in policy.settings:
            yield policy.line, (f"Agenten-Tabelle {table.name} ist plattformweit, Policy {policy.name} "
                                "trennt aber nach Mandant")
    if table.rls_enabled and not table.policies:
        yield table.line, (f"Agenten-Tabelle {table.name}: RLS ohne Policy sperrt jede Zeile; "
                           "Agenten-Tabellen brauchen kein RLS")


@rule("mandanten-rls", "Mandantentrennung nur im Retriever",
      "Tabellen aus `plattform.rag.retriever_tabellen` haben die Mandanten-Spalte NOT NULL, RLS (ENABLE und "
      "FORCE) und eine Policy mit `current_setting` der Mandanten-Variable; Tabellen aus "
      "`agenten_tabellen` haben keine Mandanten-Policy; jede Tabelle ist einer der beiden Rollen zugeordnet.")
def tenancy(schema: SchemaSql, rag: Rag) -> Iterator[tuple[int, str]]:
    defined: set[str] = set()
    for table in schema.tables:
        if table.name.schema not in (None, rag.db_schema):
            continue
        defined.add(table.name.name)
        if table.name.name in rag.retriever_tabellen:
            yield from _retriever_table(table, rag)
        elif table.name.name in rag.agenten_tabellen:
            yield from _agent_table(table, rag)
        else:
            yield table.line, (f"Tabelle {table.name} ist in der Matrix weder Retriever- noch Agenten-Tabelle "
                               "(plattform.rag.retriever_tabellen / agenten_tabellen)")
    for name in [*rag.retriever_tabellen, *rag.agenten_tabellen]:
        if name not in defined:
            yield 1, f"Tabelle {rag.db_schema}.{name} aus der Matrix fehlt (CREATE TABLE IF NOT EXISTS)"


@rule("keine-daten", "Keine Datenanweisungen",
      "Das Schema enthält keine INSERT, UPDATE, DELETE, COPY, MERGE, TRUNCATE, SELECT oder "
      "CREATE TABLE … AS: der Datenbestand beginnt leer.")
def no_data(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    for statement in schema.statements:
        node = statement.node
        data = isinstance(node, DATA_STATEMENTS) or (
            isinstance(node, exp.Create) and isinstance(node.args.get("expression"), exp.Query)
            and str(node.args.get("kind") or "").upper() == "TABLE")
        if data:
            kind = statement.kind if isinstance(node, DATA_STATEMENTS) else f"{statement.kind} … AS SELECT"
            yield statement.line, f"{kind}: Datenanweisungen gehören nicht ins Schema (Start ohne Daten)"


def _alter_problems(node: exp.Alter) -> Iterator[str]:
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef) and not action.args.get("exists"):
            yield f"ADD COLUMN {action.name} ohne IF NOT EXISTS"
        elif isinstance(action, exp.Drop) and not action.args.get("exists"):
            yield "DROP … ohne IF EXISTS"
        elif isinstance(action, exp.AddConstraint):
            yield "ADD CONSTRAINT ist nicht wiederholbar (Constraint in CREATE TABLE aufnehmen)"
        elif isinstance(action, (exp.RenameColumn, exp.AlterRename)):
            yield "Umbenennen ist nicht wiederholbar"


def _idempotency_problems(statement: Statement, dropped: set[tuple[str, QualifiedName]]) -> Iterable[str]:
    detail, node = statement.detail, statement.node
    if isinstance(detail, Extension) and not detail.if_not_exists:
        return [f"CREATE EXTENSION {detail.name} ohne IF NOT EXISTS"]
    if isinstance(detail, PolicyDrop):
        if not detail.if_exists:
            return [f"DROP POLICY {detail.name} ohne IF EXISTS"]
        dropped.add((detail.name, detail.table))
    if isinstance(detail, Policy) and (detail.name, detail.table) not in dropped:
        return [f"CREATE POLICY {detail.name} ohne vorheriges DROP POLICY IF EXISTS {detail.name} ON {detail.table}"]
    if isinstance(node, exp.Create) and not (node.args.get("exists") or node.args.get("replace")):
        return [f"{statement.kind} ohne IF NOT EXISTS bzw. OR REPLACE"]
    if isinstance(node, exp.Drop) and not node.args.get("exists"):
        return [f"{statement.kind} ohne IF EXISTS"]
    if isinstance(node, exp.Alter):
        return list(_alter_problems(node))
    return []


@rule("idempotent", "Wiederholbar (idempotent)",
      "Jede Anweisung läuft ein zweites Mal ohne Fehler: CREATE … IF NOT EXISTS oder OR REPLACE, "
      "DROP … IF EXISTS, DROP POLICY IF EXISTS vor jedem CREATE POLICY.")
def idempotent(schema: SchemaSql, _rag: Rag) -> Iterator[tuple[int, str]]:
    dropped: set[tuple[str, QualifiedName]] = set()
    for statement in schema.statements:
        for message in _idempotency_problems(statement, dropped):
            yield statement.line, f"{message}: lokale Migrationen führen die Datei bei jedem Start erneut aus"


RULE_NAMES = tuple(r.name for r in RULES)
SYNTAX_RULE = "syntax"
