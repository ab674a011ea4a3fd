"""'Was unterscheidet die Stages': facts that differ between stages, from the matrix."""

from __future__ import annotations

from typing import Any

from umgebungsmatrix.facts import CloudService, Facts, Stage, stage_resources

SKIP = {"id", "name", "zellen", "dienste", "jobs"}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def stage_facts(stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    data = stage.model.model_dump(exclude=SKIP, exclude_none=True)
    _flatten(data, "", out)
    for service in stage_resources(stage):
        group = "jobs" if service.is_job else "dienste"
        text = service.display
        if isinstance(service, CloudService) and not service.is_job:
            text += f", {service.min_instances}–{service.max_instances}"
        if service.queues:
            text += f", Queue {', '.join(service.queues)}"
        if service.optional:
            text += " (optional)"
        out[f"{group}.{service.name}"] = text
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


def differences(facts: Facts) -> tuple[list[str], list[list[str]]]:
    """Header and rows (fact, value per stage) where not all stages agree."""
    per_stage = [stage_facts(s) for s in facts.stages]
    keys: list[str] = []
    for f in per_stage:
        keys += [k for k in f if k not in keys]
    rows = []
    for key in keys:
        values = [f.get(key) for f in per_stage]
        if len({repr(v) for v in values}) > 1:
            rows.append([f"`{key}`", *(show(v) for v in values)])
    return ["Fakt", *(s.name for s in facts.stages)], rows


def _table(head: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(head), line(["---"] * len(head)), *(line(r) for r in rows)])


def markdown(facts: Facts, shared: bool = True) -> str:
    """Facts set in several stages (shared=True) or in only one stage (shared=False)."""
    head, rows = differences(facts)
    picked = [r for r in rows if (sum(cell != "–" for cell in r[1:]) > 1) == shared]
    return _table(head, picked)
