"""Layer 3: every generated file, rendered in memory from the facts.

Each artifact is one module with `TITLE`, `OUTPUTS` (glob patterns of the
files it owns, for orphan detection) and one signature:

    render(facts: Facts) -> dict[str, str]    # repository-relative path -> full text; pure

`generate`, `check`, the site's file blocks and downloads, the secret scan and
the golden tests all iterate ARTIFACTS; nothing imports an artifact by name
to find files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import ModuleType

from ..facts import Facts
from . import (
    app_facts, cloudrun_manifests, compose_file, deploy_scripts, env_example, json_schema, offline_override,
    stage_pages,
)
from .common import GENERATED_MARK

ARTIFACTS: tuple[ModuleType, ...] = (
    json_schema, compose_file, env_example, app_facts, offline_override, cloudrun_manifests, deploy_scripts,
    stage_pages,
)


class Rendered(Mapping[str, str]):
    """All generated files of one facts object: path -> text, and which artifact made each."""

    def __init__(self, files: dict[str, str], owners: dict[str, str]):
        self.files = files
        self.owners = owners  # path -> artifact TITLE

    def __getitem__(self, path: str) -> str:
        return self.files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


_CACHE: dict[int, tuple[Facts, Rendered]] = {}


def render_all(facts: Facts) -> Rendered:
    """Every artifact rendered (cached per facts object)."""
    cached = _CACHE.get(id(facts))
    if cached is not None and cached[0] is facts:
        return cached[1]
    files: dict[str, str] = {}
    owners: dict[str, str] = {}
    for artifact in ARTIFACTS:
        for path, text in artifact.render(facts).items():
            if path in files:
                raise AssertionError(f"{path} wird von zwei Artefakten erzeugt ({owners[path]}, {artifact.TITLE})")
            files[path] = text
            owners[path] = artifact.TITLE
    rendered = Rendered(files, owners)
    _CACHE.clear()
    _CACHE[id(facts)] = (facts, rendered)
    return rendered


__all__ = ["ARTIFACTS", "GENERATED_MARK", "Rendered", "render_all"]
