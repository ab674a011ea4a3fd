"""mkdocs-macros entry point: the facts and their helpers inside the hand-written pages.

Pages see `matrix`, `plattform`, `stages` (the matrix as written) and `umx`
(the resolved facts); macros render tables, cells and values from the facts.
Generated files are read from the in-memory render, never from disk.
"""

from __future__ import annotations

from typing import Any

from mkdocs.exceptions import PluginError

from umgebungsmatrix.artifacts import compose_file, deploy_scripts, diagrams, render_all
from umgebungsmatrix.artifacts.stage_pages import DOWNLOADS, fence
from umgebungsmatrix.errors import UmxError
from umgebungsmatrix.facts import (
    TABLE_PAGE,
    CloudStage,
    Facts,
    TemplateProblem,
    cell,
    kurz,
    load,
    prozent,
    relative_link,
    secret_id,
    stage_resources,
    template_service,
)
from umgebungsmatrix.facts.templates import Context, TemplateService

from . import differences, matrixpage, pages
from .engine import page_uri
from .mdtable import row, table

LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".sh": "bash", ".example": "bash", ".py": "python", ".json": "json"}


def table_rows(facts: Facts, page: str = TABLE_PAGE) -> list[list[str]]:
    return [[cell(facts, stage, c.id, page) for c in facts.columns] for stage in facts.stages]


def table_markdown(facts: Facts, page: str = TABLE_PAGE) -> str:
    return table([c.titel for c in facts.columns], table_rows(facts, page))


def stage_tabs_markdown(facts: Facts, page: str = TABLE_PAGE) -> str:
    """The same cells, one content tab per stage, columns as rows (easier to read)."""
    out = []
    for stage, cells in zip(facts.stages, table_rows(facts, page)):
        out.append(f'=== "{stage.name}"\n')
        out.append("    " + row(["Spalte", "Festlegung"]))
        out.append("    " + row(["---", "---"]))
        for column, text in zip(facts.columns, cells):
            if not column.stagename:
                out.append("    " + row([f"**{column.titel}**", text]))
        out.append("")
    return "\n".join(out)


_BROKEN: list[str] = []  # the German report while the matrix is invalid (mkdocs serve only)


def on_pre_page_macros(env: Any) -> None:
    """Every page: the error page while the matrix is broken, else rendered with literal code blocks."""
    if _BROKEN:
        env.markdown = pages.error_page(_BROKEN[0])
        env.page.meta["render_macros"] = False
        return
    pages.render_page(env)


