"""Rules across fields of the matrix that a type alone cannot express.

Each rule yields Problems with the data path they concern, so the loader
can point at the line in matrix/umgebungen.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .model import REQUIRED_STAGES, Matrix
from .render import Context, TemplateProblem
from .yamlload import Problem

# Twelve columns of the seed table; the first is the stage name itself.
REQUIRED_COLUMNS = (
    "umgebung", "container", "netz", "datenbanken", "rag", "einlesen",
    "agenten", "secrets", "ingress", "observability", "skalierung", "kosten",
)
# Set by Cloud Run itself; a service must not define them.
RESERVED_ENV = {
    "PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "CLOUD_RUN_JOB",
    "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT", "CLOUD_RUN_TASK_COUNT",
}
ENV_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def check(matrix: Matrix, docs_dir: Path | None) -> list[Problem]:
    problems: list[Problem] = []
    for rule in (_stages, _columns, _pages, _services, _queues, _variables, _secrets):
        problems.extend(rule(matrix, docs_dir))
    if not problems:  # templates only make sense over consistent references
        problems.extend(_templates(matrix, docs_dir))
    return problems


def _stages(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, stage in enumerate(matrix.stages):
        if stage.id in seen:
            yield Problem(("stages", i, "id"), f"Stage „{stage.id}“ ist doppelt (zuerst stages[{seen[stage.id]}])")
        seen.setdefault(stage.id, i)
        if stage.migrationen.automatisch and stage.laufzeit != "compose":
            yield Problem(("stages", i, "migrationen", "automatisch"),
                          "automatische Migrationen laufen nur lokal (Compose), nie in der Cloud")
        if stage.jobs and stage.laufzeit != "cloudrun":
            yield Problem(("stages", i, "jobs"), "Jobs gibt es nur in Cloud-Run-Stages")
    for stage_id in REQUIRED_STAGES:
        if stage_id not in seen:
            yield Problem(("stages",), f"Stage „{stage_id}“ fehlt")


def _columns(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    ids = [c.id for c in matrix.spalten]
    for i, column_id in enumerate(ids):
        if column_id not in REQUIRED_COLUMNS:
            yield Problem(("spalten", i, "id"), f"unbekannte Spalte „{column_id}“ (erlaubt: {', '.join(REQUIRED_COLUMNS)})")
        elif ids.index(column_id) != i:
            yield Problem(("spalten", i, "id"), f"Spalte „{column_id}“ ist doppelt")
    for column_id in REQUIRED_COLUMNS:
        if column_id not in ids:
            yield Problem(("spalten",), f"Spalte „{column_id}“ fehlt")
    if ids and ids[0] != "umgebung":
        yield Problem(("spalten", 0, "id"), "die erste Spalte muss „umgebung“ sein (der Stage-Name)")
    cell_ids = [c for c in ids if c != "umgebung"]
    for i, stage in enumerate(matrix.stages):
        for column_id in cell_ids:
            if column_id not in stage.zellen:
                yield Problem(("stages", i, "zellen", column_id), f"Zelle für Spalte „{column_id}“ fehlt")
        for column_id in stage.zellen:
            if column_id not in cell_ids:
                yield Problem(("stages", i, "zellen", column_id), f"Zelle „{column_id}“ gehört zu keiner Spalte")


def _pages(matrix: Matrix, docs: Path | None) -> Iterator[Problem]:
    if docs is None:
        return
    for key, rel in matrix.seiten.items():
        if not (docs / rel).is_file():
            yield Problem(("seiten", key), f"Seite „{rel}“ existiert nicht in docs/")


def _services(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    for art, kind in matrix.dienstarten.items():
        path = ("dienstarten", art)
        if art in ("web", "litellm") and kind.port is None:
            yield Problem(path + ("port",), f"„{art}“ braucht einen Port")
        if art in ("web", "worker", "beat", "migration"):
            if kind.artefakt is None:
                yield Problem(path + ("artefakt",), f"„{art}“ braucht ein Container-Artefakt")
            if not kind.befehl:
                yield Problem(path + ("befehl",), f"„{art}“ braucht einen Befehl")
        if kind.artefakt is not None and kind.image is not None:
            yield Problem(path + ("image",), "entweder „artefakt“ (eigenes Image) oder „image“, nicht beides")
    for i, stage in enumerate(matrix.stages):
        for group in ("dienste", "jobs"):
            for name, dienst in getattr(stage, group).items():
                if dienst.art not in matrix.dienstarten:
                    yield Problem(("stages", i, group, name, "art"), f"Dienstart „{dienst.art}“ fehlt unter dienstarten")


def _queues(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    roles = set(matrix.plattform.queues)
    for i, stage in enumerate(matrix.stages):
        consumed: dict[str, str] = {}
        for name, dienst in stage.dienste.items():
            for j, role in enumerate(dienst.queues or ()):
                path = ("stages", i, "dienste", name, "queues", j)
                if role not in roles:
                    yield Problem(path, f"unbekannte Queue „{role}“ (bekannt: {', '.join(sorted(roles))})")
                elif role in consumed:
                    yield Problem(path, f"Queue „{role}“ wird schon von „{consumed[role]}“ konsumiert")
                consumed.setdefault(role, name)
            if stage.laufzeit == "cloudrun" and dienst.queues and len(dienst.queues) > 1:
                yield Problem(("stages", i, "dienste", name, "queues"),
                              "in der Cloud bleiben Ingestion- und Agenten-Queues getrennt: ein Worker pro Queue")
        for role in sorted(roles - set(consumed)):
            yield Problem(("stages", i, "dienste"), f"kein Worker konsumiert die Queue „{role}“")


def _variables(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    for name in matrix.variablen:
        path = ("variablen", name)
        if not name or not set(name) <= ENV_CHARS or name[0].isdigit():
            yield Problem(path, f"„{name}“ ist kein gültiger Variablenname (A-Z, 0-9, _)")
        elif name in RESERVED_ENV:
            yield Problem(path, f"„{name}“ ist von Cloud Run reserviert")


def _secrets(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    secret_names = {n for n, v in matrix.variablen.items() if v.geheim}
    for i, stage in enumerate(matrix.stages):
        if stage.secrets.quelle != "secret_manager":
            continue
        versions = stage.secrets.versionen
        for name in versions:
            if name not in secret_names:
                yield Problem(("stages", i, "secrets", "versionen", name),
                              f"„{name}“ ist keine geheime Variable (geheim: true unter variablen)")
        # Only secrets a service of this stage reads need a pinned version
        # (POSTGRES_PASSWORD of the local container does not exist in the cloud).
        kinds = {d.art for d in list(stage.dienste.values()) + list(stage.jobs.values())}
        used = {n for n in secret_names if kinds & set(matrix.variablen[n].dienste)}
        for name in sorted(used - set(versions)):
            yield Problem(("stages", i, "secrets", "versionen"), f"gepinnte Version für „{name}“ fehlt")


def _templates(matrix: Matrix, _docs: Path | None) -> Iterator[Problem]:
    for i, stage in enumerate(matrix.stages):
        context = Context(matrix, stage)
        for column_id, template in stage.zellen.items():
            yield from _try(context, template, ("stages", i, "zellen", column_id))
        for name, variable in matrix.variablen.items():
            if variable.wert is not None:
                yield from _try(context, variable.wert, ("variablen", name, "wert"), f" (Stage {stage.id})")


def _try(context: Context, template: str, path: tuple, suffix: str = "") -> Iterator[Problem]:
    try:
        context.render(template)
    except TemplateProblem as exc:
        yield Problem(path, f"{exc}{suffix}")
