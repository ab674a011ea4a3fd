"""Small, explicit parsers for the statements sqlglot keeps as opaque commands.

sqlglot (postgres dialect) parses tables, indexes and comments into trees but
falls back to an uninterpreted `exp.Command` for CREATE EXTENSION, CREATE
POLICY, DROP POLICY, ALTER TABLE ... ROW LEVEL SECURITY and SET search_path.
These are read here from sqlglot's tokens, following the grammar of the
PostgreSQL 16 reference pages (sql-createextension, sql-createpolicy,
sql-droppolicy, sql-altertable, sql-set). A statement these parsers cannot
read is not an error here (CommandSyntaxError makes it opaque): PostgreSQL
judges its validity (semantics.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel, ParseError
from sqlglot.tokens import Token, TokenType

from .structure import Extension, Policy, PolicyDrop, QualifiedName, RlsChange, SearchPath

Detail = Extension | Policy | PolicyDrop | RlsChange | SearchPath
POLICY_COMMANDS = ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")
_PARSER = Postgres().parser(error_level=ErrorLevel.IMMEDIATE)


class CommandSyntaxError(Exception):
    """A handled command is malformed; carries the offending token."""

    def __init__(self, token: Token, message: str):
        super().__init__(message)
        self.token = token
        self.message = message


def fold(token: Token) -> str:
    """PostgreSQL name folding: quoted names keep their case."""
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()


class Cursor:
    """Walks the tokens of one statement."""

    def __init__(self, tokens: list[Token], sql: str):
        self.tokens = tokens
        self.sql = sql
        self.pos = 0

    def word(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        if i >= len(self.tokens):
            return None
        token = self.tokens[i]
        return None if token.token_type == TokenType.IDENTIFIER else token.text.upper()

    def current(self) -> Token:
        return self.tokens[min(self.pos, len(self.tokens) - 1)]

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def accept(self, *words: str) -> bool:
        if all(self.word(i) == w for i, w in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise CommandSyntaxError(self.current(), f"erwartet „{' '.join(words)}“")

    def name(self) -> str:
        if self.at_end() or self.current().token_type in (
            TokenType.L_PAREN,
            TokenType.R_PAREN,
            TokenType.COMMA,
            TokenType.DOT,
        ):
            raise CommandSyntaxError(self.current(), "erwartet einen Namen")
        token = self.tokens[self.pos]
        self.pos += 1
        return fold(token)

    def qualified(self) -> QualifiedName:
        first = self.name()
        if not self.at_end() and self.current().token_type == TokenType.DOT:
            self.pos += 1
            return QualifiedName(first, self.name())
        return QualifiedName(None, first)

    def parenthesized(self) -> tuple[str, Token, list[Token]]:
        """Source text and tokens between a pair of balanced parentheses."""
        opening = self.current()
        if self.at_end() or opening.token_type != TokenType.L_PAREN:
            raise CommandSyntaxError(opening, "erwartet „(“")
        depth = 0
        for i in range(self.pos, len(self.tokens)):
            kind = self.tokens[i].token_type
            depth += kind == TokenType.L_PAREN
            depth -= kind == TokenType.R_PAREN
            if depth == 0:
                closing = self.tokens[i]
                inner = self.tokens[self.pos + 1 : i]
                self.pos = i + 1
                return self.sql[opening.end + 1 : closing.start].strip(), opening, inner
        raise CommandSyntaxError(opening, "schließende Klammer fehlt")

    def finish(self) -> None:
        if not self.at_end():
            raise CommandSyntaxError(self.current(), f"unerwartet: „{self.current().text}“")


def _extension(cur: Cursor, line: int) -> Extension:
    # CREATE EXTENSION [IF NOT EXISTS] name [WITH] [SCHEMA s] [VERSION v] [CASCADE]
    cur.expect("CREATE", "EXTENSION")
    if_not_exists = cur.accept("IF", "NOT", "EXISTS")
    name = cur.name()
    cur.accept("WITH")
    schema = None
    while not cur.at_end():
        if cur.accept("SCHEMA"):
            schema = cur.name()
        elif cur.accept("VERSION"):
            cur.name()
        else:
            cur.expect("CASCADE")
    return Extension(name, schema, if_not_exists, line)


def _expression(cur: Cursor) -> tuple[str, exp.Expr | None]:
    """A parenthesized SQL expression; its sqlglot tree, or None where sqlglot cannot parse it."""
    text, opening, inner = cur.parenthesized()
    if not inner:
        raise CommandSyntaxError(opening, "leerer Ausdruck in Klammern")
    try:
        tree = _PARSER.parse(inner, cur.sql)[0]
    except ParseError:
        tree = None
    return text, tree


_SETTING = re.compile(r"current_setting\s*\(\s*'([^']*)'", re.IGNORECASE)
_WORD = re.compile(r'"([^"]+)"|([A-Za-z_][A-Za-z_0-9$]*)')


def _references(*trees: exp.Expr | str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Columns and current_setting() names an expression refers to (text: a rough reading)."""
    columns: list[str] = []
    settings: list[str] = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, str):
            settings += _SETTING.findall(tree)
            columns += [(q or w.lower()) for q, w in _WORD.findall(_SETTING.sub("", tree))]
            continue
        columns += [c.name.lower() for c in tree.find_all(exp.Column)]
        for func in tree.find_all(exp.Func):
            if isinstance(func, exp.Anonymous):
                name, first = func.name, (func.expressions or [None])[0]
            else:
                name, first = func.sql_name(), func.this
            if name.lower() == "current_setting" and isinstance(first, exp.Literal) and first.is_string:
                settings.append(first.this)
    return tuple(dict.fromkeys(columns)), tuple(dict.fromkeys(settings))


