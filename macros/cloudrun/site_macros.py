"""Macros for the stage pages: generated files, downloads, deploy commands, checklists."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from macros.matrix import ROOT
from macros.model import Matrix
from macros.render import relative_link

from . import common as c
from . import differences, resources
from .deploy import _command_lines, steps
from .downloads_hook import PREFIX

LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".sh": "bash", ".example": "bash", ".env": "bash"}


class MissingFile(Exception):
    pass


def _read(pfad: str) -> str:
    file = ROOT / pfad
    if not file.is_file():
        raise MissingFile(f"Datei „{pfad}“ fehlt – erst `make generate` ausführen")
    return file.read_text(encoding="utf-8")


def fence(text: str, language: str, title: str = "") -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    attrs = f' title="{title}"' if title else ""
    return f"{ticks}{language}{attrs}\n{text.rstrip(chr(10))}\n{ticks}"


def datei(pfad: str, titel: str | None = None) -> str:
    """A repository file as a fenced code block (copy button from the theme)."""
    language = LANGUAGES.get(Path(pfad).suffix, "text")
    return fence(_read(pfad), language, titel if titel is not None else pfad)


def register(env, matrix: Matrix, page_path: Callable[[], str]) -> None:  # noqa: ANN001
    @env.macro
    def datei_block(pfad: str, titel: str | None = None) -> str:
        """Contents of a generated file as a code block with copy button."""
        return datei(pfad, titel)

    @env.macro
    def download(pfad: str, text: str | None = None) -> str:
        """Link to a generated file, published under downloads/ by the mkdocs hook."""
        _read(pfad)
        target = relative_link(f"{PREFIX}/{pfad}", page_path())
        return f"[{text or Path(pfad).name}]({target}){{ download }}"

    @env.macro
    def cloudrun_dateien(stage_id: str) -> list[str]:
        """Generated Cloud Run files of a stage: manifests, then the deploy script."""
        stage = matrix.stage(stage_id)
        views = c.cloud_jobs(matrix, stage) + c.cloud_services(matrix, stage)
        return [c.manifest_path(stage, v) for v in views] + [c.deploy_script_path(stage)]

    @env.macro
    def deploy_befehle(stage_id: str) -> str:
        """The exact gcloud commands per deploy target, as one bash block per target."""
        stage = matrix.stage(stage_id)
        out = []
        for step in steps(matrix, stage):
            lines: list[str] = []
            for argv in step.commands:
                lines += _command_lines(argv, "")
            label = f"`{step.target}`" + (" (optional)" if step.optional else "")
            needs = ", ".join(f"`{n}`" for n in step.refs)
            out.append(f"**{label}** – braucht die CI-Variablen {needs}\n\n" + fence("\n".join(lines), "bash"))
        return "\n\n".join(out)

    @env.macro
    def ressourcen_checkliste(stage_id: str) -> str:
        """Task list of cloud resources with the gcloud command that verifies each one."""
        stage = matrix.stage(stage_id)
        items = []
        for res in resources.checklist(matrix, stage):
            expected = f" Erwartet: {res.erwartet}." if res.erwartet else ""
            block = "\n".join("    " + line for line in fence(res.befehl, "bash").split("\n"))
            items.append(f"- [ ] **{res.titel}:** `{res.name}`.{expected}\n\n{block}\n")
        return "\n".join(items)

    @env.macro
    def ci_variablen(stage_id: str) -> list[str]:
        return resources.ci_variables(matrix, matrix.stage(stage_id))

    @env.macro
    def stage_unterschiede(gemeinsam: bool = True) -> str:
        """Facts that differ between the stages, rendered from the matrix."""
        return differences.markdown(matrix, gemeinsam)

    @env.macro
    def cloudrun_dienste(stage_id: str) -> str:
        """Table of a cloud stage's services: kind, queues, scaling, ingress, CPU, manifest."""
        stage = matrix.stage(stage_id)
        rows = ["| Dienst | Art | Queues | Min–Max | Ingress | CPU immer zugeteilt | Port | Manifest |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for view in c.cloud_services(matrix, stage):
            queues = ", ".join(f"`{q}`" for q in view.queues) or "–"
            cpu = "ja" if c.is_queue_consumer(matrix, view) else "nein"
            name = f"`{view.name}`" + (" (optional)" if view.optional else "")
            rows.append(f"| {name} | {view.anzeige} | {queues} | {view.min}–{view.max} | "
                        f"`{c.ingress(stage, view)}` | {cpu} | {c.container_port(matrix, view)} | "
                        f"{download(c.manifest_path(stage, view))} |")
        for view in c.cloud_jobs(matrix, stage):
            rows.append(f"| `{view.name}` (Job) | {view.anzeige} | – | einmal je Deploy | – | – | – | "
                        f"{download(c.manifest_path(stage, view))} |")
        return "\n".join(rows)

    env.variables["cloudrun_secret_id"] = c.secret_id
