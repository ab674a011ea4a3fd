"""Render compose/docker-compose.yml and .env.example for the compose stage.

Everything comes from the matrix: service kinds (image, port, command,
health path, start order), the stage's services and queues, the platform's
Postgres/Redis facts and the stage's `compose` section. The file is built as
a plain dict and dumped with yaml.safe_dump(sort_keys=False): quoting is the
library's job, the order is the matrix's order, so the output is stable.

Literal `$` is escaped as `$$` (Compose interpolates `$`); only the image
override `${WEB_IMAGE:-...}` is an intended interpolation.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

import yaml

from .matrix import MATRIX_FILE, ROOT, MatrixError
from .model import Matrix, Stage, Variable
from .render import Context, ServiceView, TemplateProblem, services, variable_value
from .yamlload import Problem

COMPOSE_FILE = "compose/docker-compose.yml"
MATRIX_REL = MATRIX_FILE.relative_to(ROOT).as_posix()
SECRET_MARK = "GEHEIM – Wert eintragen"
HEADER = (f"# ERZEUGT aus {MATRIX_REL} – nicht von Hand bearbeiten; "
          "ändern: matrix bearbeiten, dann make generate\n")
LANGFUSE = "langfuse"  # the service kind of the optional observability server
# Environment interface of third-party images (not platform facts).
POSTGRES_IMAGE_ENV = ("POSTGRES_USER", "POSTGRES_DB")
# Langfuse v2 entrypoint: builds DATABASE_URL from these when DATABASE_URL is empty.
LANGFUSE_DB_ENV = ("DATABASE_URL", "DATABASE_HOST", "DATABASE_USERNAME", "DATABASE_NAME")


def compose_stage(matrix: Matrix) -> Stage:
    """The one stage that runs on Docker Compose."""
    found = [s for s in matrix.stages if s.laufzeit == "compose"]
    if len(found) != 1:
        raise _problem(("stages",), f"genau eine Stage mit laufzeit compose erwartet, gefunden {len(found)}")
    return found[0]


def env_example_path(stage: Stage) -> str:
    """.env.example next to the stage's env file (repo-relative)."""
    return f"{_env_file(stage)}.example"


def _env_file(stage: Stage) -> str:
    datei = getattr(stage.secrets, "datei", None)
    if not datei:
        raise _problem(("stages", stage.id, "secrets"), "die Compose-Stage braucht secrets.datei (z. B. .env)")
    return posixpath.normpath(datei)


def _problem(path: tuple, message: str) -> MatrixError:
    return MatrixError(MATRIX_FILE, [Problem(path, message)])


def image_variable(template: str, artefakt: str) -> str:
    """WEB_IMAGE for artefakt web: overrides the repository of an own image."""
    return template.replace("{ARTEFAKT}", artefakt.upper().replace("-", "_"))


def esc(text: str) -> str:
    """A literal for Compose: `$` would start an interpolation."""
    return text.replace("$", "$$")


@dataclass(frozen=True)
class Planned:
    """A compose service to render: its name, kind and (for stage services) view."""

    name: str
    art: str
    view: ServiceView | None = None
    profile: str | None = None

    def reads(self, variable: Variable) -> bool:
        return self.art in variable.dienste


def planned_services(matrix: Matrix, stage: Stage) -> list[Planned]:
    """Stage services in matrix order, then the optional Langfuse pair."""
    out = [Planned(v.name, v.art, v) for v in services(matrix, stage)]
    if stage.langfuse.modus == "optional" and stage.compose is not None:
        lf = stage.compose.langfuse
        out.append(Planned(lf.datenbank_dienst, "postgres", profile=lf.profil))
        out.append(Planned(LANGFUSE, LANGFUSE, profile=lf.profil))
    return out


def readers(matrix: Matrix, stage: Stage) -> dict[str, list[str]]:
    """Variable -> names of the compose services that read it (matrix order)."""
    planned = planned_services(matrix, stage)
    out = {n: [p.name for p in planned if p.reads(v)] for n, v in matrix.variablen.items()}
    return {n: names for n, names in out.items() if names}


