"""Safe YAML loading that remembers where every value stands.

PyYAML's SafeLoader composes the node tree (no arbitrary tags); we build
plain Python data from it ourselves so that we can
- reject duplicate keys (PyYAML silently keeps the last one),
- cap alias expansion (a "billion laughs" file fails fast),
- record the line and column of every path for error messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# A real matrix has a few thousand nodes; far beyond that is an alias bomb.
MAX_NODES = 100_000

PathKey = tuple[Any, ...]


@dataclass(frozen=True)
class Location:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Problem:
    """One located problem of the matrix file, message in German."""

    path: PathKey
    message: str
    location: Location | None = None
    at_key: bool = False  # the problem is the key itself (a name), not its value

    def dotted(self) -> str:
        return dotted(self.path)


class YamlProblems(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.message for p in problems))
        self.problems = problems


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(Wurzel)"


@dataclass
class Loaded:
    data: Any
    positions: dict[PathKey, Location]
    key_positions: dict[PathKey, Location]

    def locate(self, path: PathKey, key: bool = False) -> Location | None:
        """Best location for a path: the node itself, else the key of its nearest parent."""
        probe = tuple(path)
        if key and probe in self.key_positions:
            return self.key_positions[probe]
        if probe in self.positions:
            return self.positions[probe]
        while probe:
            probe = probe[:-1]
            if probe in self.key_positions:
                return self.key_positions[probe]
            if probe in self.positions:
                return self.positions[probe]
        return self.positions.get((), None)


_STANDARD_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


class _Builder:
    def __init__(self) -> None:
        self.loader = yaml.SafeLoader("")
        self.count = 0
        self.positions: dict[PathKey, Location] = {}
        self.key_positions: dict[PathKey, Location] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblems([Problem(path, f"zu viele Knoten (über {MAX_NODES}); Alias-Bombe?", _loc(node))])
        self.positions.setdefault(path, _loc(node))
        if node.tag == "tag:yaml.org,2002:timestamp":  # an unquoted date: YAML 1.1 reads a date, 1.2 a text
            raise YamlProblems(
                [Problem(path, f"Datum in Anführungszeichen schreiben: \"{node.value}\" (ohne liest YAML 1.1 "
                               "ein Datum, YAML 1.2 einen Text)", _loc(node))]
            )  # fmt: skip
        if node.tag not in _STANDARD_TAGS:
            raise YamlProblems([Problem(path, f"unzulässiges YAML-Tag „{node.tag}“", _loc(node))])
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: PathKey = ()) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise YamlProblems([Problem((), "Schlüssel müssen einfache Werte sein", _loc(node))])
        value = self.loader.construct_object(node)
        if not node.style:  # plain (unquoted; libyaml says "", PyYAML None): 1.1 and 1.2 must agree
            problem = ambiguous(node.value, value)
            if problem:
                self.problems.append(Problem(path, problem, _loc(node)))
        return value

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblems([Problem(path, "Merge-Schlüssel „<<“ sind nicht erlaubt", _loc(key_node))])
            key = self._scalar(key_node, path)
            child = path + (key,)
            if key in result:
                first = self.key_positions[child]
                self.problems.append(
                    Problem(child, f"Schlüssel „{key}“ ist doppelt (zuerst in Zeile {first.line})", _loc(key_node))
                )
                continue
            self.key_positions[child] = _loc(key_node)
            result[key] = self.build(value_node, child)
        return result


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution): what a 1.2 reader
# (ruamel.yaml, gcloud, Go yaml.v3) makes of a plain scalar; everything else is a string.
_NULL_12 = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_12 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)


def yaml12(text: str) -> Any:
    """The value a YAML 1.2 (core schema) reader gives a plain scalar."""
    if _NULL_12.match(text):
        return None
    if text in _BOOL_12:
        return _BOOL_12[text]
    if _INT_12.match(text):
        return int(text[2:], 8) if text.startswith("0o") else int(text, 16) if text.startswith("0x") else int(text)
    if _FLOAT_12.match(text):
        special = text.lstrip("+-").lower()
        if special in (".inf", ".nan"):
            return float(("-" if text.startswith("-") else "") + special[1:])
        return float(text)
    return text


def ambiguous(text: str, value_11: Any) -> str | None:
    """German problem when a plain scalar reads differently under YAML 1.1 (PyYAML) and 1.2, else None."""
    value_12 = yaml12(text)
    same = type(value_11) is type(value_12) and (
        value_11 == value_12 or (value_11 != value_11 and value_12 != value_12)  # noqa: PLR0124 - NaN
    )
    if same:
        return None
    return (
        f"„{text}“ ist mehrdeutig: YAML 1.1 liest {_shown(value_11)}, YAML 1.2 liest {_shown(value_12)}; "
        f'als Text gemeint: in Anführungszeichen setzen ("{text}"){_meant(text, value_11, value_12)}'
    )


def _meant(text: str, value_11: Any, value_12: Any) -> str:
    """The unambiguous spelling of the non-text meaning (same in YAML 1.1 and 1.2)."""
    if isinstance(value_11, bool):
        return f"; als Wahrheitswert gemeint: {'true' if value_11 else 'false'} schreiben"
    if isinstance(value_11, int):
        digits = text.lstrip("+-")
        if digits[:1] == "0" and digits[1:].isdigit():  # 0755: octal in 1.1, decimal in 1.2
            decimal = int(text, 10)
            return f"; als Zahl gemeint: {decimal} (dezimal) oder {value_11} (oktal gelesen) schreiben"
        return f"; als Zahl gemeint: {value_11} schreiben"
    if isinstance(value_12, int) and not isinstance(value_12, bool):
        return f"; als Zahl gemeint: {value_12} schreiben"
    number = value_12 if isinstance(value_12, float) else value_11 if isinstance(value_11, float) else None
    if number is not None and math.isfinite(number):
        spelled = repr(number)
        mantissa, _, exponent = spelled.partition("e")
        if "." not in mantissa:
            spelled = f"{mantissa}.0" + (f"e{exponent}" if exponent else "")
        return f"; als Zahl gemeint: {spelled} schreiben"
    return ""


def _shown(value: Any) -> str:
    kind = {bool: "Wahrheitswert", int: "Zahl", float: "Zahl", str: "Text", type(None): "nichts"}.get(type(value), "")
    return f"{kind} {value!r}" if value is not None else "nichts (null)"


def _loc(node: yaml.Node) -> Location:
    return Location(node.start_mark.line + 1, node.start_mark.column + 1)


def _compose(text: str) -> yaml.Node | None:
    """Compose with libyaml when present (about 20x faster); on a syntax error
    parse again in pure Python, whose messages we translate."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_text(text: str) -> Loaded:
    """Parse YAML text; raise YamlProblems with locations on any problem."""
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(mark.line + 1, mark.column + 1) if mark else None
        raise YamlProblems([Problem((), f"YAML-Syntaxfehler: {german_yaml(exc)}", loc)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem((), f"YAML-Fehler: {exc}", None)]) from None
    if root is None:
        raise YamlProblems([Problem((), "die Datei ist leer", Location(1, 1))])
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise YamlProblems([Problem((), "zu tief verschachtelt oder rekursiver Alias", None)]) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        loc = Location(mark.line + 1, mark.column + 1) if mark else None
        raise YamlProblems([Problem((), f"unzulässiger YAML-Wert: {exc.problem}", loc)]) from None
    if builder.problems:
        raise YamlProblems(builder.problems)
    return Loaded(data, builder.positions, builder.key_positions)