def define_env(env: Any) -> None:
    _BROKEN.clear()
    try:
        facts = load()
    except UmxError as exc:
        if not pages.serving():
            raise PluginError(f"Die Umgebungsmatrix ist ungültig:\n{exc}") from None
        _BROKEN.append(str(exc))
        return
    rendered = render_all(facts)

    def page_path() -> str:
        return page_uri(env.page)

    env.variables["matrix"] = facts.matrix
    env.variables["plattform"] = facts.platform
    env.variables["stages"] = {s.id: s.model for s in facts.stages}
    env.variables["umx"] = facts
    env.variables["compose_versionen"] = compose_file.TESTED_VERSIONS

    @env.macro
    def umgebungsmatrix_tabelle() -> str:
        """The German comparison table, rendered from the matrix."""
        return table_markdown(facts, page_path())

    @env.macro
    def diagramm_dienste(stage_id: str) -> str:
        """Mermaid diagram of a stage's services and their connections."""
        return diagrams.services(facts, facts.stage(stage_id))

    @env.macro
    def diagramm_secrets() -> str:
        """Mermaid diagram: where each stage's secrets come from."""
        return diagrams.secrets(facts)

    @env.macro
    def diagramm_release() -> str:
        """Mermaid diagram of the release flow (migration job, canary split)."""
        return diagrams.release(facts)

    @env.macro
    def umgebungsmatrix_ueberblick() -> str:
        """Key facts per stage with ✓/✗ marks (the one-screen overview)."""
        return matrixpage.overview_markdown(facts)

    @env.macro
    def umgebungsmatrix_vollstaendig() -> str:
        """The full table; the page wraps it in <div class="umgebungsmatrix"> (sticky header and stage column)."""
        return matrixpage.matrix_markdown(facts, page_path())

    @env.macro
    def abweichungen() -> str:
        """Cells that differ from the seed, with its wording and the reason."""
        return matrixpage.deviations_markdown(facts, page_path())

    @env.macro
    def umgebungsmatrix_je_stage() -> str:
        """The table's cells as content tabs, one per stage."""
        return stage_tabs_markdown(facts, page_path())

    @env.macro
    def link(seite: str, text: str) -> str:
        """Markdown link to a page registered under `seiten`."""
        try:
            return Context(facts.matrix, None, (), page_path()).link(seite, text)
        except TemplateProblem as exc:
            raise PluginError(str(exc)) from None

    @env.macro
    def queue(rolle: str) -> str:
        return facts.queue_name(rolle)

    @env.macro
    def dienste(stage_id: str, jobs: bool = False) -> list[TemplateService]:
        """Services (or jobs) of a stage with effective min/max, queue names, port … (the matrix's names)."""
        return [template_service(s) for s in stage_resources(facts.stage(stage_id)) if s.is_job == jobs]

    @env.macro
    def zelle(stage_id: str, spalte: str) -> str:
        """One rendered cell of the comparison table, links relative to the current page."""
        return cell(facts, facts.stage(stage_id), spalte, page_path())

    @env.macro
    def variable_wert(stage_id: str, name: str) -> str:
        """Rendered value of a non-secret variable in a stage."""
        stage = facts.stage(stage_id)
        if name not in stage.values:
            raise PluginError(f"„{name}“ ist geheim oder wird in Stage {stage_id} von keinem Dienst gelesen")
        return stage.values[name]

    @env.macro
    def compose(*args: str, v1: bool = False) -> str:
        """The compose command line from the repo root with `args`, e.g. `compose('up', '-d')` ->
        `docker compose --env-file .env -f compose/docker-compose.yml up -d` (`v1=True`: docker-compose)."""
        return compose_file.cli(facts.compose_stage, *args, v1=v1)

    @env.macro
    def ci_variablen(stage_id: str) -> list[str]:
        """CI variables the deploy script of a cloud stage needs."""
        stage = facts.stage(stage_id)
        return deploy_scripts.ci_variables(stage) if isinstance(stage, CloudStage) else []

    @env.macro
    def datei_block(pfad: str, titel: str | None = None) -> str:
        """A generated file (from the in-memory render) as a code block with copy button."""
        if pfad not in rendered:
            raise PluginError(f"„{pfad}“ ist keine erzeugte Datei (bekannt: {', '.join(sorted(rendered))})")
        suffix = "." + pfad.rsplit(".", 1)[-1] if "." in pfad else ""
        return fence(rendered[pfad], LANGUAGES.get(suffix, "text"), titel if titel is not None else pfad)

    @env.macro
    def download(pfad: str, text: str | None = None) -> str:
        """Link to a generated file, published under downloads/ by the hook."""
        if pfad not in rendered:
            raise PluginError(f"„{pfad}“ ist keine erzeugte Datei")
        name = pfad.rsplit("/", 1)[-1]
        target = relative_link(f"{DOWNLOADS}/{pfad}", page_path())
        return f'[{text or name}]({target}){{ download="{name}" }}'

    @env.macro
    def stage_unterschiede(gemeinsam: bool = True) -> str:
        """Facts that differ between the stages, rendered from the matrix."""
        return differences.markdown(facts, gemeinsam)

    env.macro(prozent)
    env.macro(kurz)
    env.macro(secret_id)

    from .rag_schema import register as register_rag_schema  # docs/rag/schema.md

    register_rag_schema(env, facts.matrix, page_path)
