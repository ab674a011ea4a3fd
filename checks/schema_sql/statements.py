"""Split a schema file into statements the way psql does, and classify each.

This is the statement level below sqlglot: it finds where statements begin
and end, what kind they are (by their leading keywords) and which parts of
the file are not SQL at all, without understanding the grammar:

- comments (`--`, nested `/* */`), strings (`'…'`, `E'…'` with backslash
  escapes), quoted identifiers, dollar quoting (`$$…$$`, `$tag$…$tag$`);
- a semicolon ends a statement only outside parentheses and outside the
  `BEGIN … END` of a SQL-standard function body (CREATE FUNCTION … BEGIN
  ATOMIC), the same heuristic as psql's lexer (src/fe_utils/psqlscan.l);
- `COPY … FROM stdin;` is followed by data lines up to a line `\\.`
  (psql, "COPY … FROM STDIN"; PostgreSQL 16 docs, sql-copy.html);
- a backslash outside quotes starts a psql meta-command up to the end of the
  line (psql docs, "Meta-Commands"), e.g. pg_dump's `\\restrict`;
- a UTF-8 byte-order mark at the start is recorded, not treated as text.

`split()` raises SchemaSyntaxError only for text that cannot be split at all
(a string, quoted name, dollar quote or comment that never closes). Whether
a statement is valid SQL is for PostgreSQL to judge, not for this module.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from umgebungsmatrix.errors import InputError

BOM = "\ufeff"

# Statement-leading keywords of PostgreSQL 16 (SQL Commands reference, sql-commands.html).
COMMANDS = frozenset(
    [
        "ABORT",
        "ALTER",
        "ANALYZE",
        "ANALYSE",
        "BEGIN",
        "CALL",
        "CHECKPOINT",
        "CLOSE",
        "CLUSTER",
        "COMMENT",
        "COMMIT",
        "COPY",
        "CREATE",
        "DEALLOCATE",
        "DECLARE",
        "DELETE",
        "DISCARD",
        "DO",
        "DROP",
        "END",
        "EXECUTE",
        "EXPLAIN",
        "FETCH",
        "GRANT",
        "IMPORT",
        "INSERT",
        "LISTEN",
        "LOAD",
        "LOCK",
        "MERGE",
        "MOVE",
        "NOTIFY",
        "PREPARE",
        "REASSIGN",
        "REFRESH",
        "REINDEX",
        "RELEASE",
        "RESET",
        "REVOKE",
        "ROLLBACK",
        "SAVEPOINT",
        "SECURITY",
        "SELECT",
        "SET",
        "SHOW",
        "START",
        "TABLE",
        "TRUNCATE",
        "UNLISTEN",
        "UPDATE",
        "VACUUM",
        "VALUES",
        "WITH",
    ]
)
# Object types after CREATE/ALTER/DROP (one or two words), PostgreSQL 16.
OBJECT_TYPES = frozenset(
    [
        "AGGREGATE",
        "CAST",
        "COLLATION",
        "CONVERSION",
        "DATABASE",
        "DOMAIN",
        "EXTENSION",
        "FUNCTION",
        "GROUP",
        "INDEX",
        "LANGUAGE",
        "POLICY",
        "PROCEDURE",
        "PUBLICATION",
        "ROLE",
        "ROUTINE",
        "RULE",
        "SCHEMA",
        "SEQUENCE",
        "SERVER",
        "STATISTICS",
        "SUBSCRIPTION",
        "TABLE",
        "TABLESPACE",
        "TRANSFORM",
        "TRIGGER",
        "TYPE",
        "USER",
        "VIEW",
        "OPERATOR",
        "SYSTEM",
    ]
)
TWO_WORD_TYPES = {
    ("ACCESS", "METHOD"),
    ("EVENT", "TRIGGER"),
    ("FOREIGN", "TABLE"),
    ("FOREIGN", "DATA"),
    ("MATERIALIZED", "VIEW"),
    ("TEXT", "SEARCH"),
    ("USER", "MAPPING"),
    ("DEFAULT", "PRIVILEGES"),
    ("LARGE", "OBJECT"),
    ("OPERATOR", "CLASS"),
    ("OPERATOR", "FAMILY"),
    ("OWNED", "BY"),
}
# Words between CREATE and the object type that do not change the kind.
CREATE_MODIFIERS = frozenset(
    [
        "OR",
        "REPLACE",
        "UNIQUE",
        "TEMP",
        "TEMPORARY",
        "UNLOGGED",
        "GLOBAL",
        "LOCAL",
        "RECURSIVE",
        "TRUSTED",
        "PROCEDURAL",
        "CONSTRAINT",
        "DEFAULT",
    ]
)

_LEX = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block>/\*)
  | (?P<estring>[eE]')
  | (?P<string>')
  | (?P<ident>")
  | (?P<dollar>\$(?:[^\W\d]\w*)?\$)
  | (?P<semicolon>;)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<backslash>\\)
  | (?P<word>[^\W\d][\w$]*)
  | (?P<other>[0-9+*=<>,.:!%^&|~?@#\[\]{}`]+|.)
""",
    re.VERBOSE | re.DOTALL,
)
_BLOCK_TOKEN = re.compile(r"/\*|\*/")
# inside a statement whose leading words are known: everything up to the next character that matters
_BORING = re.compile(r"[^'\"$;()\\/\-]+")
_ESTRING_END = re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL)
_STRING_END = re.compile(r"(?:[^']|'')*'", re.DOTALL)
_IDENT_END = re.compile(r'(?:[^"]|"")*"', re.DOTALL)
_COPY_END = re.compile(r"^\\\.\r?$", re.MULTILINE)


