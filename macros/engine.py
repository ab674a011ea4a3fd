"""The one place that knows which site engine runs the macros: page identity.

MkDocs (mkdocs-macros) hands the macros a `Page` whose source path is `page.file.src_uri`;
Zensical's macros extension, and the pre-renderer of `make build-zensical`
(macros/zensical_build.py), hand a page with `page.path`. Both are docs-relative paths such as
`plattform/umgebungsmatrix.md`, which every link helper takes as "the current page".
"""

from __future__ import annotations

from typing import Any


def page_uri(page: Any) -> str:
    """Docs-relative source path of the page being rendered ('' when there is none)."""
    if page is None:
        return ""
    file = getattr(page, "file", None)
    uri = getattr(file, "src_uri", None) if file is not None else None
    return str(uri if uri is not None else getattr(page, "path", "") or "")