def needed_variables(matrix: Matrix, stage: Stage) -> list[str]:
    """Variables some compose service reads, in matrix order."""
    return list(readers(matrix, stage))


def _plain_env(matrix: Matrix, stage: Stage, art: str) -> dict[str, str]:
    values = plain_values(matrix, stage)
    return {n: esc(values[n]) for n, v in matrix.variablen.items() if not v.geheim and art in v.dienste}


# Rendering a Jinja template costs milliseconds; values are needed many times.
_VALUES: dict[tuple[int, str], tuple[Matrix, dict[str, str]]] = {}


def plain_values(matrix: Matrix, stage: Stage) -> dict[str, str]:
    """Rendered values of all non-secret variables for a stage (cached per matrix object)."""
    key = (id(matrix), stage.id)
    cached = _VALUES.get(key)
    if cached is not None and cached[0] is matrix:
        return cached[1]
    values = {n: _value(matrix, stage, n) for n, v in matrix.variablen.items() if not v.geheim}
    if len(_VALUES) > 8:
        _VALUES.clear()
    _VALUES[key] = (matrix, values)  # keeps matrix alive, so its id is not reused
    return values


def _value(matrix: Matrix, stage: Stage, name: str) -> str:
    try:
        return variable_value(matrix, stage, name)
    except TemplateProblem as exc:
        raise _problem(("variablen", name, "wert"), str(exc)) from None


def _reads_secret(matrix: Matrix, art: str) -> bool:
    return any(v.geheim and art in v.dienste for v in matrix.variablen.values())


