"""What the site adds to docs/, engine-neutral: used by the MkDocs hooks (macros/hooks.py) and by
the Zensical build (macros/zensical_build.py), so both publish the same files.

- `generated_pages`: the stage pages from the in-memory render (never a stale file on disk);
- `downloads`: every other generated file under downloads/<path>, plus each stage's ZIP;
- `stage_nav` / `insert_stage_nav`: the stage pages' nav entries, right after stages/index.md;
- `drop_unused_assets`: source maps and search languages the site never loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from umgebungsmatrix.artifacts.stage_pages import DOWNLOADS, PAGES_DIR, Page, page_path, zip_bytes, zip_path
from umgebungsmatrix.facts import Facts

DOCS_PREFIX = "docs/"


def generated_pages(rendered: Mapping[str, str]) -> dict[str, str]:
    """docs-relative path -> Markdown of every generated page."""
    return {path[len(DOCS_PREFIX) :]: text for path, text in rendered.items() if path.startswith(DOCS_PREFIX)}


def downloads(facts: Facts, rendered: Mapping[str, str]) -> dict[str, str | bytes]:
    """docs-relative path -> content of every published download (files and per-stage ZIPs)."""
    out: dict[str, str | bytes] = {
        f"{DOWNLOADS}/{path}": text for path, text in rendered.items() if not path.startswith(DOCS_PREFIX)
    }
    for stage in facts.stages:
        files = Page(facts, stage, dict(rendered)).generated_files()
        out[zip_path(stage)] = zip_bytes({p: rendered[p] for p in files})
    return out


def stage_nav(facts: Facts) -> list[dict[str, str]]:
    return [{stage.name: page_path(stage)} for stage in facts.stages]


def insert_stage_nav(nav: list[Any], entries: list[dict[str, str]]) -> bool:
    """Put `entries` right after stages/index.md, wherever that stands in the nav."""
    index = f"{PAGES_DIR}/index.md"
    for i, item in enumerate(nav):
        value = item if isinstance(item, str) else next(iter(item.values())) if isinstance(item, dict) else None
        if value == index:
            nav[i + 1 : i + 1] = entries
            return True
        if isinstance(value, list) and insert_stage_nav(value, entries):
            return True
    return False


def drop_unused_assets(site_dir: str, languages: list[str]) -> None:
    """Source maps (only developer tools ask for them) and lunr languages search does not load
    (Material's worker loads lunr.stemmer.support, lunr.multi and lunr.<lang> of `search.lang`)."""
    keep = {"lunr.stemmer.support.min.js", "lunr.multi.min.js"} | {f"lunr.{lang}.min.js" for lang in languages}
    lunr = os.sep + os.path.join("javascripts", "lunr")
    for folder, _dirs, names in os.walk(site_dir):
        for name in names:
            in_lunr = lunr in folder
            if name.endswith(".map") or (in_lunr and name.endswith(".js") and name not in keep):
                os.remove(os.path.join(folder, name))