def load_file(path: Path) -> Loaded:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlProblems([Problem((), "Datei nicht gefunden", None)]) from None
    except UnicodeDecodeError as exc:
        raise YamlProblems([Problem((), f"Datei ist kein UTF-8 (Byte {exc.start})", None)]) from None
    return load_text(text)


_YAML_PHRASES = {
    "could not find expected ':'": "erwartetes „:“ fehlt",
    "mapping values are not allowed here": "hier ist kein „schlüssel: wert“ erlaubt (Einrückung prüfen)",
    "found character '\\t' that cannot start any token": "Tabulator gefunden; YAML erlaubt nur Leerzeichen zum Einrücken",
    "found undefined alias": "unbekannter Alias",
    "expected <block end>, but found": "Einrückung passt nicht: Blockende erwartet, gefunden",
    "found unexpected end of stream": "unerwartetes Dateiende",
    "found unknown escape character": "unbekanntes Escape-Zeichen",
    "did not find expected key": "erwarteter Schlüssel fehlt (Einrückung prüfen)",
    "did not find expected node content": "erwarteter Inhalt fehlt",
    "could not determine a constructor for the tag": "unzulässiges YAML-Tag",
    "found duplicate anchor": "Anker doppelt vergeben",
}


_YAML_PATTERNS = (
    (r"expected (.+?), but found (.+)", r"erwartet \1, gefunden \2"),
    (r"expected (.+?), but got (.+)", r"erwartet \1, gefunden \2"),
    (
        r"found character (.+?) that cannot start any token",
        r"Zeichen \1 darf hier nicht am Anfang stehen (Wert in Anführungszeichen setzen)",
    ),
    (r"while (?:scanning|parsing) (.+)", r"beim Lesen von \1"),
)


def german_yaml(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or str(exc)
    for english, german in _YAML_PHRASES.items():
        if problem.startswith(english):
            return german + problem[len(english) :]
    for pattern, replacement in _YAML_PATTERNS:
        if re.fullmatch(pattern, problem, flags=re.DOTALL):
            return re.sub(pattern, replacement, problem, flags=re.DOTALL).replace(" or ", " oder ")
    return problem