class ComposeBuilder:
    """Builds the compose document for one stage."""

    def __init__(self, matrix: Matrix, stage: Stage):
        if stage.compose is None:
            raise _problem(("stages", stage.id, "compose"), "die Compose-Stage braucht einen Abschnitt „compose“")
        self.matrix, self.stage, self.facts = matrix, stage, stage.compose
        self.planned = planned_services(matrix, stage)
        self.env_rel = posixpath.relpath(_env_file(stage), posixpath.dirname(COMPOSE_FILE))

    def document(self) -> dict[str, Any]:
        svc = {p.name: self.service(p) for p in self.planned}
        volumes = {self.facts.postgres_volume: {}}
        if any(p.profile for p in self.planned):
            volumes[self.facts.langfuse.volume] = {}
        return {"services": svc, "volumes": volumes}

    def service(self, p: Planned) -> dict[str, Any]:
        kind = self.matrix.dienstarten[p.art]  # type: ignore[index]
        out: dict[str, Any] = {}
        if p.profile:
            out["profiles"] = [p.profile]
        out["image"] = self.image(p)
        if p.view is not None and p.view.befehl:
            out["command"] = Flow(self.command(p))
        if _reads_secret(self.matrix, p.art):
            out["env_file"] = [self.env_rel]
        env = self.environment(p)
        if env:
            out["environment"] = env
        port = self.port(p)
        if port is not None and not self.is_langfuse_db(p):
            out["ports"] = [f"{self.facts.lokale_adresse}:{port}:{port}"]
        volume = self.volume(p)
        if volume:
            out["volumes"] = [f"{volume}:{esc(self.facts.postgres_daten_pfad)}"]
        health = self.healthcheck(p, port)
        if health:
            out["healthcheck"] = health
        deps = self.depends_on(p, kind.startet_nach)
        if deps:
            out["depends_on"] = deps
        return out

    def is_langfuse_db(self, p: Planned) -> bool:
        return p.profile is not None and p.art == "postgres"

    def image(self, p: Planned) -> str:
        kind = self.matrix.dienstarten[p.art]  # type: ignore[index]
        plattform = self.matrix.plattform
        if p.art == "postgres":
            return esc(plattform.postgres.image.format(version=plattform.postgres.version))
        if p.art == "redis":
            return esc(plattform.redis.image.format(version=plattform.redis.version))
        if kind.artefakt:
            return self.own_image(kind.artefakt)
        if kind.image:
            return esc(kind.image)
        raise _problem(("dienstarten", p.art), f"„{p.art}“ braucht „image“ oder „artefakt“")

    def own_image(self, artefakt: str) -> str:
        """`${WEB_IMAGE:-<registry>/web}:${IMAGE_TAG:-latest}`: repository and tag overridable.

        Not nested (`${A:-x:${B}}`): docker-compose v1 cannot interpolate that.
        """
        art = self.matrix.plattform.artefakte
        var = image_variable(self.facts.image_variable, artefakt)
        repo = f"{esc(art.registry)}/{esc(artefakt)}"
        return f"${{{var}:-{repo}}}:${{{art.tag_variable}:-{esc(self.facts.standard_tag)}}}"

    def command(self, p: Planned) -> list[str]:
        assert p.view is not None and p.view.befehl is not None
        kind = self.matrix.dienstarten[p.art]  # type: ignore[index]
        values = {"queues": ",".join(p.view.queues), "parallelitaet": kind.parallelitaet}
        out = []
        for part in p.view.befehl:
            try:
                text = part.format_map(values)
            except (KeyError, ValueError, IndexError) as exc:
                raise _problem(("dienstarten", p.art, "befehl"), f"unbekannter Platzhalter in „{part}“ ({exc})") from None
            if "None" in text and "{parallelitaet}" in part:
                raise _problem(("dienstarten", p.art, "parallelitaet"),
                               f"„{p.art}“ braucht „parallelitaet“ für den Platzhalter {{parallelitaet}}")
            out.append(esc(text))
        return out

    def environment(self, p: Planned) -> dict[str, str]:
        pg = self.matrix.plattform.postgres
        lf = self.facts.langfuse
        if p.art == "postgres":
            user, db = (lf.benutzer, lf.datenbank) if self.is_langfuse_db(p) else (pg.benutzer, pg.datenbank)
            return dict(zip(POSTGRES_IMAGE_ENV, (esc(user), esc(db))))
        env = _plain_env(self.matrix, self.stage, p.art)
        if p.art == LANGFUSE:
            # Empty DATABASE_URL hides the platform's URL from the env file; the
            # password comes from the env file, never from this file.
            values = ("", f"{lf.datenbank_dienst}:{pg.port}", lf.benutzer, lf.datenbank)
            env = {**dict(zip(LANGFUSE_DB_ENV, map(esc, values))), **env}
        return env

    def port(self, p: Planned) -> int | None:
        if p.art == "postgres":
            return self.matrix.plattform.postgres.port
        if p.art == "redis":
            return self.matrix.plattform.redis.port
        return self.matrix.dienstarten[p.art].port  # type: ignore[index]

    def volume(self, p: Planned) -> str | None:
        if p.art != "postgres":
            return None
        return self.facts.langfuse.volume if self.is_langfuse_db(p) else self.facts.postgres_volume

    def healthcheck(self, p: Planned, port: int | None) -> dict[str, Any] | None:
        test = self.probe(p, port)
        if test is None:
            return None
        hc = self.facts.healthcheck
        return {"test": Flow(test), "interval": hc.intervall, "timeout": hc.timeout,
                "retries": hc.versuche, "start_period": hc.startphase}

    def probe(self, p: Planned, port: int | None) -> list[str] | None:
        host = esc(self.facts.lokale_adresse)
        if p.art == "postgres":
            # Over TCP: during init the image's temporary server listens on the socket only.
            user, db = ((self.facts.langfuse.benutzer, self.facts.langfuse.datenbank) if self.is_langfuse_db(p)
                        else (self.matrix.plattform.postgres.benutzer, self.matrix.plattform.postgres.datenbank))
            return ["CMD", "pg_isready", "-h", host, "-p", str(port), "-U", esc(user), "-d", esc(db)]
        if p.art == "redis":
            return ["CMD-SHELL", f"redis-cli -h {host} -p {port} ping | grep -q PONG"]
        kind = self.matrix.dienstarten[p.art]  # type: ignore[index]
        if kind.health_pfad and port:
            url = f"http://{host}:{port}{esc(kind.health_pfad)}"
            return ["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}')"]
        return None

    def depends_on(self, p: Planned, kinds: list[str]) -> dict[str, dict[str, str]]:
        if p.art == LANGFUSE:
            return {self.facts.langfuse.datenbank_dienst: {"condition": "service_healthy"}}
        out = {}
        for kind in kinds:
            for other in self.planned:
                if other.art == kind and other.profile is None and other.name != p.name:
                    out[other.name] = {"condition": "service_healthy"}
        return out


