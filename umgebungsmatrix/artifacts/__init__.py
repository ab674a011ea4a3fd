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
    app_facts,
    cloudrun_manifests,
    compose_file,
    deploy_scripts,
    env_example,
    json_schema,
    offline_override,
    stage_pages,
)
from .common import GENERATED_MARK, rendered

ARTIFACTS: tuple[ModuleType, ...] = (
    json_schema,
    compose_file,
    env_example,
    app_facts,
    offline_override,
    cloudrun_manifests,
    deploy_scripts,
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


def render_all(facts: Facts) -> Rendered:
    """Every artifact rendered (once per facts object)."""
    cached = facts.memo.get(__name__)
    if isinstance(cached, Rendered):
        return cached
    files: dict[str, str] = {}
    owners: dict[str, str] = {}
    for artifact in ARTIFACTS:
        for path, text in rendered(facts, artifact).items():
            if path in files:
                raise AssertionError(f"{path} wird von zwei Artefakten erzeugt ({owners[path]}, {artifact.TITLE})")
            files[path] = text
            owners[path] = artifact.TITLE
    result = Rendered(files, owners)
    facts.memo[__name__] = result
    return result


__all__ = ["ARTIFACTS", "GENERATED_MARK", "Rendered", "render_all"]
