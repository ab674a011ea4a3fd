"""Judge a schema file by what PostgreSQL 16 with pgvector 0.8 does with it.

    from checks.schema_sql.semantics import run_semantics
    result = run_semantics(sql_text, rag, server, path="docs/rag/schema.sql")
    result.findings            # list[Finding], each with file:line
    result.clean               # the first application ran without errors

`server` is anything with `fresh_database() -> URL` and `drop_database(URL)`
(checks/servers/scratch.py: ScratchServer, a throw-away server started from a
cached template cluster). The file is applied like the migration applies it
(compose/app/plattform/migrate.py; `psql --single-transaction -v
ON_ERROR_STOP=1 -f`): in one transaction, as the database superuser. Here
each statement runs under a savepoint, so every statement PostgreSQL
refuses is reported with its own line (and column, from the error position)
instead of only the first one. psql meta-commands and COPY are not sent
(the static rules anwendbar and keine-daten report them), nor are
transaction-control statements (BEGIN/COMMIT).

Then, on a clean first application:

1. a second application, on a new connection and in a new transaction, must
   run without error and leave the catalog as it was (a fingerprint of
   relations, columns, constraints, indexes, policies, triggers, functions,
   types, schemas, extensions, roles and row counts);
2. the catalog is read: retriever tables (plattform.rag.retriever_tabellen)
   and all their partitions and inheriting children (pg_inherits) have the
   tenant column NOT NULL and RLS enabled and forced (pg_class
   relrowsecurity, relforcerowsecurity); every permissive policy filters by
   the tenant setting in USING (WITH CHECK for INSERT), tenancy.py; agent
   tables carry no tenant policy; every table in the matrix's schema has a
   role; relations outside that schema are findings;
3. embedding columns are found by type (vector, halfvec, sparsevec of the
   extension, and bit; pg_attribute/pg_type), each must carry the matrix
   dimension (atttypmod) and have a valid index (pg_index.indisvalid) with
   an allowed method and the operator class of its type for the matrix
   distance (vectors.py);
4. the type vector must be visible with the default search_path of a new
   session (to_regtype), and every table must be empty (keine-daten);
5. a behavioural proof, in a transaction that is rolled back: rows of
   tenant B are written as superuser into every retriever table, partition
   and child (foreign keys, triggers and CHECK constraints switched off for
   it: session_replication_role = replica), then a new role that owns
   nothing and is a member of the roles the policies name reads every one
   of those relations with the tenant setting set to tenant A: it must see
   none of B's rows.

Errors PostgreSQL reports are in English; pgerrors.py says them in German.
Sources: PostgreSQL 16 docs ddl-rowsecurity.html, sql-createpolicy.html,
catalog-pg-class.html, catalog-pg-policy.html, catalog-pg-index.html,
catalog-pg-inherits.html, runtime-config-client.html
(session_replication_role), errcodes-appendix.html; pgvector 0.8 README.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .boundary import Finding, Rag
from .parse import parse_schema
from .pgerrors import german
from .rules import DOC_PAGE, dimension_problem, policy_problems, skipped_index_hint, suggest
from .standins import CONTRIB, explains, standin_sql
from .statements import split
from .structure import Extension, QualifiedName, SchemaSql, Statement
from .tenancy import function_bodies
from .vectors import opclass_for

SKIPPED_KINDS = ("BEGIN", "START TRANSACTION", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE", "COPY")
# English server messages (translated in pgerrors.py); a hanging statement (lock, pg_sleep) ends after 30 s
SESSION_OPTIONS = "-c lc_messages=C -c statement_timeout=30000 -c lock_timeout=10000"
CONSEQUENCES = ("42P01", "42704", "42703", "42883", "3F000", "42P02")
TRANSACTION_STATES = ("25001", "55P04", "25P01")
PROBE = "Probe"  # messages of the behavioural proof start with it (report.py keeps them)
CMD = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
USER_NAMESPACES = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%' "
    "AND n.nspname NOT LIKE 'pg\\_temp%%'"
)
NOT_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
    "AND d.objid = {oid} AND d.deptype = 'e')"
)


class Server(Protocol):
    def fresh_database(self) -> str: ...

    def drop_database(self, url: str) -> None: ...


@dataclass(frozen=True)
class StatementError:
    statement: Statement
    sqlstate: str | None
    message: str  # PostgreSQL's primary message (English)
    line: int
    column: int | None


@dataclass
class SemanticResult:
    findings: list[Finding] = field(default_factory=list)
    clean: bool = False  # first application without errors: the catalog rules ran
    notes: list[str] = field(default_factory=list)  # German, for the report
    server: str = ""  # e.g. 'PostgreSQL 16.14, pgvector 0.8.5'
    seconds: float = 0.0
    probed: list[str] = field(default_factory=list)  # relations of the behavioural proof

    def for_rule(self, name: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == name]


def _one(conn: Any, sql: str) -> Any:
    """The single value of a query that always returns one row (SELECT of an expression)."""
    row = conn.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"keine Zeile von: {sql}")
    return row[0]


def semantic_findings(sql_text: str, rag: Rag, server: Server, path: str = "schema.sql") -> list[Finding]:
    """The findings of run_semantics (see there)."""
    return run_semantics(sql_text, rag, server, path).findings


def run_semantics(
    sql_text: str, rag: Rag, server: Server, path: str = "schema.sql", schema: SchemaSql | None = None
) -> SemanticResult:
    """Apply `sql_text` twice to a fresh database of `server` and judge the catalog (module docstring).

    Raises statements.SchemaSyntaxError if the text cannot be split into
    statements; database problems of the file itself become findings,
    problems of the server (it stops answering) psycopg.Error.
    """
    import psycopg

    started = time.perf_counter()
    schema = schema or parse_schema(sql_text, path)
    run = _Run(sql_text, schema, rag, path)
    url = server.fresh_database()
    roles_before: set[str] = set()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            roles_before = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
            version = _one(conn, "SELECT current_setting('server_version')")
            available = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = %s", (rag.extension,)
            ).fetchone()
        run.result.server = f"PostgreSQL {version}" + (f", {rag.extension} {available[0]}" if available else "")
        if available and not available[0].startswith(rag.pgvector_version + "."):
            run.result.notes.append(
                f"der Prüfserver hat {rag.extension} {available[0]}, die Matrix nennt "
                f"{rag.pgvector_version} (plattform.rag.pgvector_version)"
            )
        errors = run.apply(url)
        run.report_application(errors)
        if not errors:
            run.result.clean = True
            run.after_clean_application(url)
    finally:
        try:
            server.drop_database(url)
            _drop_new_roles(server, roles_before)
        except Exception:
            pass
    run.result.seconds = time.perf_counter() - started
    return run.result


def _drop_new_roles(server, before: set[str]) -> None:
    """Roles are cluster-wide: those the file created go, so the next database starts clean."""
    import psycopg

    if not before or not hasattr(server, "admin_url"):
        return
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT rolname FROM pg_roles").fetchall():
            if name not in before:
                conn.execute(f"DROP ROLE IF EXISTS {_ident(name)}")


class _Run:
    def __init__(self, text: str, schema: SchemaSql, rag: Rag, path: str):
        self.text, self.schema, self.rag, self.path = text, schema, rag, path
        self.parts = split(text, path)
        self.result = SemanticResult()
        self.known = _known_names(schema, rag)

    # -- findings ---------------------------------------------------------------------
    def finding(self, rule: str, line: int, message: str) -> None:
        self.result.findings.append(Finding(rule, message, self.schema.where(line), DOC_PAGE))

    # -- applying the file --------------------------------------------------------------
    def runnable(self) -> Iterable[tuple[Statement, int]]:
        for statement in self.schema.statements:
            if statement.meta or statement.kind in SKIPPED_KINDS:
                continue
            if statement.kind == "ROLLBACK" and "TO" not in statement.words[:2]:
                continue
            yield statement, self.parts.pieces[statement.index].start

    def apply(self, url: str) -> list[StatementError]:
        """One application in one transaction, each statement under its own savepoint.

        The savepoint is a query of its own: a syntax error rejects a whole
        multi-statement query, savepoint included.
        """
        import psycopg

        errors: list[StatementError] = []
        missing: set[str] = set()  # contrib extensions the server lacks (standins.py stands in)
        with psycopg.connect(url, autocommit=True, options=SESSION_OPTIONS) as conn:
            conn.execute("BEGIN")
            for number, (statement, offset) in enumerate(self.runnable()):
                conn.execute(f"SAVEPOINT umx_{number}")
                try:
                    conn.execute(statement.text)
                except psycopg.Error as exc:
                    if conn.broken:
                        raise
                    conn.execute(f"ROLLBACK TO SAVEPOINT umx_{number}")
                    error = self._error(statement, offset, 0, exc)
                    if self._stand_in(conn, statement, error, missing):
                        continue
                    errors.append(error)
            conn.execute("COMMIT")
        return errors

    def _stand_in(self, conn, statement: Statement, error: StatementError, missing: set[str]) -> bool:
        """A contrib extension of PostgreSQL 16 the embedded server lacks: stand in, note it, go on."""
        import psycopg

        detail = statement.detail
        if isinstance(detail, Extension) and error.sqlstate in ("0A000", "58P01") and detail.name in CONTRIB:
            conn.execute("SAVEPOINT umx_standin")
            try:
                conn.execute(standin_sql(detail.name, detail.schema or "public"))
            except psycopg.Error:
                conn.execute("ROLLBACK TO SAVEPOINT umx_standin")
                return False
            missing.add(detail.name)
            note = (
                f"die Extension „{detail.name}“ (Teil von PostgreSQL 16) fehlt auf dem Prüfserver, der nur "
                f"plpgsql und {self.rag.extension} mitbringt: Platzhalter für ihre Funktionen angelegt"
            )
            if note not in self.result.notes:
                self.result.notes.append(note)
            return True
        needs = explains(missing, error.message) if error.sqlstate in ("42704", "42883", "42P01") else None
        if needs:
            note = (
                f"Zeile {error.line}: {statement.kind} braucht {needs} "
                f"(fehlt auf dem Prüfserver) und wurde übersprungen: {german(error.sqlstate, error.message)}"
            )
            if note not in self.result.notes:
                self.result.notes.append(note)
            return True
        return False

    def _error(self, statement: Statement, offset: int, prefix: int, exc) -> StatementError:
        diag = exc.diag
        line, column = statement.line, None
        position = diag.statement_position
        if position and position.isdigit():
            inside = int(position) - 1 - prefix
            if 0 <= inside <= len(statement.text):
                line, column = self.parts.lines.position(offset + inside)
        return StatementError(statement, diag.sqlstate, diag.message_primary or str(exc), line, column)

    def report_application(self, errors: list[StatementError]) -> None:
        failed_texts: list[str] = []
        hidden = 0
        for number, error in enumerate(errors):
            names = re.findall(r'"([^"]+)"', error.message)
            if (
                number
                and error.sqlstate in CONSEQUENCES
                and any(n and any(n.rsplit(".", 1)[-1] in t for t in failed_texts) for n in names)
            ):
                hidden += 1  # follows from an earlier statement that failed
                failed_texts.append(error.statement.text)
                continue
            failed_texts.append(error.statement.text)
            rule = "transaktion" if error.sqlstate in TRANSACTION_STATES else "anwendbar"
            where = f" (Zeile {error.line}, Spalte {error.column})" if error.column else ""
            self.finding(
                rule,
                error.line,
                f"PostgreSQL 16 lehnt {error.statement.kind} ab: "
                f"{german(error.sqlstate, error.message, self.known)}{where}",
            )
        if hidden:
            self.result.notes.append(
                f"{hidden} weitere Anweisung(en) scheiterten nur als Folge eines früheren "
                "Fehlers (nicht einzeln gemeldet)"
            )
        if errors:
            self.result.notes.append(
                "die Datei läuft auf PostgreSQL 16 nicht fehlerfrei durch: Wiederholbarkeit, "
                "Katalog und Mandanten-Probe prüft die Regel erst danach"
            )

    # -- after a clean first application ------------------------------------------------------
    def after_clean_application(self, url: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            first = _fingerprint(conn)
        second_errors = self.apply(url)
        for error in second_errors:
            self.finding(
                "idempotent",
                error.statement.line,
                f"die zweite Anwendung scheitert an {error.statement.kind}: "
                f"{german(error.sqlstate, error.message, self.known)}",
            )
        with psycopg.connect(url, autocommit=True, options=SESSION_OPTIONS) as conn:
            second = _fingerprint(conn)
            if not second_errors:
                self.compare(first, second)
            catalog = _Catalog.read(conn)
            self.check_rows(first)
            self.check_placement(catalog)
            self.check_extension(conn, catalog)
            self.check_embeddings(catalog)
            roots = self.check_tenancy(catalog)
            self.probe(conn, catalog, roots)

    def compare(self, first: dict[tuple[str, str, str], str], second: dict[tuple[str, str, str], str]) -> None:
        changed = sorted(set(first.items()) ^ set(second.items()))
        seen: set[tuple[str, str, str]] = set()
        shown = 0
        for key, _value in changed:
            if key in seen:
                continue
            seen.add(key)
            kind, obj, detail = key
            before, after = first.get(key), second.get(key)
            what = {
                "rows": "Zeilenzahl",
                "column": "Spalte",
                "index": "Index",
                "policy": "Policy",
                "constraint": "Constraint",
                "trigger": "Trigger",
                "function": "Funktion",
                "type": "Typ",
                "relation": "Relation",
                "role": "Rolle",
                "extension": "Extension",
                "schema": "Schema",
                "view": "Sicht",
                "sequence": "Sequenz",
            }.get(kind, kind)
            if before is None:
                change = "kommt erst bei der zweiten Anwendung hinzu"
            elif after is None:
                change = "verschwindet bei der zweiten Anwendung"
            else:
                change = f"ändert sich bei der zweiten Anwendung ({_short(before)} → {_short(after)})"
            shown += 1
            if shown <= 6:
                self.finding("idempotent", self.line_of(obj), f"{what} {obj}{f' {detail}' if detail else ''} {change}")
        if shown > 6:
            self.finding("idempotent", 1, f"… und {shown - 6} weitere Änderungen durch die zweite Anwendung")

    def check_rows(self, first: dict[tuple[str, str, str], str]) -> None:
        for (kind, obj, _detail), value in sorted(first.items()):
            if kind == "rows" and value != "0":
                self.finding(
                    "keine-daten",
                    self.line_of(obj),
                    f"{obj} enthält nach der Migration {value} Zeile(n): das Schema legt Daten an (Start ohne Daten)",
                )

    def check_placement(self, catalog: _Catalog) -> None:
        wanted = self.rag.db_schema
        if wanted not in catalog.schemas:
            self.finding(
                "schema-rag",
                1,
                f"das Schema „{wanted}“ gibt es nach der Migration nicht "
                f"(CREATE SCHEMA IF NOT EXISTS {wanted}){suggest(wanted, catalog.schemas)}",
            )
        for rel in catalog.relations.values():
            if rel.schema != wanted:
                self.finding(
                    "schema-rag",
                    self.line_of(rel.qualified),
                    f"„{rel.qualified}“ liegt im Schema „{rel.schema}“, nicht in „{wanted}“"
                    f"{suggest(rel.schema, [wanted])}",
                )

    def check_extension(self, conn, catalog: _Catalog) -> None:
        ext = self.rag.extension
        line = next((e.line for e in self.schema.extensions if e.name == ext), None)
        if line is None:
            return  # never created: the static part of the rule says so, at the first use
        if ext not in catalog.extensions:
            self.finding(
                "extension-vor-nutzung",
                line,
                f"die Extension „{ext}“ ist nach der Migration nicht "
                f"installiert (CREATE EXTENSION IF NOT EXISTS {ext})",
            )
            return
        import psycopg

        with psycopg.connect(conn.info.dsn, autocommit=True) as fresh:  # a new session: default search_path
            visible = _one(fresh, "SELECT to_regtype('vector') IS NOT NULL")
        if not visible and ext == "vector":
            schema = catalog.extensions[ext][1]
            self.finding(
                "extension-vor-nutzung",
                line,
                f"der Typ vector liegt im Schema „{schema}“ (CREATE EXTENSION … WITH SCHEMA {schema}): "
                "Sitzungen mit Standard-search_path finden ihn nicht (Dienste, check-stack); "
                "WITH SCHEMA weglassen oder public",
            )

    # -- embeddings and their indexes -----------------------------------------------------------
    def check_embeddings(self, catalog: _Catalog) -> None:
        rag = self.rag
        found = False
        for rel in catalog.relations.values():
            if rel.kind not in "rp":
                continue
            for col in catalog.columns.get(rel.oid, []):
                if not col.embedding:
                    continue
                found = True
                line = self.line_of(rel.qualified, col.name)
                dims = col.typmod if col.typmod > 0 else None
                if not rel.partition:  # a partition repeats its parent's columns: reported there
                    problem = dimension_problem(rel.qualified, col.name, col.type, dims, rag)
                    if problem:
                        self.finding("embedding-dimension", line, problem)
                self.check_index(catalog, rel, col, line)
        if not found:
            self.finding(
                "embedding-dimension",
                1,
                f"keine Embedding-Spalte nach der Migration: erwartet mindestens "
                f"eine Spalte vector({rag.embedding_dimension}) (oder halfvec/sparsevec)",
            )

    def check_index(self, catalog: _Catalog, rel: _Rel, col: _Col, line: int) -> None:
        rag = self.rag
        wanted = opclass_for(rag.distanz, col.typname)
        candidates = []
        for index in catalog.indexes.get(rel.oid, []):
            for key in index.keys:
                if key.attnum == col.attnum or (key.attnum == 0 and re.search(rf"\b{re.escape(col.name)}\b", key.text)):
                    candidates.append((index, key))
        good = [
            (i, k)
            for i, k in candidates
            if i.valid and i.method in rag.index_methoden and k.opclass == opclass_for(rag.distanz, k.opctype)
        ]
        if good:
            return
        if wanted is None:
            self.finding(
                "vektor-index",
                line,
                f"{rel.qualified}.{col.name} ({col.type}): bit kennt nur Hamming- und "
                f"Jaccard-Distanz, keine passt zur Distanz „{rag.distanz}“ der Matrix",
            )
            return
        have = ", ".join(f"{i.name} ({i.method}, {k.opclass}{'' if i.valid else ', ungültig'})" for i, k in candidates)
        kind = "Partition " if rel.partition else ""
        self.finding(
            "vektor-index",
            line,
            f"{kind}{rel.qualified}.{col.name} hat nach der Migration keinen Vektor-Index "
            f"({' oder '.join(rag.index_methoden)} mit {wanted})"
            + (f"; vorhanden: {have}" if have else "")
            + skipped_index_hint(self.schema, rel.qualified),
        )

    # -- tenants ------------------------------------------------------------------------------
    def check_tenancy(self, catalog: _Catalog) -> list[list[_Rel]]:
        rag = self.rag
        in_schema = {r.name: r for r in catalog.relations.values() if r.schema == rag.db_schema and r.kind in "rp"}
        roots: list[list[_Rel]] = []
        covered: set[int] = set()
        functions = function_bodies(catalog.functions)
        known = [*rag.retriever_tabellen, *rag.agenten_tabellen]
        spare = {n: r for n, r in in_schema.items() if n not in known}
        for name in rag.retriever_tabellen:
            rel = in_schema.get(name)
            if rel is None:
                self.finding(
                    "mandanten-rls",
                    1,
                    f"Tabelle {rag.db_schema}.{name} aus der Matrix fehlt nach der Migration{_near(name, spare)}",
                )
                continue
            tree = [rel, *catalog.descendants(rel.oid)]
            covered.update(r.oid for r in tree)
            roots.append(tree)
            for member in tree:
                self.check_retriever(catalog, member, member is rel, functions)
        for name in rag.agenten_tabellen:
            rel = in_schema.get(name)
            if rel is None:
                self.finding(
                    "mandanten-rls",
                    1,
                    f"Tabelle {rag.db_schema}.{name} aus der Matrix fehlt nach der Migration{_near(name, spare)}",
                )
                continue
            for member in [rel, *catalog.descendants(rel.oid)]:
                covered.add(member.oid)
                self.check_agent(catalog, member)
        for rel in in_schema.values():
            if rel.oid not in covered:
                self.finding(
                    "mandanten-rls",
                    self.line_of(rel.qualified),
                    f"Tabelle {rel.qualified} ist in der Matrix weder Retriever- noch Agenten-Tabelle "
                    f"(plattform.rag.retriever_tabellen / agenten_tabellen){suggest(rel.name, known)}",
                )
        return roots

    def check_retriever(self, catalog: _Catalog, rel: _Rel, root: bool, functions) -> None:
        rag = self.rag
        line = self.line_of(rel.qualified)
        role = (
            "Retriever-Tabelle"
            if root
            else ("Partition" if rel.partition else "Kindtabelle") + " der Retriever-Tabelle"
        )
        columns = {c.name: c for c in catalog.columns.get(rel.oid, [])}
        tenant = columns.get(rag.tenant_spalte)
        if tenant is None:
            close = difflib_close(rag.tenant_spalte, list(columns))
            self.finding(
                "mandanten-rls",
                line,
                f"{role} {rel.qualified} hat keine Spalte „{rag.tenant_spalte}“"
                + (f" (Spalte „{close}“ – meinten Sie „{rag.tenant_spalte}“?)" if close else ""),
            )
        elif not tenant.notnull:
            self.finding(
                "mandanten-rls",
                self.line_of(rel.qualified, rag.tenant_spalte),
                f"{rel.qualified}.{rag.tenant_spalte} muss NOT NULL sein (Mandantentrennung)",
            )
        if not rel.rls:
            self.finding(
                "mandanten-rls",
                line,
                f"{role} {rel.qualified}: Row Level Security ist nach der Migration "
                "aus (ALTER TABLE … ENABLE ROW LEVEL SECURITY)"
                + (
                    "; eine Partition erbt RLS und Policies nicht – direkte Abfragen "
                    "der Partition umgehen sonst die Policy"
                    if not root
                    else ""
                ),
            )
        if not rel.force:
            self.finding(
                "mandanten-rls",
                line,
                f"{role} {rel.qualified}: FORCE ROW LEVEL SECURITY fehlt (sonst umgeht "
                "der Eigentümer der Tabelle die Policy)",
            )
        policies = catalog.policies.get(rel.oid, [])
        readers = [p for p in policies if p.permissive and p.cmd in ("ALL", "SELECT")]
        from .tenancy import tenant_filter

        if rel.rls and not any(
            tenant_filter(p.qual, rag.tenant_spalte, rag.tenant_einstellung, functions).ok for p in readers
        ):
            self.finding(
                "mandanten-rls",
                line,
                f"{rel.qualified}: keine Policy mit USING auf „{rag.tenant_spalte}“ = "
                f"current_setting('{rag.tenant_einstellung}')",
            )
        for policy in policies:
            for problem in policy_problems(
                policy.name, policy.cmd, policy.permissive, policy.qual, policy.check, rag, functions
            ):
                self.finding("mandanten-rls", self.policy_line(policy.name, rel.qualified), problem)

    def check_agent(self, catalog: _Catalog, rel: _Rel) -> None:
        rag = self.rag
        policies = catalog.policies.get(rel.oid, [])
        for policy in policies:
            text = f"{policy.qual or ''} {policy.check or ''}"
            if re.search(rf"\b{re.escape(rag.tenant_spalte)}\b", text) or rag.tenant_einstellung in text:
                self.finding(
                    "mandanten-rls",
                    self.policy_line(policy.name, rel.qualified),
                    f"Agenten-Tabelle {rel.qualified} ist plattformweit, Policy {policy.name} trennt aber nach Mandant",
                )
        if rel.rls and not policies:
            self.finding(
                "mandanten-rls",
                self.line_of(rel.qualified),
                f"Agenten-Tabelle {rel.qualified}: RLS ohne Policy sperrt jede Zeile; Agenten-Tabellen "
                "brauchen kein RLS",
            )

    # -- behavioural proof --------------------------------------------------------------------
    def probe(self, conn, catalog: _Catalog, roots: list[list[_Rel]]) -> None:
        """Tenant A must see none of tenant B's rows, as a role that owns nothing (rolled back)."""
        import psycopg

        if not roots:
            return
        probe_role = f"umx_probe_{secrets.token_hex(4)}"
        conn.execute("BEGIN")
        try:
            self._probe(conn, catalog, roots, probe_role)
        except psycopg.Error as exc:
            self.result.notes.append(
                f"Mandanten-Probe abgebrochen: {german(exc.diag.sqlstate, exc.diag.message_primary or str(exc))}"
            )
        finally:
            conn.execute("ROLLBACK")

    def _probe(self, conn, catalog: _Catalog, roots: list[list[_Rel]], probe_role: str) -> None:
        import psycopg

        rag = self.rag
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(f'CREATE ROLE "{probe_role}" NOLOGIN NOSUPERUSER NOBYPASSRLS INHERIT')
        rows: dict[int, list[str]] = {}  # relation oid -> tenant values of B's rows in it (and below)
        for schema in catalog.schemas:  # functions a policy calls may live in any schema
            conn.execute(f'GRANT USAGE ON SCHEMA {_ident(schema)} TO "{probe_role}"')
        for tree in roots:
            for rel in tree:
                conn.execute(f'GRANT SELECT ON {rel.sql} TO "{probe_role}"')
                for policy in catalog.policies.get(rel.oid, []):
                    for role in policy.roles:
                        if role != "public":
                            conn.execute(f'GRANT {_ident(role)} TO "{probe_role}"')
                self._drop_checks(conn, catalog, rel)
        for tree in roots:
            for rel in tree:
                if rel.kind != "r":
                    continue
                value = self._insert(conn, catalog, rel)
                if value is None:
                    continue
                for member in [rel, *catalog.ancestors(rel.oid)]:
                    rows.setdefault(member.oid, []).append(value)
        tenant_a = _tenant_value(catalog.tenant_type(roots[0][0].oid, rag.tenant_spalte))
        conn.execute(f'SET LOCAL ROLE "{probe_role}"')
        conn.execute("SELECT set_config(%s, %s, true)", (rag.tenant_einstellung, tenant_a))
        for tree in roots:
            for rel in tree:
                values = rows.get(rel.oid)
                if not values:
                    continue
                self.result.probed.append(rel.qualified)
                conn.execute("SAVEPOINT umx_probe")
                try:
                    seen = conn.execute(
                        f'SELECT count(*) FROM {rel.sql} WHERE "{rag.tenant_spalte}"::text = ANY(%s)', (values,)
                    ).fetchone()[0]
                except psycopg.Error as exc:
                    conn.execute("ROLLBACK TO SAVEPOINT umx_probe")
                    self.result.notes.append(
                        f"Mandanten-Probe für {rel.qualified} nicht möglich: "
                        f"{german(exc.diag.sqlstate, exc.diag.message_primary or '')}"
                    )
                    continue
                if seen:
                    self.finding(
                        "mandanten-rls",
                        self.line_of(rel.qualified),
                        f"Probe: als Rolle ohne Eigentümerrechte sieht Mandant A in {rel.qualified} "
                        f"{seen} Zeile(n) von Mandant B ({rag.tenant_einstellung} = A gesetzt)",
                    )

    def _drop_checks(self, conn, catalog: _Catalog, rel: _Rel) -> None:
        """CHECK constraints do not decide visibility; off for the probe rows (rolled back)."""
        for name in catalog.checks.get(rel.oid, []):
            conn.execute("SAVEPOINT umx_check")
            try:
                conn.execute(f"ALTER TABLE {rel.sql} DROP CONSTRAINT IF EXISTS {_ident(name)}")
            except Exception:
                conn.execute("ROLLBACK TO SAVEPOINT umx_check")

    def _insert(self, conn, catalog: _Catalog, rel: _Rel) -> str | None:
        """Insert one row of some tenant B into `rel` as superuser; return B's value as text."""
        import psycopg

        rag = self.rag
        columns = catalog.columns.get(rel.oid, [])
        tenant = next((c for c in columns if c.name == rag.tenant_spalte), None)
        if tenant is None:
            return None
        fill = [
            c
            for c in columns
            if c.notnull and not c.hasdef and not c.identity and not c.generated and c.name != tenant.name
        ]
        generic = {}
        for col in fill:
            value = _value(col)
            if value is None:
                self.result.notes.append(
                    f"Mandanten-Probe für {rel.qualified}: keinen Probewert für {col.name} ({col.type}) gefunden"
                )
                return None
            generic[col.name] = [value]
        literals = catalog.bound_literals(rel.oid)
        keys = catalog.partition_key_columns(rel.oid)
        tenant_candidates = [_tenant_literal(_tenant_value(tenant.type), tenant)]
        tenant_candidates += [f"{_quote(v)}::{tenant.type}" for v in literals]
        tenant_candidates += [_tenant_literal(_tenant_value(tenant.type), tenant) for _ in range(24)]
        options = {
            name: generic.get(name, []) + [f"{_quote(v)}::{c.type}" for v in literals]
            for name, c in ((c.name, c) for c in columns if c.name in keys and c.name != tenant.name)
        }
        for attempt, tenant_sql in enumerate(tenant_candidates[:40]):
            values = {name: vals[0] for name, vals in generic.items()}
            for name, vals in options.items():
                if vals:
                    values[name] = vals[min(attempt % len(vals), len(vals) - 1)]
            values[tenant.name] = tenant_sql
            names = ", ".join(_ident(n) for n in values)
            conn.execute("SAVEPOINT umx_row")
            try:
                got = conn.execute(
                    f"INSERT INTO {rel.sql} ({names}) VALUES ({', '.join(values.values())}) "
                    f"RETURNING {_ident(tenant.name)}::text"
                ).fetchone()[0]
                return got
            except psycopg.Error as exc:
                conn.execute("ROLLBACK TO SAVEPOINT umx_row")
                last = exc
        self.result.notes.append(
            f"Mandanten-Probe für {rel.qualified}: keine Probezeile einfügbar "
            f"({german(last.diag.sqlstate, last.diag.message_primary or '')})"
        )
        return None

    # -- lines -------------------------------------------------------------------------------
    def line_of(self, qualified: str, column: str | None = None) -> int:
        schema, _, name = qualified.rpartition(".")
        table = self.schema.table(QualifiedName(schema or None, name)) or self.schema.table(name)
        if table is not None:
            if column:
                col = table.column(column)
                if col is not None and col.line:
                    return col.line
                parent = table.partition_of or (table.inherits[0] if table.inherits else None)
                parent_table = self.schema.table(parent) if parent is not None else None
                if parent_table is not None:
                    col = parent_table.column(column)
                    if col is not None and col.line:
                        return col.line
            return table.line
        pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
        for statement in self.schema.statements:
            if statement.kind.startswith("CREATE") and pattern.search(statement.text):
                return statement.line
        for statement in self.schema.statements:
            if pattern.search(statement.text):
                return statement.line
        return 1

    def policy_line(self, name: str, table: str) -> int:
        for policy in self.schema.policies:
            if policy.name == name:
                return policy.line
        pattern = re.compile(rf"POLICY\s+\"?{re.escape(name)}\b", re.IGNORECASE)
        for statement in self.schema.statements:
            if pattern.search(statement.text):
                return statement.line
        return self.line_of(table)


