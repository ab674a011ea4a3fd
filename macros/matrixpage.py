"""The matrix page: an at-a-glance overview, the full comparison table, and the deviations.

All three render from the facts, in Python (no Jinja loop over a hundred cells):

- `overview_markdown`: key facts per stage as rows, stages as columns, with ✓/✗ marks.
- `matrix_markdown`: the seed's table. The stylesheet makes Material's scroll wrapper the one box
  that scrolls (both ways) and the table itself not a scroll container, so the sticky header row
  and stage column stick to the element that really scrolls. Cells stay Markdown, so MkDocs
  checks and rewrites their links. The empty-start sentence keeps its place at the end of its
  cells, set apart by a class.
- `deviations_markdown`: the cells that deliberately differ from the seed, with the seed's wording
  and the reason (matrix `abweichungen`).
"""

from __future__ import annotations

import html

from umgebungsmatrix.facts import TABLE_PAGE, CloudStage, ComposeStage, Facts, Stage, cell, cell_parts, prozent

from .mdtable import row


def _yes(text: str = "ja") -> str:
    return f'<span class="umx-ja"><span class="umx-zeichen" aria-hidden="true">✓</span> {text}</span>'


def _no(text: str = "nein") -> str:
    return f'<span class="umx-nein"><span class="umx-zeichen" aria-hidden="true">✗</span> {text}</span>'


def _secrets(stage: Stage) -> str:
    if isinstance(stage, ComposeStage):
        return f"Datei `{stage.env_file}`"
    assert isinstance(stage, CloudStage)
    return "CI-Variablen je Deploy" if stage.deploys_with_flags else "Secret Manager, gepinnt"


def _database(stage: Stage) -> str:
    if isinstance(stage, ComposeStage):
        return "Postgres-Container"
    assert isinstance(stage, CloudStage)
    return f"Cloud SQL, {'Private' if not stage.public_cloudsql else 'Public'} IP"


def _login_only(stage: Stage) -> str:
    """Nothing is public (✓: local only, or only through the load balancer / to authenticated callers),
    or parts are (✗, with until when)."""
    if isinstance(stage, ComposeStage):
        return _yes(f"nur {stage.compose.lokale_adresse}")
    assert isinstance(stage, CloudStage)
    forever = [s.name for s in stage.resources if not s.access.authenticated]
    if forever:
        return _no(f"öffentlich: {', '.join(forever)}")
    windows = [s.access.qa_window for s in stage.resources if s.access.qa_window is not None]
    if windows:
        return _no(f"öffentlich im QA-Fenster bis {min(w.bis for w in windows).strftime('%d.%m.%Y')}")
    if stage.network.web_ingress == "internal-and-cloud-load-balancing":
        return _yes("extern nur über den Load Balancer")
    return _yes("nur angemeldete Aufrufer")


def _web_always_on(stage: Stage) -> str:
    if not isinstance(stage, CloudStage):
        return "– (lokal)"
    web = next((s for s in stage.services if s.entry), None)
    if web is None:
        return "–"
    return _yes(f"min {web.min_instances}") if web.min_instances > 0 else _no("skaliert auf 0")


def _canary(stage: Stage) -> str:
    if isinstance(stage, CloudStage) and stage.canary is not None:
        return _yes(f"{stage.canary.stabil_prozent} / {stage.canary.canary_prozent} %")
    return _no()


def _langfuse(stage: Stage) -> str:
    lf = stage.model.langfuse
    if lf.modus == "optional":
        return "optional (Profil)"
    text = f"Sampling {prozent(lf.sampling_prozent)}"
    return text + (", PII maskiert" if lf.pii_redaction else "")


ROWS = (
    ("Läuft mit", lambda s: "Docker Compose" if isinstance(s, ComposeStage) else "Cloud Run"),
    ("Geheimnisse aus", _secrets),
    ("Datenbank", _database),
    ("Migration beim Start", lambda s: _yes() if s.model.migrationen.automatisch else _no("Job im Deploy")),
    ("Point-in-Time-Recovery", lambda s: _yes() if s.model.datenbank.pitr else _no()),
    ("Nicht öffentlich", _login_only),
    ("Web immer an", _web_always_on),
    ("Canary-Split", _canary),
    ("Langfuse", _langfuse),
    ("Start mit leerem Datenbestand", lambda s: _yes() if s.empty_start else _no()),
    ("Produktions-Leitplanken", lambda s: _yes() if s.production else _no()),
)


def overview_markdown(facts: Facts) -> str:
    """Key facts per stage (rows) with ✓/✗ marks, one column per stage."""
    out = [row(["", *(f"**{s.name}**" for s in facts.stages)]), row(["---"] * (len(facts.stages) + 1))]
    for label, value in ROWS:
        out.append(row([label, *(value(s) for s in facts.stages)]))
    return "\n".join(out)


def matrix_markdown(facts: Facts, page: str = TABLE_PAGE) -> str:
    """The full comparison table (the seed's columns and cells) as Markdown; the empty-start sentence
    stays at the end of its cells, in a span of class umx-leer (set apart by the stylesheet)."""
    out = [row([c.titel for c in facts.columns]), row(["---"] * len(facts.columns))]
    for stage in facts.stages:
        cells = []
        for column in facts.columns:
            body, suffix = cell_parts(facts, stage, column.id, page)
            cells.append(f'{body} <span class="umx-leer">{html.escape(suffix)}</span>' if suffix else body)
        out.append(row(cells))
    return "\n".join(out)


def deviations_markdown(facts: Facts, page: str = TABLE_PAGE) -> str:
    """Each cell that differs from the seed: stage and column, the seed's wording, the cell now, why."""
    titles = {c.id: c.titel for c in facts.columns}
    out = []
    for stage in facts.stages:
        for column, deviation in stage.model.abweichungen.items():
            out += [
                f"**{stage.name} · {titles[column]}**",
                "",
                f"- Ursprungstext: „{deviation.ursprungstext}“",
                f"- Jetzt: „{cell(facts, stage, column, page)}“",
                f"- Grund: {deviation.grund}",
                "",
            ]
    return "\n".join(out) if out else "Keine: jede Zelle steht wie im Ursprungstext."
