"""Jinja templates of the matrix: table cells, variable values, `beispiel` hints.

Templates are data (German names): `stage` is the raw stage of the matrix,
`plattform` the platform section, `dienst(name)` a resolved service with the
matrix's field names. Helpers: link(seite, text), queue(rolle), dienst(name),
dienstart(art), dienstliste(), lokale_urls(), cloudsql_ip(), prozent(zahl),
kurz(zahl). Errors are `TemplateProblem` with a German message.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from ..matrix import model as m
from ..paths import cache_dir

TABLE_PAGE = "plattform/umgebungsmatrix.md"  # page the table lives on; links are relative to it by default


class TemplateProblem(Exception):
    """A template of the matrix failed to render; message in German."""


class _Undefined(jinja2.StrictUndefined):
    pass


def _finalize(value: Any) -> Any:
    """Only text and numbers reach the output: never an object's repr, a list or None."""
    if isinstance(value, bool):
        raise TemplateProblem(
            "Vorlage gibt einen Wahrheitswert aus (True/False); schreibe z. B. {{ 'ja' if … else 'nein' }}"
        )
    if isinstance(value, (str, int, float, jinja2.Undefined)):
        return value
    shown = "nichts (None)" if value is None else f"ein Objekt ({type(value).__name__})"
    raise TemplateProblem(f"Vorlage gibt {shown} aus statt eines Textes; gemeint ist wohl ein Feld davon")


def bytecode_cache(name: str) -> jinja2.BytecodeCache | None:
    """Jinja's file bytecode cache in the user cache (paths.cache_dir), one folder per Jinja version
    and template family (compiled code depends on the environment's options); None if not writable."""
    folder = cache_dir(f"jinja-{jinja2.__version__}-{name}")
    return jinja2.FileSystemBytecodeCache(str(folder)) if folder is not None else None


_SOURCES: dict[str, str] = {}  # sha256 of a template text -> the text (for the loader below)
_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(_SOURCES.get),
    bytecode_cache=bytecode_cache("matrix-vorlagen"),
    undefined=_Undefined,
    autoescape=False,
    keep_trailing_newline=False,
    finalize=_finalize,
)


@functools.lru_cache(maxsize=2048)
def _compiled(template: str) -> jinja2.Template:
    """Compiling costs milliseconds; the same templates render per stage and per page, and
    compiled code is kept between processes (Jinja's bytecode cache, keyed by the source)."""
    name = hashlib.sha256(template.encode("utf-8")).hexdigest()
    _SOURCES[name] = template
    return _ENV.get_template(name)


@dataclass(frozen=True)
class TemplateService:
    """What `dienst(name)` returns in a template: a resolved service, with the matrix's field names."""

    name: str
    art: str
    rolle: str
    anzeige: str
    optional: bool
    min: int
    max: int
    queues: tuple[str, ...]
    port: int | None
    health_pfad: str | None
    datenbank_env: str | None
    image: str | None
    artefakt: str | None
    job: bool