# --- catalog -------------------------------------------------------------------------------------


@dataclass
class _Rel:
    oid: int
    schema: str
    name: str
    kind: str
    rls: bool
    force: bool
    partition: bool
    parents: list[int]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        return f"{_ident(self.schema)}.{_ident(self.name)}"


@dataclass
class _Col:
    name: str
    attnum: int
    type: str  # format_type()
    typname: str
    typmod: int
    notnull: bool
    hasdef: bool
    identity: bool
    generated: bool
    category: str
    typtype: str
    embedding: bool


@dataclass
class _Key:
    attnum: int
    opclass: str
    opctype: str
    text: str


@dataclass
class _Index:
    name: str
    method: str
    valid: bool
    keys: list[_Key]


@dataclass
class _Policy:
    name: str
    cmd: str
    permissive: bool
    roles: list[str]
    qual: str | None
    check: str | None


@dataclass
class _Catalog:
    relations: dict[int, _Rel]
    columns: dict[int, list[_Col]]
    indexes: dict[int, list[_Index]]
    policies: dict[int, list[_Policy]]
    functions: list[tuple[str, str]]
    extensions: dict[str, tuple[str, str]]
    schemas: list[str]
    checks: dict[int, list[str]]
    bounds: dict[int, str]
    partkeys: dict[int, list[int]]

    @classmethod
    def read(cls, conn) -> _Catalog:
        rels = {}
        for oid, nsp, name, kind, rls, force, part, parents in conn.execute(
            f"""
                SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity,
                       c.relispartition,
                       coalesce((SELECT array_agg(i.inhparent) FROM pg_inherits i WHERE i.inhrelid = c.oid), '{{}}')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {USER_NAMESPACES}
                  AND {NOT_EXTENSION.format(catalog="pg_class", oid="c.oid")}""",
            (),
        ):
            rels[oid] = _Rel(oid, nsp, name, kind, rls, force, part, list(parents))
        oids = [o for o, r in rels.items() if r.kind in "rp"]
        columns: dict[int, list[_Col]] = {}
        for (
            relid,
            name,
            attnum,
            fmt,
            typname,
            typnsp,
            typmod,
            notnull,
            hasdef,
            identity,
            generated,
            category,
            typtype,
            ext,
        ) in conn.execute(
            """
                SELECT a.attrelid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), t.typname,
                       tn.nspname, a.atttypmod, a.attnotnull, a.atthasdef, a.attidentity <> '',
                       a.attgenerated <> '', t.typcategory::text, t.typtype::text,
                       EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                               WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
                                 AND e.extname = 'vector')
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                JOIN pg_namespace tn ON tn.oid = t.typnamespace
                WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attrelid, a.attnum""",
            (oids,),
        ):
            embedding = (typname in ("vector", "halfvec", "sparsevec") and ext) or (
                typname == "bit" and typnsp == "pg_catalog"
            )
            columns.setdefault(relid, []).append(
                _Col(
                    name,
                    attnum,
                    fmt,
                    typname,
                    typmod,
                    notnull,
                    hasdef,
                    identity,
                    generated,
                    category,
                    typtype,
                    embedding,
                )
            )
        indexes: dict[int, list[_Index]] = {}
        for relid, name, method, valid, keys in conn.execute(
            """
                SELECT i.indrelid, ic.relname, am.amname, i.indisvalid,
                       array(SELECT ARRAY[i.indkey[k.n - 1]::text, opc.opcname, (SELECT typname FROM pg_type WHERE oid = opc.opcintype)::text,
                                          pg_get_indexdef(i.indexrelid, k.n::int, true)]
                             FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS k(opc, n)
                             JOIN pg_opclass opc ON opc.oid = k.opc
                             WHERE k.n <= i.indnkeyatts ORDER BY k.n)
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = ANY(%s)""",
            (oids,),
        ):
            indexes.setdefault(relid, []).append(
                _Index(name, method, valid, [_Key(int(k[0]), k[1], k[2], k[3]) for k in keys])
            )
        policies: dict[int, list[_Policy]] = {}
        for relid, name, cmd, permissive, roles, qual, check in conn.execute(
            """
                SELECT p.polrelid, p.polname, p.polcmd::text, p.polpermissive,
                       array(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
                             FROM unnest(p.polroles) AS r),
                       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
                FROM pg_policy p WHERE p.polrelid = ANY(%s)""",
            (oids,),
        ):
            policies.setdefault(relid, []).append(
                _Policy(name, CMD.get(cmd, cmd), permissive, list(roles), qual, check)
            )
        functions = [
            (f"{nsp}.{name}", src or "")
            for nsp, name, src in conn.execute(
                f"""
                SELECT n.nspname, p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE {USER_NAMESPACES} AND {NOT_EXTENSION.format(catalog="pg_proc", oid="p.oid")}""",
                (),
            )
        ]
        extensions = {
            name: (version, nsp)
            for name, version, nsp in conn.execute(
                "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace"
            )
        }
        schemas = [s for (s,) in conn.execute(f"SELECT n.nspname FROM pg_namespace n WHERE {USER_NAMESPACES}", ())]
        checks: dict[int, list[str]] = {}
        for relid, name in conn.execute(
            "SELECT conrelid, conname FROM pg_constraint WHERE contype = 'c' AND conislocal AND conrelid = ANY(%s)",
            (oids,),
        ):
            checks.setdefault(relid, []).append(name)
        bounds = dict(
            conn.execute(
                "SELECT c.oid, pg_get_expr(c.relpartbound, c.oid) FROM pg_class c "
                "WHERE c.oid = ANY(%s) AND c.relpartbound IS NOT NULL",
                (oids,),
            )
        )
        partkeys = {
            oid: [int(a) for a in attrs]
            for oid, attrs in conn.execute(
                "SELECT partrelid, partattrs::int2[] FROM pg_partitioned_table WHERE partrelid = ANY(%s)", (oids,)
            )
        }
        return cls(rels, columns, indexes, policies, functions, extensions, schemas, checks, bounds, partkeys)

    def descendants(self, oid: int) -> list[_Rel]:
        out, queue = [], [oid]
        while queue:
            current = queue.pop(0)
            for rel in self.relations.values():
                if current in rel.parents and rel not in out:
                    out.append(rel)
                    queue.append(rel.oid)
        return out

    def ancestors(self, oid: int) -> list[_Rel]:
        out, queue = [], list(self.relations[oid].parents) if oid in self.relations else []
        while queue:
            current = queue.pop(0)
            rel = self.relations.get(current)
            if rel is not None and rel not in out:
                out.append(rel)
                queue += rel.parents
        return out

    def tenant_type(self, oid: int, column: str) -> str:
        return next((c.type for c in self.columns.get(oid, []) if c.name == column), "text")

    def bound_literals(self, oid: int) -> list[str]:
        values: list[str] = []
        for rel in [self.relations[oid], *self.ancestors(oid)]:
            text = self.bounds.get(rel.oid) or ""
            values += [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", text)]
            values += re.findall(r"(?<![\w'])(-?\d+(?:\.\d+)?)(?![\w'])", re.sub(r"'(?:[^']|'')*'", "", text))
        return list(dict.fromkeys(values))

    def partition_key_columns(self, oid: int) -> set[str]:
        names: set[str] = set()
        for rel in [self.relations[oid], *self.ancestors(oid)]:
            attnums = self.partkeys.get(rel.oid, [])
            names |= {c.name for c in self.columns.get(rel.oid, []) if c.attnum in attnums}
        return names


def _fingerprint(conn) -> dict[tuple[str, str, str], str]:
    """Canonical (kind, object, detail) -> value of everything the file can create."""
    query = f"""
    SELECT 'relation', n.nspname || '.' || c.relname, '',
           concat_ws(' ', c.relkind::text, c.relrowsecurity, c.relforcerowsecurity, c.relpersistence::text, c.reloptions::text,
                     pg_get_userbyid(c.relowner), c.relacl::text, obj_description(c.oid, 'pg_class'),
                     pg_get_expr(c.relpartbound, c.oid))
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND {USER_NAMESPACES}
       AND {NOT_EXTENSION.format(catalog="pg_class", oid="c.oid")}
    UNION ALL
    SELECT 'column', n.nspname || '.' || c.relname, a.attname,
           concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                     a.attidentity::text, a.attgenerated::text, a.attstorage::text, col_description(c.oid, a.attnum), a.attacl::text)
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_NAMESPACES}
    UNION ALL
    SELECT 'constraint', n.nspname || '.' || c.relname, con.conname, pg_get_constraintdef(con.oid)
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE {USER_NAMESPACES}
    UNION ALL
    SELECT 'index', n.nspname || '.' || t.relname, ic.relname, concat_ws(' ', pg_get_indexdef(i.indexrelid), i.indisvalid)
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE {USER_NAMESPACES}
    UNION ALL
    SELECT 'policy', n.nspname || '.' || c.relname, p.polname,
           concat_ws(' ', p.polcmd::text, p.polpermissive, p.polroles::text, pg_get_expr(p.polqual, p.polrelid),
                     pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    UNION ALL
    SELECT 'trigger', n.nspname || '.' || c.relname, t.tgname, concat_ws(' ', pg_get_triggerdef(t.oid), t.tgenabled::text)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'function', n.nspname || '.' || p.proname, pg_get_function_identity_arguments(p.oid),
           concat_ws(' ', md5(p.prosrc), p.provolatile::text, p.prosecdef, p.proconfig::text, pg_get_userbyid(p.proowner),
                     p.proacl::text, pg_get_function_result(p.oid))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE {USER_NAMESPACES} AND {NOT_EXTENSION.format(catalog="pg_proc", oid="p.oid")}
    UNION ALL
    SELECT 'type', n.nspname || '.' || t.typname, '',
           concat_ws(' ', t.typtype::text, format_type(t.typbasetype, t.typtypmod),
                     (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
                       WHERE e.enumtypid = t.oid),
                     (SELECT string_agg(pg_get_constraintdef(con.oid), ',') FROM pg_constraint con
                       WHERE con.contypid = t.oid))
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd', 'r', 'm') AND {USER_NAMESPACES}
       AND {NOT_EXTENSION.format(catalog="pg_type", oid="t.oid")}
    UNION ALL
    SELECT 'schema', n.nspname, '', concat_ws(' ', pg_get_userbyid(n.nspowner), n.nspacl::text,
                                             obj_description(n.oid, 'pg_namespace'))
      FROM pg_namespace n WHERE {USER_NAMESPACES}
    UNION ALL
    SELECT 'extension', e.extname, '', concat_ws(' ', e.extversion, e.extnamespace::regnamespace::text) FROM pg_extension e
    UNION ALL
    SELECT 'role', r.rolname, '', concat_ws(' ', r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
                                           r.rolcanlogin, r.rolbypassrls, r.rolconnlimit, r.rolconfig::text)
      FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%%'
    UNION ALL
    SELECT 'view', n.nspname || '.' || c.relname, '', md5(pg_get_viewdef(c.oid))
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND {USER_NAMESPACES}
    UNION ALL
    SELECT 'sequence', n.nspname || '.' || c.relname, '',
           concat_ws(' ', s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    """
    out: dict[tuple[str, str, str], str] = {}
    for kind, obj, detail, value in conn.execute(query, ()):
        out[(kind, obj, detail)] = value or ""
    tables = conn.execute(
        f"""
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND {USER_NAMESPACES} AND {NOT_EXTENSION.format(catalog="pg_class", oid="c.oid")}""",
        (),
    ).fetchall()
    if tables:
        from psycopg import sql

        counts = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*)::text FROM ONLY {}.{}").format(
                sql.Literal(f"{nsp}.{rel}"), sql.Identifier(nsp), sql.Identifier(rel)
            )
            for nsp, rel in tables
        )
        for obj, count in conn.execute(counts):
            out[("rows", obj, "")] = count
    return out


