"""mkdocs-macros entry point: the matrix and its helpers inside the pages."""

from __future__ import annotations

from mkdocs.exceptions import PluginError

from .matrix import MatrixError, load_matrix
from .render import stage_tabs_markdown, Context, ServiceView, cell, kurz, prozent, services, table_markdown, variable_value


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
    def umgebungsmatrix_je_stage() -> str:
        """The table's cells as content tabs, one per stage."""
        return stage_tabs_markdown(matrix, page_path())

    @env.macro
    def link(seite: str, text: str) -> str:
        """Markdown link to a page registered under `seiten`."""
        return Context(matrix, None, page_path()).link(seite, text)

    @env.macro
    def queue(rolle: str) -> str:
        return matrix.queue_name(rolle)

    @env.macro
    def dienste(stage_id: str, jobs: bool = False) -> list[ServiceView]:
        """Services (or jobs) of a stage with effective min/max, queue names, port ..."""
        return services(matrix, matrix.stage(stage_id), jobs)

    @env.macro
    def zelle(stage_id: str, spalte: str) -> str:
        """One rendered cell of the comparison table, links relative to the current page."""
        return cell(matrix, matrix.stage(stage_id), spalte, page_path())

    @env.macro
    def secret_id(variable: str) -> str:
        """Secret Manager id of a secret variable (convention of the Cloud Run generator)."""
        from .cloudrun.common import secret_id as convention  # lazy: only pages that need it

        return convention(variable)

    @env.macro
    def variable_wert(stage_id: str, name: str) -> str:
        """Rendered value of a non-secret variable in a stage."""
        return variable_value(matrix, matrix.stage(stage_id), name)

    env.macro(prozent)
    env.macro(kurz)

    from .cloudrun.site_macros import register as register_cloudrun  # stage pages: files, deploy, checklists

    register_cloudrun(env, matrix, page_path)

    from checks.schema_sql.site import register as register_rag_schema  # docs/rag/schema.md

    register_rag_schema(env, matrix, page_path)