class Flow(list):
    """A list dumped on one line: commands and healthcheck tests."""


class _Dumper(yaml.SafeDumper):
    """Indent lists under their key (the usual compose style)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)


_Dumper.add_representer(
    Flow, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))


def _dump(document: dict[str, Any]) -> str:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=4096)
    lines = []
    for line in text.splitlines():
        if line[:2] == "  " and line[2:3].isalnum() and line.endswith(":") and lines and lines[-1] != "services:":
            lines.append("")  # a blank line between services
        elif line[:1].isalpha() and lines:
            lines.append("")
        lines.append(line)
    return "\n".join(lines) + "\n"


def compose_text(matrix: Matrix) -> str:
    stage = compose_stage(matrix)
    builder = ComposeBuilder(matrix, stage)
    intro = (
        f"#\n# {stage.name}: Compose-Specification-Format (ohne version:), für docker compose v2\n"
        f"# und docker-compose v1.29. Geheimnisse kommen nur aus {_env_file(stage)} (Vorlage:\n"
        f"# {env_example_path(stage)}). Starten im Repo-Wurzelverzeichnis:\n"
        f"#   docker compose -f {COMPOSE_FILE} up -d\n"
        f"#   docker compose -f {COMPOSE_FILE} --profile {stage.compose.langfuse.profil} up -d   # mit Langfuse\n"
        if stage.compose else "#\n"
    )
    return HEADER + intro + "\n" + _dump(builder.document())


def env_example_text(matrix: Matrix) -> str:
    stage = compose_stage(matrix)
    context = Context(matrix, stage)
    kinds_by_var = readers(matrix, stage)
    secret_lines: list[str] = []
    plain_lines: list[str] = []
    for name in needed_variables(matrix, stage):
        variable = matrix.variablen[name]
        block = [f"# {variable.beschreibung}", f"# Dienste: {', '.join(kinds_by_var[name])}"]
        if variable.geheim:
            block[1] = f"# {SECRET_MARK}; {block[1][2:]}"
            if variable.beispiel:
                block.append(f"# Form: {_render(context, variable.beispiel, name)}")
            block.append(f"{name}=")
            secret_lines += block + [""]
        else:
            block.append(f"{name}={plain_values(matrix, stage)[name]}")
            plain_lines += block + [""]
    env = _env_file(stage)
    head = [
        HEADER.rstrip("\n"),
        "#",
        f"# Vorlage für {env} ({stage.name}): `cp {env_example_path(stage)} {env}`, dann hinter",
        f"# jedes „{SECRET_MARK}“ den echten Wert schreiben. Geheime Werte bleiben hier",
        "# absichtlich leer: ein vergessener Wert bricht den Start mit klarer Meldung ab,",
        f"# statt mit einem Platzhalter als Passwort zu laufen. {env} nie einchecken.",
        "",
        "# ---- Geheim: nur in der env-Datei, nie in der Compose-Datei ----",
        "",
    ]
    tail = [
        "# ---- Nicht geheim: Werte aus der Matrix ----",
        f"# {COMPOSE_FILE} setzt dieselben Werte direkt (sie haben dort Vorrang);",
        "# hier stehen sie für Programme, die ohne Compose auf dem Rechner laufen.",
        "",
    ]
    return "\n".join(head + secret_lines + tail + plain_lines).rstrip("\n") + "\n"


def _render(context: Context, template: str, name: str) -> str:
    try:
        return context.render(template)
    except TemplateProblem as exc:
        raise _problem(("variablen", name, "beispiel"), str(exc)) from None


def artifacts(matrix: Matrix) -> dict[str, str]:
    stage = compose_stage(matrix)
    return {COMPOSE_FILE: compose_text(matrix), env_example_path(stage): env_example_text(matrix)}
