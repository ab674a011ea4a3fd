"""Rules across fields of the matrix that a type alone cannot express.

Every rule about the matrix lives here (or, for rules that need rendered
templates or derived values, in `umgebungsmatrix.facts.build`, which reports
the same located `Problem`s). `validate` runs both, so a matrix that passes
`validate` always renders: no generator, check or stack provider re-checks it.

Each rule yields Problems with the data path they concern; the loader turns
the path into `matrix/umgebungen.yaml:LINE:COL`.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel

from ..secretshapes import looks_secret
from .model import (
    BACKGROUND_ROLES,
    IAM_MEMBER_PATTERN,
    INFRASTRUCTURE_ROLES,
    MEMBER_KEYWORDS,
    NAME_PATTERN,
    PUBLIC_MEMBERS,
    QA_WINDOW_MAX_DAYS,
    Matrix,
    NetzCloud,
    Stage,
)
from .yamlload import Problem

# Set by Cloud Run itself; a service must not define them (Cloud Run container contract).
RESERVED_ENV = frozenset(
    {
        "PORT",
        "K_SERVICE",
        "K_REVISION",
        "K_CONFIGURATION",
        "CLOUD_RUN_JOB",
        "CLOUD_RUN_EXECUTION",
        "CLOUD_RUN_TASK_INDEX",
        "CLOUD_RUN_TASK_ATTEMPT",
        "CLOUD_RUN_TASK_COUNT",
    }
)
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
PLACEHOLDERS = {"queues": "worker", "parallelitaet": None}  # placeholder -> role that may use it (None: any)


def check(matrix: Matrix, docs_dir: Path | None) -> list[Problem]:
    """All problems of all rules, in rule order (the loader sorts them by line)."""
    problems: list[Problem] = []
    for rule in (
        _platform,
        _stages,
        _production,
        _columns,
        _pages,
        _kinds,
        _services,
        _queues,
        _variables,
        _secrets,
        _compose,
        _deviations,
        _access,
        _no_secret_values,
    ):
        problems.extend(rule(matrix, docs_dir))
    return problems


def suggest(name: str, known: Iterable[str]) -> str:
    """' (meinten Sie „x“?)' for a near miss, else the known names."""
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f" (meinten Sie „{close[0]}“?)"
    return f" (bekannt: {', '.join(known)})" if known else ""


def _is_name(value: str) -> bool:
    return re.fullmatch(NAME_PATTERN, value) is not None


# --- platform -------------------------------------------------------------------------------------


def _platform(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    plattform = matrix.plattform
    seen: dict[str, str] = {}
    for role, queue in plattform.queues.items():
        if queue.name in seen:
            yield Problem(
                ("plattform", "queues", role, "name"),
                f"Queue-Name „{queue.name}“ ist doppelt vergeben ({seen[queue.name]} und {role})",
            )
        seen.setdefault(queue.name, role)
    defaults = [role for role, queue in plattform.queues.items() if queue.standard]
    if len(defaults) != 1:
        yield Problem(
            ("plattform", "queues"),
            "genau eine Queue braucht standard: true (Ziel von Aufgaben ohne "
            f"ausdrückliche Queue, etwa von Beat), gefunden {len(defaults)}",
        )
    rag = plattform.rag
    both = sorted(set(rag.retriever_tabellen) & set(rag.agenten_tabellen))
    if both:
        yield Problem(
            ("plattform", "rag", "agenten_tabellen"),
            f"Tabelle(n) {', '.join(both)} sind zugleich Retriever- und Agenten-Tabelle",
        )
    for method in rag.index_methoden:
        if method not in rag.index_max_dimension:
            yield Problem(("plattform", "rag", "index_max_dimension"), f"Grenze für „{method}“ fehlt")
    for section in ("postgres", "redis"):
        image = getattr(plattform, section).image
        problem = _format_problem(image, {"version"})
        if problem:
            yield Problem(("plattform", section, "image"), problem)
    for section in ("postgres", "redis"):
        env = getattr(plattform, section).url_env
        variable = matrix.variablen.get(env)
        path = ("plattform", section, "url_env")
        if variable is None:
            yield Problem(path, f"„{env}“ steht nicht unter variablen{suggest(env, matrix.variablen)}")
        elif not variable.geheim:
            yield Problem(path, f"„{env}“ enthält ein Passwort und muss unter variablen geheim: true sein")


def _format_problem(template: str, allowed: set[str]) -> str | None:
    """German problem of a str.format template with unknown placeholders or stray braces."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"„{template}“: ungültige geschweifte Klammern ({exc}); wörtlich als {{{{ und }}}} schreiben"
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        shown = ", ".join("{" + f + "}" for f in unknown)
        known = ", ".join("{" + f + "}" for f in sorted(allowed)) or "keine"
        return f"unbekannter Platzhalter {shown} in „{template}“ (erlaubt: {known})"
    return None


