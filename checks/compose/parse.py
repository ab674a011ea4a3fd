"""Parse the rendered compose text once per check run; line numbers on demand.

The data comes from libyaml (fast); the positions of keys only when a
finding needs one (umgebungsmatrix.matrix.yamlload, pure Python, slower).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import yaml

from umgebungsmatrix.matrix.yamlload import Loaded, YamlProblems, german_yaml, load_text

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Parsed:
    path: str
    text: str
    data: Any = None
    problem: str = ""
    _located: list[Loaded | None] = field(default_factory=list, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problem

    def where(self, *keys: Any) -> str:
        """'file:line' of the deepest existing key of the path."""
        loaded = self._positions()
        if loaded is None:
            return self.path
        location = loaded.locate(tuple(keys), key=True)
        return f"{self.path}:{location.line}" if location else self.path

    def _positions(self) -> Loaded | None:
        if not self._located:
            try:
                self._located.append(load_text(self.text))
            except YamlProblems:
                self._located.append(None)
        return self._located[0]


@functools.lru_cache(maxsize=8)
def parse(path: str, text: str) -> Parsed:
    try:
        return Parsed(path, text, yaml.load(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        return Parsed(f"{path}{line}", text, None, german_yaml(exc))
    except yaml.YAMLError as exc:
        return Parsed(path, text, None, str(exc))
