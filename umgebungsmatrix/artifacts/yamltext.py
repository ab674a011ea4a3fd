"""The one YAML writer of the generated files: block style, strings that stay strings.

Every string is written so that every reader of the generated files reads the
same string: PyYAML (YAML 1.1; docker-compose v1, our checks), ruamel.yaml in
YAML 1.1 mode (gcloud 528 reads manifests so: `y`/`n` are booleans, `5e-05`
a float) and YAML 1.2 readers (Go yaml.v3 in Compose v2, ruamel 1.2). A string
is written plain only if all three resolve it to a string (1.2: the core
schema, https://yaml.org/spec/1.2.2/#1032-tag-resolution), else single-quoted;
text with line breaks or control characters is double-quoted with escapes
(valid JSON, hence valid YAML in every version). Integers and booleans are
written as such.

Lists marked `Flow` are written on one line (compose commands and healthchecks).
Round trip (both readers give back the input) is tested.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml

_RESOLVER_11 = yaml.resolver.Resolver()
# YAML 1.2 core schema, plus the JSON schema spellings; anything else is a string.
_CORE_12 = re.compile(
    r"""^(?:
    ~|null|Null|NULL|
    true|True|TRUE|false|False|FALSE|
    [-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|
    [-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|
    [-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN
)$""",
    re.VERBOSE,
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = set(",[]{}")


class Flow(list[Any]):
    """A list written on one line: `[a, b, 'c d']`."""


@functools.lru_cache(maxsize=8192)
def is_plain_safe(text: str, flow: bool = False) -> bool:
    """Whether `text` can be written unquoted and is read back as this same string by YAML 1.1 and 1.2."""
    if not text or text != text.strip() or "\n" in text:
        return False
    first = text[0]
    dash_word = first == "-" and text[1:2] not in ("", " ")  # -A, --queues: plain in YAML
    if first in _INDICATORS and not dash_word:
        return False
    if ": " in text or " #" in text or text.endswith(":") or (flow and set(text) & _FLOW_INDICATORS):
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return False
    if _CORE_12.match(text):
        return False
    if _RESOLVER_11.resolve(yaml.ScalarNode, text, (True, False)) != "tag:yaml.org,2002:str":
        return False
    return _ruamel_11(text) == "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1)
def _ruamel_resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver(version=(1, 1))


def _ruamel_11(text: str) -> str:
    """The tag gcloud's reader (ruamel.yaml, YAML 1.1 mode) gives a plain scalar."""
    from ruamel.yaml.nodes import ScalarNode

    return str(_ruamel_resolver().resolve(ScalarNode, text, (True, False)))


def scalar(value: Any, flow: bool = False) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise TypeError(f"float {value!r} in a generated file: write numbers as strings or ints")
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\x85" for c in text):
        return json.dumps(text, ensure_ascii=False)
    if is_plain_safe(text, flow):
        return text
    return "'" + text.replace("'", "''") + "'"


def dump(value: Any, blank_lines: int = 0) -> str:
    """Block-style YAML text of nested dicts/lists; `blank_lines`: mapping depths (1 or 2) separated by a blank line."""
    return "\n".join(_emit(value, 0, blank_lines)) + "\n"


def _emit(value: Any, indent: int, blank: int, depth: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for i, (key, child) in enumerate(value.items()):
            if i and depth < blank:
                lines.append("")
            if isinstance(child, Flow):
                lines.append(f"{pad}{scalar(key)}: [{', '.join(scalar(x, flow=True) for x in child)}]")
            elif isinstance(child, (dict, list)) and child:
                lines.append(f"{pad}{scalar(key)}:")
                lines += _emit(child, indent + 2, blank, depth + 1)
            else:
                lines.append(f"{pad}{scalar(key)}: {_empty(child)}")
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item and not isinstance(item, Flow):
                block = _emit(item, indent + 2, blank, depth + 1)
                lines.append(f"{pad}- {block[0].lstrip()}")
                lines += block[1:]
            else:
                lines.append(f"{pad}- {_empty(item)}")
    return lines


def _empty(value: Any) -> str:
    if isinstance(value, Flow):
        return "[" + ", ".join(scalar(x, flow=True) for x in value) + "]"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)