def prozent(value: float) -> str:
    """25 -> '25%', 2.5 -> '2,5%' (German decimal comma)."""
    return f"{value:g}".replace(".", ",") + "%"


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

    def __init__(
        self, matrix: m.Matrix, stage: m.Stage | None, services: Sequence[TemplateService] = (), page: str = TABLE_PAGE
    ):
        self.matrix = matrix
        self.stage = stage
        self.services = tuple(services)
        self.page = page

    def with_page(self, page: str) -> Context:
        return Context(self.matrix, self.stage, self.services, page)

    def link(self, seite: str, text: str) -> str:
        if seite not in self.matrix.seiten:
            known = ", ".join(sorted(self.matrix.seiten))
            raise TemplateProblem(f"Link auf unbekannte Seite „{seite}“ (bekannt: {known})")
        return f"[{text}]({relative_link(self.matrix.seiten[seite], self.page)})"

    def queue(self, role: str) -> str:
        if role not in self.matrix.plattform.queues:
            raise TemplateProblem(
                f"unbekannte Queue-Rolle „{role}“ (bekannt: {', '.join(self.matrix.plattform.queues)})"
            )
        return self.matrix.plattform.queues[role].name

    def dienst(self, name: str) -> TemplateService | m.Dienstart:
        """A service of the stage by name, else the first of that kind, else the kind itself."""
        self._need_stage()
        for service in self.services:
            if service.name == name:
                return service
        for service in self.services:
            if service.art == name:
                return service
        return self.dienstart(name)

    def dienstart(self, art: str) -> m.Dienstart:
        if art not in self.matrix.dienstarten:
            raise TemplateProblem(f"unbekannter Dienst „{art}“")
        return self.matrix.dienstarten[art]

    def dienstliste(self) -> str:
        seen: list[str] = []
        for service in self.services:
            if service.job:
                continue
            label = f"optional {service.anzeige}" if service.optional else service.anzeige
            if label not in seen:
                seen.append(label)
        return ", ".join(seen)

    def lokale_urls(self) -> str:
        self._need_stage()
        ports = [str(s.port) for s in self.services if s.rolle == "http" and s.port and not s.optional and not s.job]
        inner = ports[0] if len(ports) == 1 else "{" + ",".join(ports) + "}"
        return f"http://localhost:{inner}"

    def cloudsql_ip(self) -> str:
        netz = self._need_stage().netz
        if not isinstance(netz, m.NetzCloud):
            raise TemplateProblem("cloudsql_ip() gibt es nur in Cloud-Run-Stages")
        return "Private IP" if netz.cloudsql_ip == "private" else "Public IP"

    def _access(self, name: str) -> m.Zugriff | None:
        stage = self._need_stage()
        if name not in stage.dienste and name not in stage.jobs:
            raise TemplateProblem(f"unbekannter Dienst „{name}“ in Stage {stage.id}")
        return stage.zugriff.get(name)

    def aufrufer(self, name: str) -> str:
        """The German labels of who may invoke service `name` (matrix `zugriff`), joined; '' for nobody."""
        access = self._access(name)
        return ", ".join(a.anzeige for a in access.aufrufer) if access else ""

    def qa_fenster(self, name: str) -> m.QaFenster | None:
        """The QA window of service `name`, or None."""
        access = self._access(name)
        return access.qa_fenster if access else None

    def _need_stage(self) -> m.Stage:
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
            "aufrufer": self.aufrufer,
            "qa_fenster": self.qa_fenster,
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
            text = _compiled(template).render(self.variables())
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(f"Vorlage: {german_undefined(str(exc))}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"Vorlage: Syntaxfehler ({german_syntax(exc.message or '')})") from None
        except TemplateProblem:
            raise
        except Exception as exc:
            raise TemplateProblem(f"Vorlage: {type(exc).__name__}: {exc}") from None
        return text


_SYNTAX = (
    (r"unexpected end of template, expected '(.+?)'\.?", r"die Vorlage endet zu früh, erwartet: \1"),
    (r"unexpected end of template.*", "die Vorlage endet zu früh (fehlt }}, %} oder ein {% end… %}?)"),
    (r"expected token '(.+?)', got '(.+?)'", r"erwartet „\1“, gefunden „\2“"),
    (r"Encountered unknown tag '(.+?)'.*", r"unbekannte Anweisung „\1“"),
    (r"unexpected '(.+?)'", r"unerwartetes „\1“"),
    (r"unexpected char '(.+?)' at (\d+)", r"unerwartetes Zeichen „\1“ an Stelle \2"),
    (r"tag name expected", "Name der Anweisung fehlt nach {%"),
    (r"Expected an expression, got '(.+?)'", r"Ausdruck erwartet, gefunden „\1“"),
)


_TOKENS = {
    "end of print statement": "}}",
    "end of statement block": "%}",
    "begin of print statement": "{{",
    "begin of statement block": "{%",
    "end of template": "Ende der Vorlage",
    "name": "ein Name",
}


def german_syntax(text: str) -> str:
    """Jinja's TemplateSyntaxError message in German (the common ones; others unchanged)."""
    for pattern, german in _SYNTAX:
        if re.fullmatch(pattern, text.strip(), flags=re.DOTALL):
            out = re.sub(pattern, german, text.strip(), flags=re.DOTALL)
            for token, shown in _TOKENS.items():
                out = out.replace(f"„{token}“", f"„{shown}“").replace(f"erwartet: {token}", f"erwartet: {shown}")
            return out
    return text


def german_undefined(text: str) -> str:
    """Jinja's UndefinedError text in German: `x is undefined`, `'A' object has no attribute 'b'`."""
    if text.endswith(" is undefined"):
        return f"{text[: -len(' is undefined')]} ist nicht definiert"
    if " has no attribute " in text:
        obj, attr = text.split(" has no attribute ", 1)
        # "'umgebungsmatrix.matrix.model.Stage object'" -> "Stage" (no Python module paths in messages)
        obj = re.sub(r"^'(?:\w+\.)*(\w+) object'$", r"\1", obj)
        return f"{obj} hat kein Feld {attr}"
    return text
