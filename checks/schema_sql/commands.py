"""Small, explicit parsers for the statements sqlglot keeps as opaque commands.

sqlglot (postgres dialect) parses tables, indexes and comments into trees but
falls back to an uninterpreted `exp.Command` for CREATE EXTENSION, CREATE
POLICY, DROP POLICY and ALTER TABLE ... ROW LEVEL SECURITY. These four are
read here from sqlglot's tokens, following the grammar of the PostgreSQL 16
reference pages; everything else stays opaque and is reported.
"""

from __future__ import annotations

from typing import Callable

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel, ParseError
from sqlglot.tokens import Token, TokenType

from .structure import Extension, Policy, PolicyDrop, QualifiedName, RlsChange

Detail = Extension | Policy | PolicyDrop | RlsChange
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
        if self.at_end() or self.current().token_type in (TokenType.L_PAREN, TokenType.R_PAREN,
                                                           TokenType.COMMA, TokenType.DOT):
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
                inner = self.tokens[self.pos + 1:i]
                self.pos = i + 1
                return self.sql[opening.end + 1:closing.start].strip(), opening, inner
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


def _expression(cur: Cursor) -> tuple[str, exp.Expression]:
    """A parenthesized SQL expression, parsed from the tokens already there."""
    text, opening, inner = cur.parenthesized()
    try:
        tree = _PARSER.parse(inner, cur.sql)[0] if inner else None
    except ParseError as err:
        raise CommandSyntaxError(opening, f"Ausdruck „{text}“ ist kein gültiges SQL: "
                                 f"{err.errors[0]['description']}") from None
    if tree is None:
        raise CommandSyntaxError(opening, "leerer Ausdruck in Klammern")
    return text, tree


def _references(*trees: exp.Expression | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Columns and current_setting() names an expression refers to."""
    columns: list[str] = []
    settings: list[str] = []
    for tree in trees:
        if tree is None:
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
    columns, settings = _references(using_tree, check_tree)
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


def _rls(cur: Cursor, line: int) -> RlsChange:
    # ALTER TABLE [IF EXISTS] [ONLY] name {ENABLE|DISABLE|FORCE|NO FORCE} ROW LEVEL SECURITY
    cur.expect("ALTER", "TABLE")
    cur.accept("IF", "EXISTS")
    cur.accept("ONLY")
    table = cur.qualified()
    for action in ("ENABLE", "DISABLE", "FORCE", "NO FORCE"):
        if cur.accept(*action.split()):
            break
    else:
        raise CommandSyntaxError(cur.current(), "erwartet ENABLE, DISABLE, FORCE oder NO FORCE")
    cur.expect("ROW", "LEVEL", "SECURITY")
    cur.finish()
    return RlsChange(table, action, line)


def _is_rls(tokens: list[Token]) -> bool:
    return [t.text.upper() for t in tokens[-3:]] == ["ROW", "LEVEL", "SECURITY"]


# (first two words) -> (statement kind, parser)
HANDLERS: dict[tuple[str, str], tuple[str, Callable[[Cursor, int], Detail]]] = {
    ("CREATE", "EXTENSION"): ("CREATE EXTENSION", _extension),
    ("CREATE", "POLICY"): ("CREATE POLICY", _policy),
    ("DROP", "POLICY"): ("DROP POLICY", _drop_policy),
    ("ALTER", "TABLE"): ("ALTER TABLE ROW LEVEL SECURITY", _rls),
}


def parse_command(tokens: list[Token], sql: str, line: int) -> tuple[str, Detail] | None:
    """Parse a statement with an explicit parser; None if none applies."""
    if len(tokens) < 2:
        return None
    handler = HANDLERS.get((tokens[0].text.upper(), tokens[1].text.upper()))
    if handler is None or (handler[1] is _rls and not _is_rls(tokens)):
        return None
    kind, parse = handler
    return kind, parse(Cursor(tokens, sql), line)
