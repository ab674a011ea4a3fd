"""Does a policy expression restrict rows to the tenant of the session?

Used on the USING/WITH CHECK text of CREATE POLICY (static rules) and on
the expressions PostgreSQL stores for a policy (pg_policies.qual and
with_check, semantics.py), so both read policies the same way.

Row level security ORs the expressions of all permissive policies for a
command and ANDs those of restrictive ones (PostgreSQL 16 docs,
ddl-rowsecurity.html and sql-createpolicy.html). A permissive policy keeps
tenants apart only if every row it admits has the session's tenant: its
expression must be `<tenant column> = <reads current_setting(<tenant
setting>)>` (or IN / = ANY) as a top-level AND term, or an EXISTS / IN over a
subquery with such a term (the row's parent row belongs to the tenant). The
same comparison under an OR or NOT admits other rows as well.

The setting may be read directly (`current_setting('app.tenant_id', true)`)
or through a function whose body reads it (`rag.current_tenant()`).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

_DIALECT = Postgres()
_SETTING_CALL = re.compile(r"current_setting\s*\(\s*'([^']*)'", re.IGNORECASE)

OK, UNDER_OR, MISSING, UNREADABLE = "ok", "or", "missing", "unreadable"


@dataclass(frozen=True)
class Verdict:
    status: str  # OK, UNDER_OR (only below OR/NOT/CASE), MISSING, UNREADABLE (no tree)
    settings: tuple[str, ...] = ()  # names read with current_setting('…') (also through functions)
    columns: tuple[str, ...] = ()  # column names the expression uses

    @property
    def ok(self) -> bool:
        return self.status == OK


@lru_cache(maxsize=1024)
def _parse(text: str) -> exp.Expr | None:
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return _DIALECT.parse_into(exp.Condition, text)[0] if hasattr(_DIALECT, "parse_into") else None
    except Exception:
        try:
            select = _DIALECT.parse(f"SELECT {text}")[0]
            return select.expressions[0] if select is not None else None
        except Exception:
            return None
    finally:
        logger.setLevel(level)


def _strip(node: exp.Expr) -> exp.Expr:
    while isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)):
        node = node.this
    return node


def _call_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _literal(node: exp.Expr | None) -> str | None:
    node = _strip(node) if node is not None else None
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def settings_read(tree: exp.Expr, functions: Mapping[str, str]) -> tuple[str, ...]:
    """Setting names a subtree reads with current_setting(), directly or in a called function's body."""
    found: list[str] = []
    for node in tree.walk():
        name = _call_name(node)
        if name is None:
            continue
        if name == "current_setting":
            args = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
            value = _literal(args[0]) if args else None
            if value is not None:
                found.append(value)
        elif name in functions:
            found += _SETTING_CALL.findall(functions[name])
    return tuple(dict.fromkeys(found))


def _is_tenant_column(node: exp.Expr, column: str) -> bool:
    node = _strip(node)
    return isinstance(node, exp.Column) and node.name.lower() == column


def _compares_tenant(node: exp.Expr, column: str, setting: str, functions: Mapping[str, str]) -> bool:
    if isinstance(node, (exp.EQ, exp.NullSafeEQ)):
        sides = (node.this, node.expression)
    elif isinstance(node, exp.In):
        sides = (
            node.this,
            exp.Tuple(expressions=list(node.expressions))
            if node.expressions
            else (node.args.get("query") or exp.Null()),
        )
    else:
        return False
    left, right = sides
    return any(
        _is_tenant_column(col, column) and setting in settings_read(other, functions)
        for col, other in ((left, right), (right, left))
    )


def _restricts(node: exp.Expr, column: str, setting: str, functions: Mapping[str, str]) -> bool:
    """A top-level AND term that admits only the session tenant's rows: the comparison itself,
    or EXISTS / IN over a subquery whose own WHERE has such a term (the row's parent belongs
    to the tenant, e.g. chunks -> documents)."""
    if _compares_tenant(node, column, setting, functions):
        return True
    query = None
    if isinstance(node, exp.Exists):
        query = node.this
    elif isinstance(node, exp.In):
        query = node.args.get("query")
    while isinstance(query, (exp.Subquery, exp.Paren)):
        query = query.this
    if isinstance(query, exp.Select) and query.args.get("where") is not None:
        return any(_restricts(c, column, setting, functions) for c in _conjuncts(query.args["where"].this))
    return False


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    node = node.this if isinstance(node, exp.Paren) else node
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def tenant_filter(
    expression: str | None, column: str, setting: str, functions: Mapping[str, str] | None = None
) -> Verdict:
    """Whether `expression` keeps rows to the tenant in `setting` (see module docstring).

    functions: lower-case function name (unqualified and schema.name) ->
    body text, to see settings read inside called functions.
    """
    functions = functions or {}
    if not expression:
        return Verdict(MISSING)
    tree = _parse(expression)
    if tree is None:
        settings = tuple(dict.fromkeys(_SETTING_CALL.findall(expression)))
        return Verdict(UNREADABLE, settings)
    settings = settings_read(tree, functions)
    columns = tuple(dict.fromkeys(c.name.lower() for c in tree.find_all(exp.Column)))
    if any(_restricts(c, column, setting, functions) for c in _conjuncts(tree)):
        return Verdict(OK, settings, columns)
    if any(_compares_tenant(n, column, setting, functions) for n in tree.walk()):
        return Verdict(UNDER_OR, settings, columns)
    return Verdict(MISSING, settings, columns)


def explain(verdict: Verdict, column: str, setting: str, where: str) -> str:
    """German reason why a policy expression does not restrict to the tenant."""
    if verdict.status == UNDER_OR:
        return (
            f"{where} vergleicht „{column}“ mit der Mandanten-Variable nur unter OR/NOT: "
            "andere Zweige geben Zeilen fremder Mandanten frei"
        )
    hints = []
    wrong = [s for s in verdict.settings if s != setting]
    close = difflib.get_close_matches(setting, wrong, n=1, cutoff=0.6)
    if close:
        hints.append(f"liest „{close[0]}“ – meinten Sie „{setting}“ (plattform.rag.tenant_einstellung)?")
    if column not in verdict.columns:
        near = difflib.get_close_matches(column, list(verdict.columns), n=1, cutoff=0.6)
        if near:
            hints.append(f"Spalte „{near[0]}“ – meinten Sie „{column}“ (plattform.rag.tenant_spalte)?")
    detail = f" ({'; '.join(hints)})" if hints else ""
    return (
        f"{where} filtert nicht nach Mandant: kein „{column} = …current_setting('{setting}')…“ "
        f"als eigene AND-Bedingung{detail}"
    )


def function_bodies(items) -> dict[str, str]:
    """{name: body} for (QualifiedName-like or str, body) pairs: unqualified and schema.name keys."""
    out: dict[str, str] = {}
    for name, body in items:
        text = str(name).lower()
        out[text] = out.get(text, "") + "\n" + body
        bare = text.rsplit(".", 1)[-1]
        out[bare] = out.get(bare, "") + "\n" + body
    return out
