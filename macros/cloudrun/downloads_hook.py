"""mkdocs hook: publish generated files under downloads/ so pages can link them.

mkdocs only copies files inside docs/; this hook adds the generated files of
the repository to the build as docs/downloads/<path> (no copies in the repo),
so links to them pass strict link validation. Self-contained: mkdocs loads
hooks by file path.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel

PREFIX = "downloads"
PUBLISHED = ("cloudrun/*/*.yaml", "cloudrun/*/deploy.sh", "compose/docker-compose.yml", ".env.example")


def published(root: Path) -> list[str]:
    out: list[str] = []
    for pattern in PUBLISHED:
        out += sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
    return out


def on_files(files: Files, config) -> Files:  # noqa: ANN001 (MkDocsConfig)
    root = Path(config.config_file_path).resolve().parent
    for rel in published(root):
        files.append(File.generated(config, f"{PREFIX}/{rel}", abs_src_path=str(root / rel),
                                    inclusion=InclusionLevel.NOT_IN_NAV))
    return files
