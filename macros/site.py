"""mkdocs-macros entry point: the matrix and its helpers inside the pages."""

from __future__ import annotations

from mkdocs.exceptions import PluginError

from .matrix import MatrixError, load_matrix
from .render import Context, kurz, prozent, table_markdown


def define_env(env) -> None:  # noqa: ANN001 (mkdocs-macros passes its env)
    try:
        matrix = load_matrix()
    except MatrixError as exc:
        raise PluginError(f"Die Umgebungsmatrix ist ungültig:\n{exc}") from None

    def page_path() -> str:
        page = env.page
        return page.file.src_uri if page is not None else ""

    env.variables["matrix"] = matrix
    env.variables["plattform"] = matrix.plattform
    env.variables["stages"] = {s.id: s for s in matrix.stages}

    @env.macro
    def umgebungsmatrix_tabelle() -> str:
        """The German comparison table, rendered from the matrix."""
        return table_markdown(matrix, page_path())

    @env.macro
    def link(seite: str, text: str) -> str:
        """Markdown link to a page registered under `seiten`."""
        return Context(matrix, None, page_path()).link(seite, text)

    @env.macro
    def queue(rolle: str) -> str:
        return matrix.queue_name(rolle)

    env.macro(prozent)
    env.macro(kurz)
