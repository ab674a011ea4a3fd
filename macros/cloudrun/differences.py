"""'Was unterscheidet die Stages': facts that differ between stages, from the matrix."""

from __future__ import annotations

from typing import Any

from macros.model import Matrix, Stage
from macros.render import services

SKIP = {"id", "name", "zellen", "dienste", "jobs"}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def stage_facts(matrix: Matrix, stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    data = stage.model_dump(exclude=SKIP, exclude_none=True)
    _flatten(data, "", out)
    for view in services(matrix, stage) + services(matrix, stage, jobs=True):
        group = "jobs" if view.is_job else "dienste"
        text = f"{view.anzeige}, {view.min}–{view.max}" if not view.is_job else view.anzeige
        if view.queues:
            text += f", Queue {', '.join(view.queues)}"
        if view.optional:
            text += " (optional)"
        out[f"{group}.{view.name}"] = text
    return out


def show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(show, value))
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def differences(matrix: Matrix) -> tuple[list[str], list[list[str]]]:
    """Header and rows (fact, value per stage) where not all stages agree."""
    facts = [stage_facts(matrix, s) for s in matrix.stages]
    keys: list[str] = []
    for f in facts:
        keys += [k for k in f if k not in keys]
    rows = []
    for key in keys:
        values = [f.get(key) for f in facts]
        if len({repr(v) for v in values}) > 1:
            rows.append([f"`{key}`", *(show(v) for v in values)])
    return ["Fakt", *(s.name for s in matrix.stages)], rows


def _table(head: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(head), line(["---"] * len(head)), *(line(r) for r in rows)])


def markdown(matrix: Matrix, shared: bool = True) -> str:
    """Facts set in several stages (shared=True) or in only one stage (shared=False)."""
    head, rows = differences(matrix)
    picked = [r for r in rows if (sum(cell != "–" for cell in r[1:]) > 1) == shared]
    return _table(head, picked)
