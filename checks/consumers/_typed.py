"""Typed, JSON-safe snapshots of YAML readings – shared by yaml_versions.py
(project venv: PyYAML, ruamel.yaml) and _sdk_helper.py (gcloud's own Python
with its bundled ruamel). Standard library only, Python 3.8 syntax."""

import base64
import datetime
import json

MERGE_TAG = "tag:yaml.org,2002:merge"


def typed(value):
    """``[type, value]`` lists that compare equal exactly when two readers
    produced the same type and value (floats by repr, ints as text)."""
    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, bytes):
        return ["binary", base64.b64encode(value).decode("ascii")]
    if isinstance(value, datetime.datetime):
        return ["timestamp", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["date", value.isoformat()]
    if isinstance(value, dict):
        return ["map", [[typed(k), typed(v)] for k, v in value.items()]]
    if isinstance(value, (list, tuple)):
        return ["seq", [typed(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((typed(v) for v in value), key=json.dumps)]
    return ["other", type(value).__name__, repr(value)]


def _path(parts):
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def scalar_records(construct, roots):
    """Every scalar node under ``roots`` (composed nodes of PyYAML or ruamel),
    each once (aliases are not followed twice), with its reading.

    ``construct(node)`` is the reader's own constructor. A record:
    ``{"line", "column" (1-based), "key", "path", "tag", "value"}``."""
    out, seen = [], set()

    def walk(node, parts, is_key):
        if id(node) in seen:
            return
        seen.add(id(node))
        kind = type(node).__name__
        if kind == "ScalarNode":
            if node.tag == MERGE_TAG:
                value = ["merge"]
            else:
                try:
                    value = typed(construct(node))
                except Exception:  # e.g. '=' (tag:yaml.org,2002:value): no constructor
                    value = ["unlesbar", node.tag]
            out.append(
                {
                    "line": node.start_mark.line + 1,
                    "column": node.start_mark.column + 1,
                    "key": is_key,
                    "path": _path(parts),
                    "tag": node.tag,
                    "value": value,
                }
            )
        elif kind == "SequenceNode":
            for index, item in enumerate(node.value):
                walk(item, parts + [index], False)
        elif kind == "MappingNode":
            for key, item in node.value:
                label = key.value if type(key).__name__ == "ScalarNode" else "?"
                walk(key, parts + [label], True)
                walk(item, parts + [label], False)

    for root in roots:
        walk(root, [], False)
    return out
