"""German messages for pydantic validation errors, with the data path."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .yamlload import PathKey, Problem

_TYPE_NAMES = {
    "int_type": "eine Ganzzahl",
    "int_parsing": "eine Ganzzahl",
    "int_from_float": "eine Ganzzahl",
    "float_type": "eine Zahl",
    "float_parsing": "eine Zahl",
    "string_type": "einen Text",
    "bool_type": "true oder false",
    "bool_parsing": "true oder false",
    "list_type": "eine Liste",
    "dict_type": "eine Zuordnung (schlüssel: wert)",
    "model_type": "eine Zuordnung (schlüssel: wert)",
    "model_attributes_type": "eine Zuordnung (schlüssel: wert)",
}


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "eine Zuordnung"
    if isinstance(value, list):
        return "eine Liste"
    if value is None:
        return "nichts (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"„{value:g}“"
    return f"„{value}“"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _german_list(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" in German."""
    return expected.replace(" or ", " oder ")


def german_message(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return f"Pflichtfeld „{err['loc'][-1]}“ fehlt"
    if kind == "extra_forbidden":
        return f"unbekannter Schlüssel „{err['loc'][-1]}“"
    if kind in _TYPE_NAMES:
        return f"erwartet {_TYPE_NAMES[kind]}, gefunden {_show(value)}"
    if kind == "greater_than_equal":
        return f"muss mindestens {_num(ctx['ge'])} sein, ist {_show(value)}"
    if kind == "greater_than":
        return f"muss größer als {_num(ctx['gt'])} sein, ist {_show(value)}"
    if kind == "less_than_equal":
        return f"darf höchstens {_num(ctx['le'])} sein, ist {_show(value)}"
    if kind == "less_than":
        return f"muss kleiner als {_num(ctx['lt'])} sein, ist {_show(value)}"
    if kind in ("literal_error", "enum"):
        return f"erlaubt sind {_german_list(ctx['expected'])}, gefunden {_show(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} hat nicht die erwartete Form ({ctx['pattern']})"
    if kind == "too_short":
        return f"braucht mindestens {ctx['min_length']} Eintrag/Einträge"
    if kind == "string_too_short":
        return "darf nicht leer sein"
    if kind == "too_long":
        return f"höchstens {ctx['max_length']} Einträge erlaubt"
    if kind == "union_tag_invalid":
        return (
            f"„{ctx['discriminator'].strip(chr(39))}“ ist {_show(ctx['tag'])}; "
            f"erlaubt sind {_german_list(ctx['expected_tags'])}"
        )
    if kind == "union_tag_not_found":
        return f"Pflichtfeld „{ctx['discriminator'].strip(chr(39))}“ fehlt"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind.startswith("date_"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"erwartet ein Datum „JJJJ-MM-TT“ in Anführungszeichen, gefunden die Zahl {_show(value)}"
        return f'{_show(value)} ist kein Kalenderdatum; erwartet „JJJJ-MM-TT“ in Anführungszeichen, z. B. "2026-12-15"'
    return err["msg"]


def _clean_path(err: dict[str, Any], data: Any) -> PathKey:
    """Drop pydantic-only parts of a loc (union tags, '[key]') to get a data path."""
    loc, kind = tuple(err["loc"]), err["type"]
    out: list[Any] = []
    node = data
    parts = list(loc[:-1] if kind == "missing" else loc)
    for part in parts:
        if part == "[key]":
            continue
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        # anything else (a union tag like 'env_datei') does not exist in the data
    if kind == "missing" and loc:
        out.append(loc[-1])
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        out.append(str((err.get("ctx") or {}).get("discriminator", "")).strip("'"))
    return tuple(out)


def problems_from(exc: ValidationError, data: Any) -> list[Problem]:
    problems = []
    for details in exc.errors(include_url=False):
        err = dict(details)
        problems.append(Problem(_clean_path(err, data), german_message(err)))
    return problems