def _policy(cur: Cursor, line: int) -> Policy:
    # CREATE POLICY name ON table [AS {PERMISSIVE|RESTRICTIVE}] [FOR cmd]
    #   [TO role [, ...]] [USING (expr)] [WITH CHECK (expr)]
    cur.expect("CREATE", "POLICY")
    name = cur.name()
    cur.expect("ON")
    table = cur.qualified()
    permissive = True
    if cur.accept("AS"):
        if cur.accept("RESTRICTIVE"):
            permissive = False
        else:
            cur.expect("PERMISSIVE")
    command = "ALL"
    if cur.accept("FOR"):
        command = cur.word() or ""
        if command not in POLICY_COMMANDS:
            raise CommandSyntaxError(cur.current(), f"erwartet eines von {', '.join(POLICY_COMMANDS)}")
        cur.pos += 1
    roles = ["public"]
    if cur.accept("TO"):
        roles = [cur.name()]
        while not cur.at_end() and cur.current().token_type == TokenType.COMMA:
            cur.pos += 1
            roles.append(cur.name())
    using = check = None
    using_tree = check_tree = None
    if cur.accept("USING"):
        using, using_tree = _expression(cur)
    if cur.accept("WITH", "CHECK"):
        check, check_tree = _expression(cur)
    cur.finish()
    columns, settings = _references(
        using_tree if using_tree is not None else using, check_tree if check_tree is not None else check
    )
    return Policy(name, table, command, permissive, tuple(roles), using, check, columns, settings, line)


def _drop_policy(cur: Cursor, line: int) -> PolicyDrop:
    # DROP POLICY [IF EXISTS] name ON table [CASCADE | RESTRICT]
    cur.expect("DROP", "POLICY")
    if_exists = cur.accept("IF", "EXISTS")
    name = cur.name()
    cur.expect("ON")
    table = cur.qualified()
    if not cur.accept("CASCADE"):
        cur.accept("RESTRICT")
    cur.finish()
    return PolicyDrop(name, table, if_exists, line)


