"""Rendering of matrix templates: table cells, variable values, page links.

Cell texts and variable values in the matrix are Jinja templates over the
facts. This module provides their context (stage, plattform, helpers) and
renders the German comparison table as Markdown.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass
from typing import Any, Callable

import jinja2

from .model import Dienst, Dienstart, Matrix, Stage

TABLE_PAGE = "plattform/umgebungsmatrix.md"

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@functools.lru_cache(maxsize=1024)
def _compiled(template: str) -> jinja2.Template:
    """Compiling costs milliseconds; the same cell/variable templates render per stage and per page."""
    return _ENV.from_string(template)


class TemplateProblem(Exception):
    """A template of the matrix failed to render; message in German."""


@dataclass(frozen=True)
class ServiceView:
    """A stage's service merged with its kind: what templates and generators see."""

    name: str
    art: str
    anzeige: str
    optional: bool
    min: int
    max: int
    queues: tuple[str, ...]
    port: int | None
    health_pfad: str | None
    befehl: tuple[str, ...] | None
    image: str | None
    artefakt: str | None
    datenbank_env: str | None
    is_job: bool = False


def service_view(matrix: Matrix, stage: Stage, name: str) -> ServiceView:
    is_job = name in stage.jobs
    dienst: Dienst = stage.jobs[name] if is_job else stage.dienste[name]
    kind: Dienstart = matrix.dienstarten[dienst.art]
    default_min, default_max = (stage.skalierung.min, stage.skalierung.max) if stage.skalierung else (0, 1)
    lo = dienst.min if dienst.min is not None else default_min
    hi = dienst.max if dienst.max is not None else max(default_max, lo)
    return ServiceView(
        name=name,
        art=dienst.art,
        anzeige=kind.anzeige,
        optional=dienst.optional,
        min=lo,
        max=hi,
        queues=tuple(matrix.queue_name(role) for role in dienst.queues or ()),
        port=kind.port,
        health_pfad=kind.health_pfad,
        befehl=tuple(kind.befehl) if kind.befehl else None,
        image=kind.image,
        artefakt=kind.artefakt,
        datenbank_env=kind.datenbank_env,
        is_job=is_job,
    )


def services(matrix: Matrix, stage: Stage, jobs: bool = False) -> list[ServiceView]:
    names = list(stage.jobs) if jobs else list(stage.dienste)
    return [service_view(matrix, stage, name) for name in names]


def prozent(value: float) -> str:
    """25 -> '25%', 2.5 -> '2,5%' (German decimal comma)."""
    text = f"{value:g}".replace(".", ",")
    return f"{text}%"


