"""mkdocs hooks: the site publishes the in-memory render, never a stale file.

- on_config: every stage's generated page goes into the nav (section with
  stages/index.md), so mkdocs.yml names no stage by hand.
- on_files: generated pages (docs/stages/<id>.md) are served from the render;
  orphaned ones (a removed stage) leave the build; every other generated file
  is published from memory under downloads/<path> for the download links.
- on_files also publishes each stage's generated files as one ZIP (repo paths
  kept, `.env.example` included; browsers drop a leading dot from single downloads).
- on_post_build: says when the committed generated files differ from the
  render (`make generate` writes them), and drops what the site never loads:
  source maps and the search languages other than the configured ones.

MkDocs loads hooks by file path, so this module imports only absolute names.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

from macros import sitefiles
from umgebungsmatrix.artifacts import GENERATED_MARK, render_all
from umgebungsmatrix.artifacts.stage_pages import PAGES_DIR
from umgebungsmatrix.errors import UmxError
from umgebungsmatrix.facts import Facts, load

log = logging.getLogger("mkdocs.plugins.umgebungsmatrix")


def on_startup(command: str, dirty: bool) -> None:
    """Remember the command: `mkdocs serve` shows an error page for a broken matrix, `build` fails."""
    os.environ["UMX_MKDOCS_COMMAND"] = command


def _facts() -> Facts | None:
    try:
        return load()
    except UmxError:
        return None  # the macros module reports the broken matrix with file:line


def on_config(config: Any) -> Any:
    facts = _facts()
    if facts is None or not config.nav:
        return config
    entries = sitefiles.stage_nav(facts)
    if not sitefiles.insert_stage_nav(config.nav, entries):
        config.nav.append({"Stages": entries})
    return config


def _generated_on_disk(file: Any) -> bool:
    if not (file.src_uri.startswith(f"{PAGES_DIR}/") and file.abs_src_path):
        return False
    try:
        with open(file.abs_src_path, encoding="utf-8") as handle:
            return GENERATED_MARK in handle.read(2000)
    except OSError:
        return False


def on_files(files: Files, config: Any) -> Files:
    facts = _facts()
    if facts is None:  # broken matrix: every page shows the error; stale generated pages leave the build
        for file in list(files):
            if _generated_on_disk(file):
                files.remove(file)
        return files
    rendered = render_all(facts)
    pages = sitefiles.generated_pages(rendered)
    for file in list(files):
        if file.src_uri not in pages and _generated_on_disk(file):  # orphan of a removed stage
            files.remove(file)
    for uri, text in pages.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=text))
    for uri, content in sitefiles.downloads(facts, rendered).items():
        files.append(File.generated(config, uri, content=content, inclusion=InclusionLevel.NOT_IN_NAV))
    return files


def _search_languages(config: Any) -> list[str]:
    for plugin in config.get("plugins", {}).values() if hasattr(config.get("plugins"), "values") else []:
        langs = getattr(getattr(plugin, "config", None), "lang", None)
        if langs:
            return list(langs) if isinstance(langs, (list, tuple)) else [str(langs)]
    return ["en"]


def on_post_build(config: Any) -> None:
    sitefiles.drop_unused_assets(config["site_dir"], _search_languages(config))
    facts = _facts()
    if facts is None:
        return
    from checks.drift import drift

    changes = drift(render_all(facts))
    if changes:
        shown = ", ".join(c.path for c in changes[:5]) + (" …" if len(changes) > 5 else "")
        log.info(
            f"Die Website zeigt die Matrix; {len(changes)} committete erzeugte Datei(en) weichen davon ab "
            f"({shown}). Schreiben mit: make generate"
        )