RLS_ACTIONS = ("ENABLE", "DISABLE", "FORCE", "NO FORCE")


def _rls(cur: Cursor, line: int) -> tuple[RlsChange, ...]:
    # ALTER TABLE [IF EXISTS] [ONLY] name action [, ...] where every action is
    # {ENABLE|DISABLE|FORCE|NO FORCE} ROW LEVEL SECURITY (several: all count)
    cur.expect("ALTER", "TABLE")
    cur.accept("IF", "EXISTS")
    cur.accept("ONLY")
    table = cur.qualified()
    changes = []
    while True:
        for action in RLS_ACTIONS:
            if cur.accept(*action.split()):
                break
        else:
            raise CommandSyntaxError(cur.current(), "erwartet ENABLE, DISABLE, FORCE oder NO FORCE")
        cur.expect("ROW", "LEVEL", "SECURITY")
        changes.append(RlsChange(table, action, line))
        if cur.at_end():
            return tuple(changes)
        if cur.current().token_type != TokenType.COMMA:
            raise CommandSyntaxError(cur.current(), f"unerwartet: „{cur.current().text}“")
        cur.pos += 1


def _is_rls(tokens: list[Token]) -> bool:
    return [t.text.upper() for t in tokens[-3:]] == ["ROW", "LEVEL", "SECURITY"]


def _search_path(cur: Cursor, line: int) -> SearchPath:
    # SET [SESSION | LOCAL] search_path {TO | =} {value [, ...] | DEFAULT}
    cur.expect("SET")
    if not cur.accept("SESSION"):
        cur.accept("LOCAL")
    if cur.at_end() or cur.current().text.lower() != "search_path":
        raise CommandSyntaxError(cur.current(), "erwartet search_path")
    cur.pos += 1
    if not cur.accept("TO"):
        if cur.at_end() or cur.current().token_type != TokenType.EQ:
            raise CommandSyntaxError(cur.current(), "erwartet TO oder =")
        cur.pos += 1
    if cur.accept("DEFAULT"):
        cur.finish()
        return SearchPath(("$user", "public"), line)
    schemas = []
    while not cur.at_end():
        token = cur.current()
        if token.token_type == TokenType.COMMA:
            cur.pos += 1
            continue
        if token.token_type == TokenType.STRING:
            schemas += [s.strip().strip('"') for s in token.text.split(",") if s.strip()]
        else:
            schemas.append(fold(token))
        cur.pos += 1
    return SearchPath(tuple(schemas), line)


def _is_search_path(tokens: list[Token]) -> bool:
    words = [t.text.lower() for t in tokens[:3]]
    return "search_path" in words


# (first two words) -> (statement kind, parser)
HANDLERS: dict[tuple[str, str], tuple[str, Callable[[Cursor, int], Detail | tuple[Detail, ...]]]] = {
    ("CREATE", "EXTENSION"): ("CREATE EXTENSION", _extension),
    ("CREATE", "POLICY"): ("CREATE POLICY", _policy),
    ("DROP", "POLICY"): ("DROP POLICY", _drop_policy),
    ("ALTER", "TABLE"): ("ALTER TABLE", _rls),
}


def parse_command(tokens: list[Token], sql: str, line: int) -> tuple[Detail, ...] | None:
    """Parse a statement with an explicit parser: its details; None if none applies.

    Raises CommandSyntaxError if the statement starts like one of them but
    reads differently; the caller then keeps it opaque.
    """
    if len(tokens) < 2:
        return None
    first = tokens[0].text.upper()
    if first == "SET" and _is_search_path(tokens):
        return (_search_path(Cursor(tokens, sql), line),)
    handler = HANDLERS.get((first, tokens[1].text.upper()))
    if handler is None or (handler[1] is _rls and not _is_rls(tokens)):
        return None
    result = handler[1](Cursor(tokens, sql), line)
    return result if isinstance(result, tuple) else (result,)