def kurz(value: int) -> str:
    """1000 -> '1k', 1500 -> '1,5k', 2_000_000 -> '2M'."""
    for factor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= factor and value % (factor // 10) == 0:
            return f"{value / factor:g}".replace(".", ",") + suffix
    return str(value)


def relative_link(target: str, page: str) -> str:
    """Path of docs-relative `target` as seen from docs-relative `page`."""
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


class Context:
    """Template context for one stage (or none, for site pages)."""

    def __init__(self, matrix: Matrix, stage: Stage | None = None, page: str = TABLE_PAGE):
        self.matrix = matrix
        self.stage = stage
        self.page = page

    def link(self, seite: str, text: str) -> str:
        if seite not in self.matrix.seiten:
            known = ", ".join(sorted(self.matrix.seiten))
            raise TemplateProblem(f"Link auf unbekannte Seite „{seite}“ (bekannt: {known})")
        return f"[{text}]({relative_link(self.matrix.seiten[seite], self.page)})"

    def queue(self, role: str) -> str:
        if role not in self.matrix.plattform.queues:
            raise TemplateProblem(f"unbekannte Queue-Rolle „{role}“")
        return self.matrix.queue_name(role)

    def dienst(self, name: str) -> ServiceView | Dienstart:
        stage = self._need_stage()
        if name in stage.dienste or name in stage.jobs:
            return service_view(self.matrix, stage, name)
        for candidate in list(stage.dienste) + list(stage.jobs):
            view = service_view(self.matrix, stage, candidate)
            if view.art == name:
                return view
        return self.dienstart(name)

    def dienstart(self, art: str) -> Dienstart:
        if art not in self.matrix.dienstarten:
            raise TemplateProblem(f"unbekannter Dienst „{art}“")
        return self.matrix.dienstarten[art]  # type: ignore[index]

    def dienstliste(self) -> str:
        seen: list[str] = []
        for view in services(self.matrix, self._need_stage()):
            label = f"optional {view.anzeige}" if view.optional else view.anzeige
            if label not in seen:
                seen.append(label)
        return ", ".join(seen)

    def lokale_urls(self) -> str:
        ports = [str(v.port) for v in services(self.matrix, self._need_stage()) if v.port and not v.optional]
        inner = ports[0] if len(ports) == 1 else "{" + ",".join(ports) + "}"
        return f"http://localhost:{inner}"

    def cloudsql_ip(self) -> str:
        netz = self._need_stage().netz
        if getattr(netz, "cloudsql_ip", None) is None:
            raise TemplateProblem("cloudsql_ip() gibt es nur in Cloud-Run-Stages")
        return "Private IP" if netz.cloudsql_ip == "private" else "Public IP"

    def _need_stage(self) -> Stage:
        if self.stage is None:
            raise TemplateProblem("diese Funktion gibt es nur in Zellen und Variablen einer Stage")
        return self.stage

    def variables(self) -> dict[str, Any]:
        helpers: dict[str, Callable[..., Any]] = {
            "link": self.link,
            "queue": self.queue,
            "dienst": self.dienst,
            "dienstart": self.dienstart,
            "dienstliste": self.dienstliste,
            "lokale_urls": self.lokale_urls,
            "cloudsql_ip": self.cloudsql_ip,
            "prozent": prozent,
            "kurz": kurz,
        }
        return {
            "plattform": self.matrix.plattform,
            "stages": {s.id: s for s in self.matrix.stages},
            "stage": self.stage,
            **helpers,
        }

    def render(self, template: str) -> str:
        try:
            return _compiled(template).render(self.variables())
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(f"Vorlage: {_german_undefined(str(exc))}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"Vorlage: Syntaxfehler ({exc.message})") from None
        except TemplateProblem:
            raise
        except Exception as exc:  # a user's template can fail in many ways
            raise TemplateProblem(f"Vorlage: {type(exc).__name__}: {exc}") from None


def _german_undefined(text: str) -> str:
    if text.endswith(" is undefined"):
        return f"{text[: -len(' is undefined')]} ist nicht definiert"
    if " has no attribute " in text:
        obj, attr = text.split(" has no attribute ", 1)
        return f"{obj} hat kein Feld {attr}"
    return text


def cell(matrix: Matrix, stage: Stage, column_id: str, page: str = TABLE_PAGE) -> str:
    """The rendered text of one table cell."""
    column = next(c for c in matrix.spalten if c.id == column_id)
    if column_id == "umgebung":
        text = stage.name
    else:
        text = Context(matrix, stage, page).render(stage.zellen[column_id])
    if column.leerer_start and stage.leerer_start:
        text = f"{text} {matrix.plattform.leerer_start_text}"
    return text


def table_rows(matrix: Matrix, page: str = TABLE_PAGE) -> list[list[str]]:
    return [[cell(matrix, stage, c.id, page) for c in matrix.spalten] for stage in matrix.stages]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def table_markdown(matrix: Matrix, page: str = TABLE_PAGE) -> str:
    head = [c.titel for c in matrix.spalten]
    out = [_md_row(head), _md_row(["---"] * len(head))]
    out += [_md_row(row) for row in table_rows(matrix, page)]
    return "\n".join(out)


def stage_tabs_markdown(matrix: Matrix, page: str = TABLE_PAGE) -> str:
    """The same cells, one content tab per stage, columns as rows (easier to read)."""
    out = []
    for stage, row in zip(matrix.stages, table_rows(matrix, page)):
        out.append(f'=== "{stage.name}"\n')
        out.append("    " + _md_row(["Spalte", "Festlegung"]))
        out.append("    " + _md_row(["---", "---"]))
        for column, text in list(zip(matrix.spalten, row))[1:]:
            out.append("    " + _md_row([f"**{column.titel}**", text]))
        out.append("")
    return "\n".join(out)


def variable_value(matrix: Matrix, stage: Stage, name: str) -> str:
    """Rendered value of a non-secret variable for a stage."""
    variable = matrix.variablen[name]
    if variable.wert is None:
        raise TemplateProblem(f"„{name}“ ist geheim und hat keinen Wert in der Matrix")
    return Context(matrix, stage).render(variable.wert)
