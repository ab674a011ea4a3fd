"""Guardrails for compose/docker-compose.yml and .env.example (Dev lokal).

Each rule reads the rendered text (not the generator's dict), so a hand-broken
file fails the same way a generator bug would. Every finding names its rule
and points at the docs page that explains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from umgebungsmatrix.artifacts import env_example, render_all
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE
from umgebungsmatrix.facts import ComposeService, ComposeStage, Facts
from umgebungsmatrix.matrix.model import Matrix

from ..findings import Finding
from .parse import Parsed, parse

Artifacts = Mapping[str, str]

HEALTHY = "service_healthy"
NESTED = re.compile(r"\$\{[^}]*\$\{")
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s/]+)@")
INTERPOLATION = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}$")


class Ctx:
    """What the rules need: matrix, stage, parsed compose, .env.example text."""

    def __init__(self, facts: Facts, text: str, parsed: Parsed, env_text: str | None):
        self.facts, self.text, self.parsed, self.env_text = facts, text, parsed, env_text
        self.matrix: Matrix = facts.matrix
        self.stage: ComposeStage = facts.compose_stage
        self.planned: dict[str, ComposeService] = {s.name: s for s in self.stage.services}
        self.kinds = {name: s.kind for name, s in self.planned.items()}
        data = parsed.data if isinstance(parsed.data, dict) else {}
        raw = data.get("services")
        self.services: dict[str, dict[str, Any]] = {
            k: v for k, v in (raw.items() if isinstance(raw, dict) else []) if isinstance(v, dict)
        }
        self.data = data

    def doc(self, key: str, anchor: str = "") -> str:
        page = self.matrix.seiten.get(key, "")
        return f"{page}#{anchor}" if page and anchor else page

    def where(self, *keys: Any) -> str:
        return self.parsed.where(*keys)

    def env(self, name: str) -> dict[str, Any]:
        """A service's environment as a mapping (list form NAME=value too)."""
        raw = self.services.get(name, {}).get("environment")
        if isinstance(raw, list):
            return dict(item.split("=", 1) if "=" in str(item) else (str(item), None) for item in raw)
        return dict(raw) if isinstance(raw, dict) else {}

    def of_kind(self, art: str) -> list[str]:
        return [n for n in self.services if self.kinds.get(n) == art]

    def of_role(self, role: str) -> list[str]:
        return [n for n in self.services if n in self.planned and self.planned[n].role == role]