class SchemaSyntaxError(InputError):
    """The file cannot be read as SQL text. str() is German with file:line:column."""

    def __init__(self, path: str, line: int, column: int, message: str):
        self.path, self.line, self.column, self.message = path, line, column, message
        super().__init__(f"{path}:{line}:{column}: Syntaxfehler: {message}")


class Lines:
    """Line and column (1-based) of a character offset, by binary search."""

    def __init__(self, text: str):
        starts = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]
        self.starts = starts[:-1]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line(self, offset: int) -> int:
        return bisect_right(self.starts, offset)


@dataclass(frozen=True)
class Piece:
    """One statement (or psql meta-command) of the file.

    start/end: character offsets of its text in the file (end exclusive,
    without the terminating semicolon); line/column: 1-based position of its
    first character. words: the first keywords in upper case (quoted names
    are kept as written), for classification. For `COPY … FROM stdin`,
    data is the (start, end) of the data lines after the statement and
    data_rows their number (the `\\.` line not counted).
    """

    start: int
    end: int
    line: int
    column: int
    end_line: int
    kind: str
    words: tuple[str, ...]
    meta: bool = False  # a psql meta-command, not SQL
    data: tuple[int, int] | None = None
    data_rows: int = 0


@dataclass(frozen=True)
class Split:
    pieces: tuple[Piece, ...]
    bom: bool  # the file starts with a UTF-8 byte-order mark
    lines: Lines


def classify(words: tuple[str, ...]) -> str:
    """Kind of a statement from its leading keywords, e.g. 'CREATE FUNCTION'.

    CREATE OR REPLACE FUNCTION -> 'CREATE FUNCTION', CREATE UNIQUE INDEX ->
    'CREATE INDEX', CREATE MATERIALIZED VIEW -> 'CREATE MATERIALIZED VIEW'.
    Unknown words are kept: 'CREAT TABLE' -> 'CREAT'.
    """
    if not words:
        return ""
    first = words[0]
    if first in ("CREATE", "ALTER", "DROP"):
        rest = [w for w in words[1:] if not (first == "CREATE" and w in CREATE_MODIFIERS)]
        if not rest:
            return first
        if tuple(rest[:2]) in TWO_WORD_TYPES:
            return f"{first} {rest[0]} {rest[1]}"
        return f"{first} {rest[0]}"
    if first in ("COMMENT", "SECURITY") and len(words) > 1:
        return f"{first} {words[1]}"
    if first == "START" and len(words) > 1:
        return "START TRANSACTION"
    return first


