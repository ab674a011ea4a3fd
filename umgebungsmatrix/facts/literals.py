"""Fact values typed as text where a template should render them.

A cell of the comparison table and a detail page state the same fact only if
both render it from the matrix. `fact_literals` collects the distinctive
values of a matrix (queue names, ports, images, instance and project names,
batch sizes ≥ 10, sampling percentages, variable names …); `typed_facts`
finds them in a template's literal text, outside `{{ … }}`, `{% … %}` and
`{# … #}`. Small numbers (0–9) are left out: they occur in ordinary prose.
"""

from __future__ import annotations

import re

from ..matrix import model as m
from .templates import prozent

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def fact_literals(matrix: m.Matrix) -> set[str]:
    """Distinctive fact values of the matrix, as they would be typed on a page or in a cell."""
    p = matrix.plattform
    facts = {q.name for q in p.queues.values()}
    facts |= {str(port) for port in (p.postgres.port, p.redis.port)}
    facts |= {p.artefakte.registry, p.artefakte.tag_variable, str(p.rag.embedding_dimension)}
    facts |= set(matrix.variablen)
    for kind in matrix.dienstarten.values():
        facts |= {str(kind.port)} if kind.port else set()
        facts |= {kind.image} if kind.image else set()
        facts |= {kind.health_pfad} if kind.health_pfad else set()
    for stage in matrix.stages:
        facts.add(prozent(stage.langfuse.sampling_prozent))
        if stage.einlesen.batch_groesse >= 10:  # small numbers occur in ordinary prose
            facts.add(str(stage.einlesen.batch_groesse))
        if stage.rag:
            facts.add(str(stage.rag.index_test_vektoren))
        if stage.gcp:
            facts |= {stage.gcp.projekt, stage.gcp.region}
        if isinstance(stage.netz, m.NetzCloud):
            facts |= {stage.netz.cloudsql_instanz, stage.netz.memorystore_instanz, stage.netz.vpc_connector}
        if isinstance(stage.secrets, m.SecretsEnvDatei):
            facts.add(stage.secrets.datei)
        for limit in (stage.skalierung.min, stage.skalierung.max) if stage.skalierung else ():
            if limit >= 10:
                facts.add(str(limit))
    return facts


def typed_facts(template: str, facts: set[str]) -> list[str]:
    """Facts that appear literally in a template outside of Jinja expressions, sorted."""
    text = JINJA.sub(" ", template)
    return sorted(f for f in facts if re.search(rf"(?<![\w.-]){re.escape(f)}(?![\w-])", text))