Rule = Callable[[Ctx], Iterator[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def compose_guardrails(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    text = artifacts.get(COMPOSE_FILE)
    if text is None:
        return []
    parsed = parse(COMPOSE_FILE, text)
    if not parsed.ok:
        return [
            Finding(
                "compose-yaml",
                f"kein gültiges YAML: {parsed.problem}",
                parsed.path,
                facts.matrix.seiten.get("compose", ""),
            )
        ]
    ctx = Ctx(facts, text, parsed, artifacts.get(env_example.path(facts)))
    findings = [finding for fn in RULES for finding in fn(ctx)]
    if render_all(facts).get(COMPOSE_FILE) == text:  # the unedited render: the cause is in the matrix
        findings = [_to_matrix(ctx, f) for f in findings]
    return findings


def _to_matrix(ctx: Ctx, finding: Finding) -> Finding:
    """Point a finding on the unedited render at the matrix line of its service (file line as context)."""
    prefix = f"{COMPOSE_FILE}:"
    if not finding.where.startswith(prefix) or not finding.where[len(prefix) :].isdigit():
        return finding
    line = int(finding.where[len(prefix) :])
    starts = sorted((int(ctx.where("services", name).rsplit(":", 1)[-1]), name) for name in ctx.planned)
    owner = next((name for start, name in reversed(starts) if start <= line), None)
    origin = ctx.planned[owner].origin if owner else ctx.stage.origin
    return replace(finding, where=ctx.facts.where(origin), context=finding.where)


@rule
def no_version_key(ctx: Ctx) -> Iterator[Finding]:
    if "version" in ctx.data:
        yield Finding(
            "compose-ohne-version",
            "der Schlüssel „version“ ist veraltet; das Compose-Specification-Format kommt ohne ihn aus",
            ctx.where("version"),
            ctx.doc("compose", "compose-ohne-version"),
        )


@rule
def no_nested_interpolation(ctx: Ctx) -> Iterator[Finding]:
    for number, line in enumerate(ctx.text.splitlines(), start=1):
        if NESTED.search(line.replace("$$", "")):
            yield Finding(
                "compose-interpolation-v1",
                "verschachtelte Interpolation ${A:-…${B}…} versteht docker-compose v1 nicht",
                f"{COMPOSE_FILE}:{number}",
                ctx.doc("compose", "compose-interpolation-v1"),
            )


@rule
def migration_only_local(ctx: Ctx) -> Iterator[Finding]:
    doc = ctx.doc("migrations")
    auto = ctx.stage.model.migrationen.automatisch
    for art, kind in ctx.matrix.dienstarten.items():
        var = getattr(kind, "migrations_env", None)
        if not var:
            continue
        names = ctx.of_kind(art)
        if auto and not names:
            yield Finding(
                "migration-nur-lokal",
                f"{ctx.stage.name} migriert automatisch, aber kein Dienst der Art „{art}“ steht in der Compose-Datei",
                ctx.where("services"),
                doc,
            )
        for name in names:
            value = ctx.env(name).get(var)
            want = "true" if auto else "false"
            if str(value).lower() != want:
                shown = "nicht gesetzt" if value is None else f"„{value}“"
                yield Finding(
                    "migration-nur-lokal",
                    f"{name}: {var} muss „{want}“ sein (migrationen.automatisch der Stage), ist {shown}",
                    ctx.where("services", name, "environment"),
                    doc,
                )
    commands = [k.befehl for k in ctx.matrix.dienstarten.values() if k.rolle == "job" and k.befehl]
    for befehl in commands if auto else []:
        for name, svc in ctx.services.items():
            if _command(svc)[: len(befehl)] == list(befehl):
                yield Finding(
                    "migration-nur-lokal",
                    f"{name} startet „{' '.join(befehl)}“: "
                    "lokal migriert der Web-Dienst beim Start, ein zweiter Lauf gehört nicht hierher",
                    ctx.where("services", name, "command"),
                    doc,
                )


def _command(svc: dict[str, Any]) -> list[str]:
    raw = svc.get("command")
    if isinstance(raw, str):
        return raw.split()
    return [str(x) for x in raw] if isinstance(raw, list) else []


@rule
def secrets_only_from_env_file(ctx: Ctx) -> Iterator[Finding]:
    """Least privilege: no service reads the whole env file; a secret appears only in the services
    the matrix assigns it to, and only as `${NAME?…}` (interpolated from the env file, never a value)."""
    doc = ctx.doc("secrets")
    for name, svc in ctx.services.items():
        art = ctx.kinds.get(name)
        env = ctx.env(name)
        if svc.get("env_file"):
            yield Finding(
                "compose-minimalrechte",
                f"{name}: env_file gibt dem Dienst alle Variablen der env-Datei; "
                "jeder Dienst bekommt nur seine Variablen unter environment:",
                ctx.where("services", name, "env_file"),
                doc,
            )
        for var, variable in ctx.matrix.variablen.items():
            if not variable.geheim:
                continue
            consumer = art is None or art in variable.dienste
            value = env.get(var)
            match = INTERPOLATION.match(str(value)) if value is not None else None
            if var in env and value not in (None, "") and not match:
                yield Finding(
                    "compose-geheimnisse",
                    f"{name}: {var} ist geheim und darf hier keinen Wert haben (nur ${{{var}?…}} aus der env-Datei)",
                    ctx.where("services", name, "environment", var),
                    doc,
                )
            elif var in env and not consumer:
                yield Finding(
                    "compose-minimalrechte",
                    f"{name}: bekommt das Geheimnis {var}, das die Matrix ihm nicht zuweist "
                    f"(variablen.{var}.dienste: {', '.join(variable.dienste)})",
                    ctx.where("services", name, "environment", var),
                    doc,
                )
            elif consumer and art is not None and (match is None or match.group(1) != var):
                yield Finding(
                    "compose-geheimnisse",
                    f"{name} liest {var}, hat es aber nicht als ${{{var}?…}} unter environment:",
                    ctx.where("services", name),
                    doc,
                )
        for var, value in env.items():
            url = URL_PASSWORD.search(str(value or ""))
            if url and not url.group(1).startswith(("<", "${")):
                yield Finding(
                    "compose-geheimnisse",
                    f"{name}: {var} enthält ein Passwort in einer URL (Wert nicht angezeigt)",
                    ctx.where("services", name, "environment", var),
                    doc,
                )
    yield from _env_example_secrets(ctx, doc)


def _env_example_secrets(ctx: Ctx, doc: str) -> Iterator[Finding]:
    if ctx.env_text is None:
        return
    path = env_example.path(ctx.facts)
    for number, line in enumerate(ctx.env_text.splitlines(), start=1):
        if line.lstrip().startswith("#") or "=" not in line:
            continue
        var, value = line.split("=", 1)
        variable = ctx.matrix.variablen.get(var.strip().removeprefix("export "))
        if variable and variable.geheim and value.strip():
            yield Finding(
                "compose-geheimnisse",
                f"{var.strip()} ist geheim: in {path} bleibt der Wert leer (Wert nicht angezeigt)",
                f"{path}:{number}",
                doc,
            )


@rule
def worker_queues(ctx: Ctx) -> Iterator[Finding]:
    doc = ctx.doc("scaling")
    for service in ctx.stage.services:
        if not service.queues:
            continue
        if service.name not in ctx.services:
            yield Finding(
                "worker-queues", f"Worker „{service.name}“ fehlt in der Compose-Datei", ctx.where("services"), doc
            )
            continue
        got = _queues(_command(ctx.services[service.name]))
        want = list(service.queues)
        if got is None or sorted(got) != sorted(want) or len(set(got)) != len(got):
            yield Finding(
                "worker-queues",
                f"{service.name} konsumiert {got or 'keine Queues'}, laut Matrix genau {want}",
                ctx.where("services", service.name, "command"),
                doc,
            )
    for name, svc in ctx.services.items():
        if ctx.kinds.get(name) is None and _queues(_command(svc)):
            yield Finding(
                "worker-queues",
                f"{name} konsumiert Queues, steht aber nicht als Worker in der Matrix",
                ctx.where("services", name),
                doc,
            )


def _queues(command: list[str]) -> list[str] | None:
    for i, part in enumerate(command):
        if part in ("--queues", "-Q") and i + 1 < len(command):
            return [q for q in command[i + 1].split(",") if q]
        if part.startswith("--queues="):
            return [q for q in part.split("=", 1)[1].split(",") if q]
    return None


@rule
def plain_values_from_matrix(ctx: Ctx) -> Iterator[Finding]:
    doc = ctx.doc("compose", "umgebungswerte")
    for name in ctx.services:
        art = ctx.kinds.get(name)
        env = ctx.env(name)
        for var, variable in ctx.matrix.variablen.items():
            if variable.geheim or art not in variable.dienste:
                continue
            want = ctx.stage.values[var].replace("$", "$$")
            if str(env.get(var)) != want:
                shown = "nicht gesetzt" if env.get(var) is None else f"„{env.get(var)}“"
                yield Finding(
                    "umgebungswerte",
                    f"{name}: {var} ist {shown}, laut Matrix „{want}“",
                    ctx.where("services", name, "environment", var),
                    doc,
                )


@rule
def postgres_version(ctx: Ctx) -> Iterator[Finding]:
    want = ctx.matrix.plattform.postgres.version
    for name in ctx.of_role("postgres"):
        image = str(ctx.services[name].get("image", ""))
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        major = re.search(r"\d+", tag)
        if major is None or int(major.group()) != want:
            yield Finding(
                "postgres-version",
                f"{name}: Image „{image}“ hat nicht die Postgres-Hauptversion {want} der Matrix",
                ctx.where("services", name, "image"),
                ctx.doc("compose", "postgres-version"),
            )


@rule
def postgres_ready_over_tcp(ctx: Ctx) -> Iterator[Finding]:
    for name in ctx.of_role("postgres"):
        test = (ctx.services[name].get("healthcheck") or {}).get("test")
        words = test if isinstance(test, list) else str(test or "").split()
        words = [str(w) for w in words]
        if (
            "pg_isready" not in words
            or "-h" not in words
            or words[words.index("-h") + 1 :][:1] in ([], ["/var/run/postgresql"])
        ):
            yield Finding(
                "postgres-bereit-tcp",
                f"{name}: der Healthcheck muss "
                "pg_isready über TCP (-h <adresse>) fragen; der Unix-Socket antwortet schon während der "
                "Initialisierung",
                ctx.where("services", name, "healthcheck"),
                ctx.doc("compose", "postgres-bereit-tcp"),
            )


@rule
def start_when_healthy(ctx: Ctx) -> Iterator[Finding]:
    doc = ctx.doc("compose", "start-erst-wenn-gesund")
    for name, svc in ctx.services.items():
        deps = svc.get("depends_on")
        if deps is None:
            continue
        if not isinstance(deps, dict):
            yield Finding(
                "start-erst-wenn-gesund",
                f"{name}: depends_on als Liste "
                "wartet nur auf den Start, nicht auf Bereitschaft (condition: service_healthy fehlt)",
                ctx.where("services", name, "depends_on"),
                doc,
            )
            continue
        for dep, spec in deps.items():
            condition = spec.get("condition") if isinstance(spec, dict) else None
            if condition != HEALTHY:
                yield Finding(
                    "start-erst-wenn-gesund",
                    f"{name} → {dep}: condition ist „{condition}“, erwartet {HEALTHY}",
                    ctx.where("services", name, "depends_on", dep),
                    doc,
                )
            elif not (ctx.services.get(dep) or {}).get("healthcheck"):
                yield Finding(
                    "start-erst-wenn-gesund",
                    f"{name} wartet auf {dep}, aber {dep} hat keinen Healthcheck",
                    ctx.where("services", name, "depends_on", dep),
                    doc,
                )
    for service in ctx.stage.services:
        deps = (ctx.services.get(service.name) or {}).get("depends_on") or {}
        for other in service.starts_after:
            if other not in deps:
                yield Finding(
                    "start-erst-wenn-gesund",
                    f"{service.name} muss auf {other} warten (startet_nach in der Matrix)",
                    ctx.where("services", service.name),
                    doc,
                )


@rule
def postgres_named_volume(ctx: Ctx) -> Iterator[Finding]:
    facts = ctx.stage.compose
    volume = facts.postgres_volume
    doc = ctx.doc("compose", "postgres-volume")
    declared = ctx.data.get("volumes") or {}
    for name in ctx.of_role("postgres"):
        mounts = [str(m) for m in ctx.services[name].get("volumes") or []]
        if not any(m.split(":", 1)[0] in declared and m.split(":")[1:2] == [facts.postgres_daten_pfad] for m in mounts):
            yield Finding(
                "postgres-volume",
                f"{name}: Daten liegen nicht auf einem benannten Volume unter {facts.postgres_daten_pfad}",
                ctx.where("services", name),
                doc,
            )
    if volume not in declared:
        yield Finding(
            "postgres-volume", f"Volume „{volume}“ ist nicht unter volumes deklariert", ctx.where("volumes"), doc
        )


CHECKS = (("Leitplanken der Compose-Datei (Dev lokal)", compose_guardrails),)