def unknown_words(words: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(wrong word, suggestions) if the leading keywords are no PostgreSQL 16 command."""
    if not words:
        return None
    first = words[0]
    if first not in COMMANDS and first != "(":
        return first, difflib.get_close_matches(first, sorted(COMMANDS), n=1, cutoff=0.6)
    if first in ("CREATE", "ALTER", "DROP"):
        rest = [w for w in words[1:] if not (first == "CREATE" and w in CREATE_MODIFIERS)]
        if (
            rest
            and rest[0] not in OBJECT_TYPES
            and tuple(rest[:2]) not in TWO_WORD_TYPES
            and rest[0] not in {w for pair in TWO_WORD_TYPES for w in pair[:1]}
        ):
            known = sorted(OBJECT_TYPES | {p[0] for p in TWO_WORD_TYPES})
            return rest[0], difflib.get_close_matches(rest[0], known, n=1, cutoff=0.6)
    return None


def _is_routine(words: list[str]) -> bool:
    """CREATE [OR REPLACE] {FUNCTION|PROCEDURE}: psql tracks BEGIN … END there."""
    head = list(words[:4])
    if len(head) >= 2 and head[0] == "CREATE" and head[1] in ("FUNCTION", "PROCEDURE"):
        return True
    return len(head) >= 4 and head[:3] == ["CREATE", "OR", "REPLACE"] and head[3] in ("FUNCTION", "PROCEDURE")


def _copy_from_stdin(words: list[str]) -> bool:
    if not words or words[0] != "COPY":
        return False
    return any(word == "FROM" and words[i + 1] in ("STDIN", "PSTDIN") for i, word in enumerate(words[:-1]))


def split(text: str, path: str = "schema.sql") -> Split:
    """All statements and psql meta-commands of `text`, in order.

    Raises SchemaSyntaxError (German, file:line:column of the opening) when a
    string, quoted name, dollar quote or block comment never closes.
    """
    lines = Lines(text)
    bom = text.startswith(BOM)
    pos = 1 if bom else 0
    size = len(text)
    pieces: list[Piece] = []
    start: int | None = None  # offset of the current statement's first token
    last_end = 0  # end offset of the current statement's last token
    words: list[str] = []  # leading words (all at depth 0 for COPY detection)
    depth = begin_depth = 0
    routine = False

    def unclosed(offset: int, what: str):
        line, column = lines.position(offset)
        return SchemaSyntaxError(path, line, column, f"{what} wird nie geschlossen (bis zum Dateiende gelesen)")

    def finish(end: int) -> None:
        nonlocal start, words, depth, begin_depth, routine
        if start is None:
            return
        line, column = lines.position(start)
        key = tuple(words[:8])
        piece = Piece(start, end, line, column, lines.line(max(start, end - 1)), classify(key), key)
        pieces.append(piece)
        start, words, depth, begin_depth, routine = None, [], 0, 0, False

    match = _LEX.match
    boring = _BORING.match
    while pos < size:
        if start is not None and len(words) >= 8 and not routine and words[0] != "COPY":
            run = boring(text, pos)
            if run is not None:
                pos = last_end = run.end()
                while text[last_end - 1].isspace():
                    last_end -= 1
                if pos >= size:
                    break
                if (
                    text[pos] == "'"
                    and text[pos - 1] in "eE"
                    and (pos < 2 or not (text[pos - 2].isalnum() or text[pos - 2] in "_$"))
                ):
                    m2 = _ESTRING_END.match(text, pos + 1)
                    if m2 is None:
                        raise unclosed(pos - 1, "Zeichenkette E'…")
                    pos = last_end = m2.end()
                    continue
        m = match(text, pos)
        assert m is not None  # the token pattern ends with a one-character catch-all
        kind = m.lastgroup
        token_start, pos = pos, m.end()
        if kind in {"ws", "line_comment"}:
            continue
        if kind == "block":
            level, scan = 1, pos
            while level:
                b = _BLOCK_TOKEN.search(text, scan)
                if b is None:
                    raise unclosed(token_start, "Blockkommentar /* …")
                level += 1 if b.group() == "/*" else -1
                scan = b.end()
            pos = scan
            continue
        if kind == "backslash" and start is None:
            end = text.find("\n", token_start)
            end = size if end < 0 else end
            line, column = lines.position(token_start)
            command = text[token_start:end].rstrip()
            meta = re.match(r"\\[^\s\\]*", command)
            assert meta is not None  # the command starts with the backslash just matched
            name = meta.group()
            pieces.append(
                Piece(token_start, token_start + len(command), line, column, line, f"psql {name}", (name,), meta=True)
            )
            pos = end
            continue
        if start is None:
            if kind == "semicolon":
                continue  # an empty statement
            start = token_start
        if kind == "estring":
            m2 = _ESTRING_END.match(text, pos)
            if m2 is None:
                raise unclosed(token_start, "Zeichenkette E'…")
            pos = m2.end()
        elif kind == "string":
            m2 = _STRING_END.match(text, pos)
            if m2 is None:
                raise unclosed(token_start, "Zeichenkette '…")
            pos = m2.end()
        elif kind == "ident":
            m2 = _IDENT_END.match(text, pos)
            if m2 is None:
                raise unclosed(token_start, 'Name in Anführungszeichen "…')
            pos = m2.end()
            if len(words) < 8:
                words.append(text[token_start:pos])
        elif kind == "dollar":
            tag = m.group()
            close = text.find(tag, pos)
            if close < 0:
                raise unclosed(token_start, f"Dollar-Quoting {tag}…")
            pos = close + len(tag)
        elif kind == "lparen":
            depth += 1
            if not words:
                words.append("(")
        elif kind == "rparen":
            depth = max(0, depth - 1)
        elif kind == "word":
            upper = m.group().upper()
            if len(words) < 8 or (words and words[0] == "COPY" and depth == 0):
                words.append(upper)
            if len(words) <= 4 and _is_routine(words):
                routine = True
            if routine and depth == 0:
                if upper == "BEGIN" or (upper == "CASE" and begin_depth):
                    begin_depth += 1
                elif upper == "END" and begin_depth:
                    begin_depth -= 1
        elif kind == "semicolon" and depth == 0 and begin_depth == 0:
            is_copy = _copy_from_stdin(words)
            finish(last_end)
            if is_copy:
                pos = _copy_data(text, pos, pieces, lines)
            continue
        last_end = pos
    if start is not None:
        finish(last_end)
    return Split(tuple(pieces), bom, lines)


def _copy_data(text: str, pos: int, pieces: list[Piece], lines: Lines) -> int:
    """Attach the data lines after `COPY … FROM stdin;` to the last piece; return the offset after `\\.`."""
    newline = text.find("\n", pos)
    data_start = len(text) if newline < 0 else newline + 1
    end_match = _COPY_END.search(text, data_start)
    data_end = end_match.start() if end_match else len(text)
    after = end_match.end() if end_match else len(text)
    body = text[data_start:data_end]
    rows = body.count("\n") + (1 if body and not body.endswith("\n") else 0)
    last = pieces[-1]
    pieces[-1] = Piece(
        last.start,
        last.end,
        last.line,
        last.column,
        lines.line(max(data_start, after - 1)),
        last.kind,
        last.words,
        data=(data_start, data_end),
        data_rows=rows,
    )
    return after
