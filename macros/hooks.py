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

from umgebungsmatrix.artifacts import GENERATED_MARK, render_all
from umgebungsmatrix.artifacts.stage_pages import DOWNLOADS, PAGES_DIR, Page, page_path, zip_bytes, zip_path
from umgebungsmatrix.errors import UmxError
from umgebungsmatrix.facts import Facts, load

log = logging.getLogger("mkdocs.plugins.umgebungsmatrix")
DOCS_PREFIX = "docs/"


def on_startup(command: str, dirty: bool) -> None:
    """Remember the command: `mkdocs serve` shows an error page for a broken matrix, `build` fails."""
    os.environ["UMX_MKDOCS_COMMAND"] = command


def _facts() -> Facts | None:
    try:
        return load()
    except UmxError:
        return None  # the macros module reports the broken matrix with file:line


def _insert(nav: list[Any], entries: list[dict[str, str]]) -> bool:
    """Put `entries` right after stages/index.md, wherever that stands in the nav."""
    index = f"{PAGES_DIR}/index.md"
    for i, item in enumerate(nav):
        value = item if isinstance(item, str) else next(iter(item.values())) if isinstance(item, dict) else None
        if value == index:
            nav[i + 1 : i + 1] = entries
            return True
        if isinstance(value, list) and _insert(value, entries):
            return True
    return False


def on_config(config: Any) -> Any:
    facts = _facts()
    if facts is None or not config.nav:
        return config
    entries = [{stage.name: page_path(stage)} for stage in facts.stages]
    if not _insert(config.nav, entries):
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
    pages = {path[len(DOCS_PREFIX) :]: text for path, text in rendered.items() if path.startswith(DOCS_PREFIX)}
    for file in list(files):
        if file.src_uri not in pages and _generated_on_disk(file):  # orphan of a removed stage
            files.remove(file)
    for uri, text in pages.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=text))
    for path, text in rendered.items():
        if not path.startswith(DOCS_PREFIX):
            files.append(
                File.generated(config, f"{DOWNLOADS}/{path}", content=text, inclusion=InclusionLevel.NOT_IN_NAV)
            )
    for stage in facts.stages:
        stage_files = {p: rendered[p] for p in Page(facts, stage, dict(rendered)).generated_files()}
        files.append(
            File.generated(config, zip_path(stage), content=zip_bytes(stage_files), inclusion=InclusionLevel.NOT_IN_NAV)
        )
    return files


def _search_languages(config: Any) -> list[str]:
    for plugin in config.get("plugins", {}).values() if hasattr(config.get("plugins"), "values") else []:
        langs = getattr(getattr(plugin, "config", None), "lang", None)
        if langs:
            return list(langs) if isinstance(langs, (list, tuple)) else [str(langs)]
    return ["en"]


def _drop_unused_assets(config: Any) -> None:
    """Source maps (only developer tools ask for them) and lunr languages search does not load
    (Material's worker loads lunr.stemmer.support, lunr.multi and lunr.<lang> of `search.lang`)."""
    site = config["site_dir"]
    keep = {"lunr.stemmer.support.min.js", "lunr.multi.min.js"} | {
        f"lunr.{lang}.min.js" for lang in _search_languages(config)
    }
    for folder, _dirs, names in os.walk(site):
        for name in names:
            path = os.path.join(folder, name)
            in_lunr = os.sep + os.path.join("javascripts", "lunr") in folder
            if name.endswith(".map") or (in_lunr and name.endswith(".js") and name not in keep):
                os.remove(path)


def on_post_build(config: Any) -> None:
    _drop_unused_assets(config)
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