# --- stages ---------------------------------------------------------------------------------------


def _stages(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    composes = []
    for i, stage in enumerate(matrix.stages):
        at = ("stages", i)
        if stage.id in seen:
            yield Problem(at + ("id",), f"Stage „{stage.id}“ ist doppelt (zuerst stages[{seen[stage.id]}])")
        seen.setdefault(stage.id, i)
        cloud = stage.laufzeit == "cloudrun"
        if not cloud:
            composes.append(i)
        if cloud != (stage.netz.art == "cloudrun"):
            yield Problem(
                at + ("netz", "art"), f"netz.art „{stage.netz.art}“ passt nicht zur Laufzeit „{stage.laufzeit}“"
            )
        if cloud and stage.compose is not None:
            yield Problem(at + ("compose",), "„compose“ gehört nur zur Stage mit laufzeit compose")
        if not cloud and stage.compose is None:
            yield Problem(at, "die Stage mit laufzeit compose braucht einen Abschnitt „compose“")
        for field, text in (("gcp", "Projekt und Region"), ("skalierung", "min/max")):
            if cloud and getattr(stage, field) is None:
                yield Problem(at, f"eine Cloud-Run-Stage braucht „{field}“ ({text})")
            if not cloud and getattr(stage, field) is not None:
                yield Problem(at + (field,), f"„{field}“ gibt es nur in Cloud-Run-Stages")
        if not cloud and stage.canary is not None:
            yield Problem(at + ("canary",), "„canary“ gibt es nur in Cloud-Run-Stages")
        if stage.migrationen.automatisch and cloud:
            yield Problem(
                at + ("migrationen", "automatisch"),
                "automatische Migrationen laufen nur lokal (Compose), nie in der Cloud",
            )
        if stage.jobs and not cloud:
            yield Problem(at + ("jobs",), "Jobs gibt es nur in Cloud-Run-Stages")
        if cloud and stage.secrets.quelle == "env_datei":
            yield Problem(
                at + ("secrets", "quelle"),
                "eine Cloud-Run-Stage liest keine env-Datei (erlaubt: ci_variablen oder secret_manager)",
            )
        if not cloud and stage.secrets.quelle != "env_datei":
            yield Problem(
                at + ("secrets", "quelle"),
                "die Compose-Stage liest Geheimnisse aus einer env-Datei (quelle: env_datei, datei: .env)",
            )
        if stage.langfuse.modus == "optional" and cloud:
            yield Problem(
                at + ("langfuse", "modus"),
                "„optional“ (lokaler Langfuse-Server im Compose-Profil) gibt es nur in der Compose-Stage",
            )
        if stage.skalierung is not None and stage.skalierung.min > stage.skalierung.max:
            yield Problem(
                at + ("skalierung", "min"), f"min ({stage.skalierung.min}) ist größer als max ({stage.skalierung.max})"
            )
        if stage.canary is not None and stage.canary.stabil_prozent + stage.canary.canary_prozent != 100:
            total = stage.canary.stabil_prozent + stage.canary.canary_prozent
            yield Problem(at + ("canary",), f"Traffic-Anteile ergeben {total} %, nicht 100 %")
        if stage.canary is not None and stage.canary.stabil_tag_variable == matrix.plattform.artefakte.tag_variable:
            yield Problem(
                at + ("canary", "stabil_tag_variable"),
                "die stabile Revision braucht eine eigene Tag-Variable (nicht plattform.artefakte.tag_variable)",
            )
    if len(composes) != 1:
        where: tuple = ("stages", composes[1]) if len(composes) > 1 else ("stages",)
        yield Problem(where, f"genau eine Stage mit laufzeit compose erwartet, gefunden {len(composes)}")


def _production(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    """The seed's Prod guardrails, for every stage marked produktion: true."""
    for i, stage in enumerate(matrix.stages):
        if not stage.produktion:
            continue
        at = ("stages", i)
        if stage.laufzeit != "cloudrun":
            yield Problem(at + ("produktion",), "produktion: true gibt es nur für Cloud-Run-Stages")
            continue
        if stage.secrets.quelle != "secret_manager":
            yield Problem(
                at + ("secrets", "quelle"),
                "in Produktion kommen Geheimnisse nur aus dem Secret Manager "
                "(quelle: secret_manager mit gepinnten Versionen)",
            )
        netz = stage.netz
        if netz.art == "cloudrun":
            if netz.cloudsql_ip != "private":
                yield Problem(at + ("netz", "cloudsql_ip"), "in Produktion nur Cloud SQL über die Private IP")
            if netz.ingress != "internal":
                yield Problem(at + ("netz", "ingress"), "in Produktion sind die Dienste intern (ingress: internal)")
            if netz.web_ingress != "internal-and-cloud-load-balancing":
                yield Problem(
                    at + ("netz", "web_ingress") if netz.web_ingress else at + ("netz",),
                    "in Produktion ist Web nur über den HTTPS-Load-Balancer erreichbar "
                    "(web_ingress: internal-and-cloud-load-balancing)",
                )
        if not stage.datenbank.pitr:
            yield Problem(at + ("datenbank", "pitr"), "in Produktion ist Point-in-Time-Recovery Pflicht (pitr: true)")
        default_min = stage.skalierung.min if stage.skalierung else 0
        for name, dienst in stage.dienste.items():
            kind = matrix.dienstarten.get(dienst.art)
            if kind is None:
                continue
            lo = dienst.min if dienst.min is not None else default_min
            if kind.einstieg and lo < 1:
                yield Problem(
                    at + ("dienste", name), f"in Produktion braucht {kind.anzeige} Min-Instances > 0 (min: 1 oder mehr)"
                )
            elif kind.rolle in BACKGROUND_ROLES and lo < 1 and not dienst.optional:
                yield Problem(
                    at + ("dienste", name),
                    f"{name} arbeitet ohne Anfragen und verpasst mit "
                    "Min-Instances 0 Arbeit: in Produktion mindestens 1 (min: 1)",
                )


# --- columns and pages ----------------------------------------------------------------------------


def _columns(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    ids = [c.id for c in matrix.spalten]
    for i, column_id in enumerate(ids):
        if ids.index(column_id) != i:
            yield Problem(("spalten", i, "id"), f"Spalte „{column_id}“ ist doppelt")
    names = [i for i, c in enumerate(matrix.spalten) if c.stagename]
    if len(names) != 1:
        yield Problem(
            ("spalten",),
            f"genau eine Spalte mit stagename: true erwartet (zeigt den Stage-Namen), gefunden {len(names)}",
        )
    for i, column in enumerate(matrix.spalten):
        if column.stagename and column.leerer_start:
            yield Problem(("spalten", i, "leerer_start"), "die Stage-Namen-Spalte bekommt keinen Zusatztext")
    cell_ids = [c.id for c in matrix.spalten if not c.stagename]
    for i, stage in enumerate(matrix.stages):
        for column_id in cell_ids:
            if column_id not in stage.zellen:
                yield Problem(("stages", i, "zellen"), f"Zelle für Spalte „{column_id}“ fehlt")
        for column_id in stage.zellen:
            if column_id not in cell_ids:
                yield Problem(
                    ("stages", i, "zellen", column_id),
                    f"Zelle „{column_id}“ gehört zu keiner Spalte{suggest(column_id, cell_ids)}",
                    at_key=True,
                )


def _pages(matrix: Matrix, docs: Path | None) -> Iterator[Problem]:
    schema = matrix.seiten.get("schema")
    if schema is None or not schema.endswith(".sql"):
        yield Problem(
            ("seiten",) + (("schema",) if schema else ()),
            "seiten.schema nennt die SQL-Datei des RAG-Schemas (z. B. rag/schema.sql)",
        )
    for key, rel in matrix.seiten.items():
        if rel.startswith("/") or ".." in rel.split("/"):
            yield Problem(("seiten", key), f"„{rel}“: Seiten stehen relativ zu docs/ (ohne / am Anfang und ohne ..)")
        elif docs is not None and not (docs / rel).is_file():
            yield Problem(("seiten", key), f"Seite „{rel}“ existiert nicht in docs/")


# --- service kinds --------------------------------------------------------------------------------


def _kinds(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    kinds = matrix.dienstarten
    entries = [art for art, kind in kinds.items() if kind.einstieg]
    for art, kind in kinds.items():
        at = ("dienstarten", art)
        if not _is_name(art):
            yield Problem(at, f"Dienstart „{art}“: nur a-z, 0-9 und - (beginnt mit einem Buchstaben)", at_key=True)
        role = kind.rolle
        if role in INFRASTRUCTURE_ROLES:
            for field in ("artefakt", "image", "port", "befehl", "health_pfad"):
                if getattr(kind, field) is not None:
                    yield Problem(at + (field,), f"„{field}“ kommt für die Rolle {role} aus plattform.{role}")
            continue
        if kind.artefakt is None and kind.image is None:
            yield Problem(at, f"„{art}“ braucht „artefakt“ (eigenes Image) oder „image“")
        if kind.artefakt is not None and kind.image is not None:
            yield Problem(at + ("image",), "entweder „artefakt“ (eigenes Image) oder „image“, nicht beides")
        if role == "http" and kind.port is None:
            yield Problem(at, f"„{art}“ (Rolle http) braucht einen Port")
        if role != "http" and kind.port is not None:
            yield Problem(at + ("port",), f"nur die Rolle http bedient Anfragen auf einem Port, nicht {role}")
        if role in ("worker", "scheduler", "job") and not kind.befehl:
            yield Problem(at, f"„{art}“ (Rolle {role}) braucht einen Befehl („befehl“)")
        yield from _command(art, kind.befehl or [], role, kind.parallelitaet is not None)
        if kind.einstieg:
            if role != "http" or kind.artefakt is None:
                yield Problem(at + ("einstieg",), "der Einstiegsdienst ist ein eigenes Image mit Rolle http")
            for field in ("health_pfad", "migrations_env"):
                if getattr(kind, field) is None:
                    yield Problem(at, f"der Einstiegsdienst braucht „{field}“ (die Referenz-App liest es)")
        for j, other in enumerate(kind.startet_nach):
            if other not in kinds:
                yield Problem(at + ("startet_nach", j), f"unbekannte Dienstart „{other}“{suggest(other, kinds)}")
            elif other == art:
                yield Problem(at + ("startet_nach", j), "eine Dienstart wartet nicht auf sich selbst")
            elif not _can_be_healthy(matrix, other):
                yield Problem(
                    at + ("startet_nach", j),
                    f"„{other}“ hat keinen Healthcheck (health_pfad fehlt): darauf kann niemand warten",
                )
        for field in ("datenbank_env", "migrations_env"):
            name = getattr(kind, field)
            if name is not None and name not in matrix.variablen:
                yield Problem(at + (field,), f"„{name}“ steht nicht unter variablen{suggest(name, matrix.variablen)}")
        if (
            kind.migrations_env
            and kind.migrations_env in matrix.variablen
            and matrix.variablen[kind.migrations_env].geheim
        ):
            yield Problem(at + ("migrations_env",), f"„{kind.migrations_env}“ ist ein Schalter, kein Geheimnis")
    if len(entries) != 1:
        yield Problem(
            ("dienstarten",),
            f"genau eine Dienstart mit einstieg: true erwartet (Web), gefunden "
            f"{len(entries)}{': ' + ', '.join(entries) if entries else ''}",
        )


def _can_be_healthy(matrix: Matrix, art: str) -> bool:
    kind = matrix.dienstarten[art]
    return kind.rolle in INFRASTRUCTURE_ROLES or (kind.rolle == "http" and kind.health_pfad is not None)


def _command(art: str, befehl: list[str], role: str, has_parallelism: bool) -> Iterator[Problem]:
    used: list[str] = []
    for j, part in enumerate(befehl):
        at = ("dienstarten", art, "befehl", j)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
        except ValueError:
            yield Problem(at, f"„{part}“: ungültige geschweifte Klammern; wörtlich als {{{{ und }}}} schreiben")
            continue
        for field in fields:
            if field not in PLACEHOLDERS:
                yield Problem(at, f"unbekannter Platzhalter {{{field}}}{suggest(field, PLACEHOLDERS)}")
            elif PLACEHOLDERS[field] not in (None, role):
                yield Problem(at, f"{{{field}}} gibt es nur bei der Rolle {PLACEHOLDERS[field]}")
            elif field == "parallelitaet" and not has_parallelism:
                yield Problem(at, "der Platzhalter {parallelitaet} braucht „parallelitaet“ bei der Dienstart")
            used.append(field)
    if role == "worker" and befehl and used.count("queues") != 1:
        yield Problem(
            ("dienstarten", art, "befehl"),
            "ein Worker-Befehl nennt seine Queues genau einmal mit dem "
            'Platzhalter {queues} (z. B. --queues, "{queues}")',
        )


# --- services of the stages -----------------------------------------------------------------------


def _effective_limits(matrix: Matrix, stage: Stage, name: str) -> tuple[int, int] | None:
    dienst = stage.dienste[name]
    kind = matrix.dienstarten.get(dienst.art)
    if stage.skalierung is None or kind is None:
        return None
    hi = dienst.max if dienst.max is not None else (1 if kind.rolle == "scheduler" else stage.skalierung.max)
    lo = dienst.min if dienst.min is not None else min(stage.skalierung.min, hi)
    return lo, hi


def _services(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    kinds = matrix.dienstarten
    for i, stage in enumerate(matrix.stages):
        cloud = stage.laufzeit == "cloudrun"
        at = ("stages", i)
        for name in set(stage.dienste) & set(stage.jobs):
            yield Problem(at + ("jobs", name), f"„{name}“ ist schon ein Dienst dieser Stage", at_key=True)
        roles: dict[str, list[str]] = {}
        for group in ("dienste", "jobs"):
            for name, dienst in getattr(stage, group).items():
                where = at + (group, name)
                if not _is_name(name):
                    yield Problem(
                        where, f"Dienstname „{name}“: nur a-z, 0-9 und - (beginnt mit einem Buchstaben)", at_key=True
                    )
                kind = kinds.get(dienst.art)
                if kind is None:
                    yield Problem(where + ("art",), f"unbekannte Dienstart „{dienst.art}“{suggest(dienst.art, kinds)}")
                    continue
                roles.setdefault(kind.rolle, []).append(name)
                if group == "jobs" and kind.rolle != "job":
                    yield Problem(
                        where + ("art",),
                        f"unter jobs stehen nur Dienstarten mit Rolle job, „{dienst.art}“ hat {kind.rolle}",
                    )
                if group == "dienste" and kind.rolle == "job":
                    yield Problem(
                        where + ("art",), f"„{dienst.art}“ (Rolle job) läuft einmal je Deploy: unter jobs eintragen"
                    )
                if cloud and kind.rolle in INFRASTRUCTURE_ROLES:
                    yield Problem(
                        where + ("art",),
                        f"{kind.anzeige} ist in der Cloud ein verwalteter Dienst "
                        "(Cloud SQL/Memorystore unter netz), kein Cloud-Run-Dienst",
                    )
                if kind.rolle == "worker" and not dienst.queues:
                    yield Problem(where, "ein Worker braucht mindestens eine Queue („queues“)")
                if kind.rolle != "worker" and dienst.queues is not None:
                    yield Problem(where + ("queues",), f"nur Worker konsumieren Queues, nicht „{dienst.art}“")
                for field in ("min", "max"):
                    value = getattr(dienst, field)
                    if value is None:
                        continue
                    if not cloud:
                        yield Problem(
                            where + (field,),
                            f"„{field}“ gibt es nur in Cloud-Run-Stages (Compose startet jeden Dienst einmal)",
                        )
                    elif group == "jobs":
                        yield Problem(where + (field,), "ein Job läuft genau einmal je Deploy; ohne min/max")
                if cloud and group == "dienste" and stage.skalierung is not None:
                    yield from _limits(matrix, stage, name, where, kind.rolle)
        if not cloud:
            for role in INFRASTRUCTURE_ROLES:
                found = roles.get(role, [])
                if len(found) != 1:
                    yield Problem(
                        at + ("dienste",),
                        f"die Compose-Stage braucht genau einen Dienst mit Rolle {role} "
                        f"(gefunden: {', '.join(found) or 'keinen'})",
                    )
        entries = [n for n, d in stage.dienste.items() if d.art in kinds and kinds[d.art].einstieg]
        if len(entries) > 1:
            yield Problem(at + ("dienste", entries[1]), f"mehr als ein Einstiegsdienst: {', '.join(entries)}")


def _limits(matrix: Matrix, stage: Stage, name: str, where: tuple, role: str) -> Iterator[Problem]:
    assert stage.skalierung is not None
    dienst = stage.dienste[name]
    stage_max = stage.skalierung.max
    if dienst.max is not None and dienst.max > stage_max:
        yield Problem(
            where + ("max",), f"max {dienst.max} liegt über der Obergrenze der Stage (skalierung.max {stage_max})"
        )
    if role == "scheduler" and dienst.max is not None and dienst.max > 1:
        yield Problem(where + ("max",), "ein Scheduler (Beat) läuft höchstens einmal: sonst plant er doppelt (max: 1)")
    limits = _effective_limits(matrix, stage, name)
    if limits is not None and dienst.min is not None and limits[0] > limits[1]:
        source = (
            "max"
            if dienst.max is not None
            else ("1 (Scheduler)" if role == "scheduler" else f"skalierung.max {stage_max}")
        )
        yield Problem(where + ("min",), f"min {dienst.min} liegt über max {limits[1]} ({source})")


# --- queues, variables, secrets -------------------------------------------------------------------


def _queues(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    roles = set(matrix.plattform.queues)
    for i, stage in enumerate(matrix.stages):
        consumed: dict[str, str] = {}
        for name, dienst in stage.dienste.items():
            for j, role in enumerate(dienst.queues or ()):
                path = ("stages", i, "dienste", name, "queues", j)
                if role not in roles:
                    yield Problem(path, f"unbekannte Queue „{role}“{suggest(role, roles)}")
                elif role in consumed:
                    yield Problem(path, f"Queue „{role}“ wird schon von „{consumed[role]}“ konsumiert")
                consumed.setdefault(role, name)
            if stage.laufzeit == "cloudrun" and dienst.queues and len(dienst.queues) > 1:
                yield Problem(
                    ("stages", i, "dienste", name, "queues"),
                    "in der Cloud bleiben Ingestion- und Agenten-Queues getrennt: ein Worker pro Queue",
                )
        for role in sorted(roles - set(consumed)):
            yield Problem(("stages", i, "dienste"), f"kein Worker konsumiert die Queue „{role}“")


def _variables(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    kinds = matrix.dienstarten
    for name, variable in matrix.variablen.items():
        path = ("variablen", name)
        if not ENV_NAME.match(name):
            yield Problem(
                path, f"„{name}“ ist kein gültiger Variablenname (A-Z, 0-9, _; nicht mit Ziffer)", at_key=True
            )
        elif name in RESERVED_ENV or name.startswith("CLOUD_RUN_"):
            yield Problem(path, f"„{name}“ ist von Cloud Run reserviert", at_key=True)
        if variable.geheim and variable.wert is not None:
            yield Problem(path + ("wert",), "eine geheime Variable hat keinen Wert in der Matrix")
        if not variable.geheim and variable.wert is None:
            yield Problem(path, "eine nicht geheime Variable braucht einen „wert“")
        if not variable.geheim and variable.beispiel is not None:
            yield Problem(path + ("beispiel",), "„beispiel“ gibt es nur für geheime Variablen (sonst gilt wert)")
        for j, art in enumerate(variable.dienste):
            if art not in kinds:
                yield Problem(path + ("dienste", j), f"unbekannte Dienstart „{art}“{suggest(art, kinds)}")


def _secrets(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    secret_names = {n for n, v in matrix.variablen.items() if v.geheim}
    for i, stage in enumerate(matrix.stages):
        if stage.secrets.quelle != "secret_manager":
            continue
        versions = stage.secrets.versionen
        for name in versions:
            if name not in secret_names:
                yield Problem(
                    ("stages", i, "secrets", "versionen", name),
                    f"„{name}“ ist keine geheime Variable (geheim: true unter variablen){suggest(name, secret_names)}",
                    at_key=True,
                )
        # Only secrets a service of this stage reads need a pinned version
        # (POSTGRES_PASSWORD of the local container does not exist in the cloud).
        kinds = {d.art for d in list(stage.dienste.values()) + list(stage.jobs.values())}
        used = {n for n in secret_names if kinds & set(matrix.variablen[n].dienste)}
        for name in sorted(used - set(versions)):
            yield Problem(("stages", i, "secrets", "versionen"), f"gepinnte Version für „{name}“ fehlt")


def _compose(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    for i, stage in enumerate(matrix.stages):
        facts = stage.compose
        if facts is None:
            continue
        at = ("stages", i, "compose")
        lf = facts.langfuse
        kind = matrix.dienstarten.get(lf.dienstart)
        if kind is None:
            yield Problem(
                at + ("langfuse", "dienstart"),
                f"unbekannte Dienstart „{lf.dienstart}“{suggest(lf.dienstart, matrix.dienstarten)}",
            )
        elif kind.rolle != "http" or kind.image is None:
            yield Problem(at + ("langfuse", "dienstart"), "der Langfuse-Server ist ein fremdes Image mit Rolle http")
        taken = set(stage.dienste)
        for field in ("datenbank_dienst",):
            if getattr(lf, field) in taken:
                yield Problem(at + ("langfuse", field), f"„{getattr(lf, field)}“ ist schon ein Dienst der Stage")
        if lf.dienstart in taken:
            yield Problem(
                at + ("langfuse", "dienstart"),
                f"„{lf.dienstart}“ läuft schon als Dienst der Stage; der lokale Langfuse-Server kommt aus dem Profil",
            )
        if lf.volume == facts.postgres_volume:
            yield Problem(at + ("langfuse", "volume"), "Langfuse braucht ein eigenes Volume")


def _deviations(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    """`abweichungen` name table columns that have cells (not the stage-name column)."""
    columns = {c.id for c in matrix.spalten if not c.stagename}
    for i, stage in enumerate(matrix.stages):
        for column in stage.abweichungen:
            if column not in columns:
                yield Problem(
                    ("stages", i, "abweichungen", column), f"unbekannte Spalte „{column}“{suggest(column, columns)}"
                )


def _access(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    """Who may invoke what (Cloud Run IAM, roles/run.invoker): the seed's Ingress column as guardrails.

    Public means `authentifizierung: false` or an open `qa_fenster`. Never public: any service of a
    production stage, workers/beat (they pull from Redis) and jobs, a service with ingress internal.
    A QA window lasts at most 30 days (von..bis). Source for members and roles:
    https://cloud.google.com/run/docs/authenticating/public, .../securing/managing-access
    """
    member = re.compile(IAM_MEMBER_PATTERN)
    for i, stage in enumerate(matrix.stages):
        at = ("stages", i, "zugriff")
        if stage.zugriff and stage.laufzeit != "cloudrun":
            yield Problem(at, "zugriff gibt es nur in Cloud-Run-Stages (lokal regelt Compose den Zugang)")
            continue
        services = {**stage.dienste, **stage.jobs}
        for name, access in stage.zugriff.items():
            where = at + (name,)
            if name not in services:
                yield Problem(where, f"unbekannter Dienst „{name}“{suggest(name, services)}")
                continue
            kind = matrix.dienstarten.get(services[name].art)
            if kind is None:
                continue
            public = not access.authentifizierung or access.qa_fenster is not None
            why = ("qa_fenster",) if access.qa_fenster is not None else ("authentifizierung",)
            if access.qa_fenster is not None and not access.authentifizierung:
                yield Problem(where, "entweder dauerhaft öffentlich (authentifizierung: false) oder ein qa_fenster")
            if public:
                if stage.produktion:
                    yield Problem(where + why, f"in Produktion ist kein Dienst öffentlich aufrufbar ({name})")
                elif name in stage.jobs or kind.rolle in BACKGROUND_ROLES or kind.rolle == "job":
                    yield Problem(
                        where + why,
                        f"{name} ({kind.anzeige}) arbeitet ohne Anfragen von außen und ist nie öffentlich aufrufbar",
                    )
                elif isinstance(stage.netz, NetzCloud):
                    ingress = stage.netz.web_ingress if kind.einstieg and stage.netz.web_ingress else stage.netz.ingress
                    if ingress == "internal":
                        yield Problem(
                            where + why, f"{name} hat ingress internal: öffentlich aufrufbar widerspricht dem Ingress"
                        )
            window = access.qa_fenster
            if window is not None:
                if window.bis < window.von:
                    yield Problem(where + ("qa_fenster", "bis"), "das QA-Fenster endet vor seinem Beginn (bis < von)")
                elif (window.bis - window.von).days + 1 > QA_WINDOW_MAX_DAYS:
                    yield Problem(
                        where + ("qa_fenster", "bis"),
                        f"ein QA-Fenster dauert höchstens {QA_WINDOW_MAX_DAYS} Tage, von und bis mitgezählt "
                        f"(hier {(window.bis - window.von).days + 1})",
                    )
            seen: set[str] = set()
            for j, caller in enumerate(access.aufrufer):
                spot = where + ("aufrufer", j, "mitglied")
                text = caller.mitglied
                if text in PUBLIC_MEMBERS:
                    yield Problem(
                        spot,
                        f"{text} ist kein Aufrufer: öffentlich nur befristet (qa_fenster) oder "
                        "ausdrücklich (authentifizierung: false)",
                    )
                elif text not in MEMBER_KEYWORDS and not member.match(text):
                    yield Problem(
                        spot,
                        f"„{text}“ ist kein IAM-Mitglied (erlaubt: user:E-MAIL, group:E-MAIL, serviceAccount:E-MAIL, domain:DOMAIN, "
                        f"principal://…, principalSet://… oder {', '.join(MEMBER_KEYWORDS)})",
                    )
                elif text == "iap" and (stage.gcp is None or stage.gcp.projektnummer is None):
                    yield Problem(spot, "iap braucht die Projektnummer (gcp.projektnummer)")
                if text in seen:
                    yield Problem(spot, f"{text} steht doppelt")
                seen.add(text)


def _strings(value: object, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Every string in the model with its data path (field names are the YAML keys)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _no_secret_values(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    """The matrix is committed and published: no value may look like a real key or password
    (the `beispiel` hints are judged after rendering, in the facts)."""
    for path, text in _strings(matrix, ()):
        if path and path[-1] == "beispiel":
            continue
        kind = looks_secret(text)
        if kind:
            yield Problem(
                path,
                f"sieht wie ein echtes Geheimnis aus ({kind}); Geheimnisse gehören in die env-Datei "
                "bzw. den Secret Manager, in der Matrix nur ihr Name",
            )
