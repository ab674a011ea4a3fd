"""Read generated Cloud Run artifacts back: YAML manifests with line numbers, deploy commands.

Checks look at the rendered TEXT (what `make generate` writes), not at the
dicts it was made from, so a hand-made or broken file fails the same way.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.cloudrun_manifests import OUT_DIR, manifest_path
from umgebungsmatrix.facts import CloudStage, Facts
from umgebungsmatrix.matrix.yamlload import Loaded, YamlProblems, load_text

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Manifest:
    path: str
    stage: CloudStage
    text: str
    data: Any
    facts: Facts | None = None  # set when the text is the unedited render: findings point at the matrix
    origin: tuple[Any, ...] = ()  # matrix path of the service

    def place(self, path: tuple[Any, ...] = ()) -> dict[str, str]:
        """Finding fields: the matrix line that causes it (generated file as context), else the file line."""
        if self.facts is not None and self.origin:
            return {"where": self.facts.where(self.origin), "context": self.where(path)}
        return {"where": self.where(path)}

    @property
    def kind(self) -> str:
        return self.data.get("kind", "") if isinstance(self.data, dict) else ""

    @property
    def name(self) -> str:
        meta = self.data.get("metadata") if isinstance(self.data, dict) else None
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    def where(self, path: tuple[Any, ...] = ()) -> str:
        line = line_of(self.text, path)
        return f"{self.path}:{line}" if line else self.path


def line_of(text: str, path: tuple[Any, ...]) -> int | None:
    """1-based line of the node at `path` (the key of the nearest existing parent)."""
    loaded = _positions(text)
    location = loaded.locate(tuple(path), key=True) if loaded is not None else None
    return location.line if location else None


@functools.lru_cache(maxsize=64)
def _positions(text: str) -> Loaded | None:
    """Positions of every path, from the same loader the matrix uses (only when a finding needs a line)."""
    try:
        return load_text(text)
    except YamlProblems:
        return None


@functools.lru_cache(maxsize=256)
def load_yaml(text: str) -> Any:
    """Parsed YAML of a rendered text; every check reads the same texts, so parse once."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def stage_dir(stage: CloudStage) -> str:
    return f"{OUT_DIR}/{stage.id}/"


def manifests(facts: Facts, artifacts: Mapping[str, str]) -> Iterator[Manifest]:
    """Every YAML artifact under cloudrun/<cloud stage>/, parsed (None data if unparsable)."""
    rendered = render_all(facts)
    for stage in facts.cloud_stages:
        prefix = stage_dir(stage)
        origins = {manifest_path(stage, s): s.origin for s in stage.resources}
        for path in sorted(artifacts):
            if path.startswith(prefix) and path.endswith((".yaml", ".yml")):
                text = artifacts[path]
                origin = origins.get(path, ())
                pristine = facts if origin and rendered.get(path) == text else None
                yield Manifest(path, stage, text, load_yaml(text), pristine, origin)


def get(data: Any, *path: Any, default: Any = None) -> Any:
    for part in path:
        if (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        ):
            data = data[part]
        else:
            return default
    return data


def pod_spec_path(kind: str) -> tuple[Any, ...]:
    return ("spec", "template", "spec", "template", "spec") if kind == "Job" else ("spec", "template", "spec")


def containers(manifest: Manifest) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    base = pod_spec_path(manifest.kind) + ("containers",)
    items = get(manifest.data, *base, default=[]) or []
    return [(base + (i,), item) for i, item in enumerate(items) if isinstance(item, dict)]


def argv(container: dict[str, Any]) -> list[str]:
    return [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]


# --- deploy scripts -------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: int
    argv: list[str]

    def _parts(self) -> tuple[str, str, str]:
        """(noun, verb, target): `gcloud run deploy web` -> ('services', 'deploy', 'web')."""
        rest = self.argv[2:] if self.argv[:2] == ["gcloud", "run"] else []
        if rest and rest[0] in ("services", "jobs"):
            noun, rest = rest[0], rest[1:]
        else:
            noun = "services"
        verb = rest[0] if rest else ""
        target = rest[1] if len(rest) > 1 and not rest[1].startswith("-") else ""
        return noun, verb, target

    @property
    def noun(self) -> str:
        return self._parts()[0]

    @property
    def verb(self) -> str:
        return self._parts()[1]

    @property
    def target(self) -> str:
        return self._parts()[2]

    @property
    def flags(self) -> dict[str, list[str]]:
        return flag_values(self.argv)


SCRIPT_COMMANDS = ("gcloud ", "env_vars ", "render ")  # what the checks read back from a deploy script


@functools.lru_cache(maxsize=16)
def commands(text: str) -> list[Command]:
    """gcloud, env_vars and render calls of a shell script, in order, continuation lines joined, quotes removed."""
    out: list[Command] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not buffer:
            if not line.startswith(SCRIPT_COMMANDS):
                continue
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        try:
            out.append(Command(start, shlex.split(buffer)))
        except ValueError:
            out.append(Command(start, buffer.split()))
        buffer = ""
    return out


def flag_values(argv: list[str]) -> dict[str, list[str]]:
    """--flag value / --flag=value / --switch → {flag: [values]} ('' for switches)."""
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            if "=" in arg:
                name, value = arg.split("=", 1)
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                name, value = arg, argv[i + 1]
                i += 1
            else:
                name, value = arg, ""
            out.setdefault(name, []).append(value)
        i += 1
    return out
