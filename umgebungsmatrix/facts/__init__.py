"""Layer 2: the facts, resolved once per stage from a valid matrix.

    facts = load()                       # matrix/umgebungen.yaml; MatrixError (exit 2) with located problems
    facts.compose_stage.services         # ComposeService, ...
    facts.cloud_stages[0].services[0].max_instances
    cell(facts, stage, "skalierung")     # rendered table cell

`load()` is what `validate` runs: the matrix rules plus every rule that needs
rendered templates. A matrix it accepts renders every artifact.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..matrix import Source
from ..matrix import load as load_source
from ..paths import DOCS_DIR, MATRIX_FILE
from .build import build, cell, cell_parts, render, secret_id, stage_context, stage_resources, template_service
from .model import (
    Access,
    CloudService,
    CloudStage,
    ComposeService,
    ComposeStage,
    EnvEntry,
    Facts,
    Invoker,
    SecretRef,
    Service,
    Stage,
)
from .templates import TABLE_PAGE, TemplateProblem, kurz, prozent, relative_link

_CACHE: dict[tuple[Path, int, int, Path | None], Facts] = {}


def load(file: Path = MATRIX_FILE, docs_dir: Path | None = DOCS_DIR) -> Facts:
    """Load, validate and resolve the matrix; raise MatrixError (exit 2) on any problem.

    Cached by file identity, modification time and size, so `mkdocs serve` and
    the generators can call it freely; an edit is picked up on the next call.
    """
    file = Path(file)
    try:
        stat = file.stat()
        key: tuple[Path, int, int, Path | None] | None = (file.resolve(), stat.st_mtime_ns, stat.st_size, docs_dir)
    except OSError:
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    facts = build(load_source(file, docs_dir))
    if key is not None:
        _CACHE.clear()
        _CACHE[key] = facts
    return facts


def from_source(source: Source) -> Facts:
    return build(source)


def warnings(facts: Facts, today: date) -> list[str]:
    """German warnings that do not make the matrix invalid, each `matrix/umgebungen.yaml:LINE:COL: text`.

    Today: a QA window (zugriff.*.qa_fenster) that has ended before `today` (UTC date): the next deploy
    removes the public access; the entry should go.
    """
    out = []
    for stage in facts.cloud_stages:
        for service in stage.resources:
            window = service.access.qa_window
            if window is not None and window.bis < today:
                out.append(
                    f"{facts.where(service.access.origin + ('qa_fenster', 'bis'))}: QA-Fenster von {stage.id}/"
                    f"{service.name} ist seit {window.bis.isoformat()} abgelaufen – der nächste Deploy entfernt "
                    "die öffentliche Freigabe; Eintrag qa_fenster löschen"
                )
    return out


__all__ = [
    "TABLE_PAGE",
    "Access",
    "CloudService",
    "CloudStage",
    "ComposeService",
    "ComposeStage",
    "EnvEntry",
    "Facts",
    "Invoker",
    "SecretRef",
    "Service",
    "Stage",
    "TemplateProblem",
    "build",
    "cell",
    "cell_parts",
    "from_source",
    "kurz",
    "load",
    "prozent",
    "relative_link",
    "render",
    "secret_id",
    "stage_context",
    "stage_resources",
    "template_service",
    "warnings",
]