# --- probe values ------------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _tenant_value(type_: str) -> str:
    if type_ == "uuid":
        return str(uuid.uuid4())
    if type_ in ("integer", "bigint", "smallint", "numeric"):
        return str(secrets.randbelow(30000) + 1)
    return f"umx-{secrets.token_hex(6)}"


def _tenant_literal(value: str, column: _Col) -> str:
    return f"{_quote(value)}::{column.type}"


_COUNTER = iter(range(1, 1_000_000))


def _value(col: _Col) -> str | None:
    """A SQL expression with a value of the column's type, or None."""
    n = next(_COUNTER) % 9 + 1
    dims = col.typmod if col.typmod > 0 else 3
    if col.typtype == "e":
        return f"(enum_range(NULL::{col.type}))[1]"
    if col.typname in ("vector", "halfvec"):
        return f"'[{','.join(['1'] * dims)}]'::{col.type}"
    if col.typname == "sparsevec":
        return f"'{{1:1}}/{dims}'::{col.type}"
    if col.typname in ("bit", "varbit"):
        return f"B'{'1' * (dims if col.typname == 'bit' else 1)}'::{col.type}"
    if col.typname == "uuid":
        return "gen_random_uuid()"
    if col.typname in ("json", "jsonb"):
        return f"'{{}}'::{col.type}"
    if col.typname == "bytea":
        return "'\\x00'::bytea"
    if col.typname == "tsvector":
        return "''::tsvector"
    return {
        "N": f"{n}::{col.type}",
        "S": f"'{n}'::{col.type}",
        "B": "true",
        "D": f"now()::{col.type}",
        "T": f"'1 second'::{col.type}",
        "A": f"'{{}}'::{col.type}",
        "I": f"'127.0.0.1'::{col.type}",
    }.get(col.category)


# --- small helpers ---------------------------------------------------------------------------------------


def _short(value: str, limit: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def difflib_close(word: str, known: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _near(name: str, existing) -> str:
    close = difflib_close(name, list(existing))
    return f" – es gibt „{close}“, meinten Sie „{name}“?" if close else ""


def _known_names(schema: SchemaSql, rag: Rag) -> list[str]:
    names = {rag.db_schema, rag.extension, rag.tenant_spalte}
    for table in schema.tables:
        names.add(table.name.name)
        names.add(str(table.name))
        names.update(c.name for c in table.columns)
    names.update(f"{rag.db_schema}.{t}" for t in [*rag.retriever_tabellen, *rag.agenten_tabellen])
    names.update([*rag.retriever_tabellen, *rag.agenten_tabellen])
    return sorted(names)
