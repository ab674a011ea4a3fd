"""The German doc pages render their facts from the matrix; none is typed in.

1. A fact changed in a copy of the matrix shows up changed on the built pages
   (real `mkdocs build --strict` inside the copy, macros imported from the copy).
2. The Markdown sources of the pages contain no fact value outside Jinja
   expressions: '512', '25%', 'ingestion', … may only appear in the built HTML.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SEED_MATRIX, mkdocs_build

PAGES = (
    "runbooks/migrations.md",
    "cicd/pipeline.md",
    "security/secrets.md",
    "operations/scaling.md",
)
# Values named in the issue; kept even if the matrix changes, they must never be typed.
ISSUE_LITERALS = ("512", "25%", "ingestion", "agents", "8000")


# --- helpers -------------------------------------------------------------------


def fact_literals(matrix) -> set[str]:
    """The product's fact literals (umgebungsmatrix.facts.literals) plus the values the issue named."""
    from umgebungsmatrix.facts.literals import fact_literals as product

    return product(matrix) | set(ISSUE_LITERALS)


def typed_facts(markdown: str, facts: set[str]) -> list[str]:
    from umgebungsmatrix.facts.literals import typed_facts as product

    return product(markdown, facts)


def page_text(site: Path, page: str) -> str:
    """Visible text of a built page's article, whitespace collapsed."""
    raw = (site / page.removesuffix(".md") / "index.html").read_text(encoding="utf-8")
    article = re.search(r"<article.*?</article>", raw, re.S)
    assert article, f"kein <article> in {page}"
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", article.group(0), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def build(repo: Path, out: Path) -> dict[str, str]:
    proc = mkdocs_build(repo, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {page: page_text(out, page) for page in PAGES}


def edit_matrix(repo: Path, change) -> None:
    path = repo / "matrix" / "umgebungen.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def stage_data(data: dict, stage_id: str) -> dict:
    return next(s for s in data["stages"] if s["id"] == stage_id)


# --- 1. changed facts reach the pages --------------------------------------------


@pytest.mark.live
def test_changed_matrix_facts_show_up_on_the_pages(repo_copy: Path, tmp_path: Path, seed) -> None:
    (repo_copy / "matrix" / "umgebungen.yaml").write_text(SEED_MATRIX.read_text(encoding="utf-8"), encoding="utf-8")
    before = build(repo_copy, tmp_path / "vorher")

    prod, staging = seed.stage("prod").model, seed.stage("staging").model
    old_batch, new_batch = prod.einlesen.batch_groesse, 777
    old_max, new_max = staging.skalierung.max, staging.skalierung.max + 1
    old_queue, new_queue = seed.queue_name("agenten"), "agenten-q"
    old_instance, new_instance = prod.netz.cloudsql_instanz, prod.netz.cloudsql_instanz + "-neu"
    secret = next(iter(prod.secrets.versionen))
    old_version = prod.secrets.versionen[secret]
    new_version = old_version + 40

    def change(data: dict) -> None:
        p, s = stage_data(data, "prod"), stage_data(data, "staging")
        p["einlesen"]["batch_groesse"] = new_batch
        s["skalierung"]["max"] = new_max
        data["plattform"]["queues"]["agenten"]["name"] = new_queue
        p["netz"]["cloudsql_instanz"] = new_instance
        p["secrets"]["versionen"][secret] = new_version

    edit_matrix(repo_copy, change)
    after = build(repo_copy, tmp_path / "nachher")

    scaling, migrations = "operations/scaling.md", "runbooks/migrations.md"
    secrets, pipeline = "security/secrets.md", "cicd/pipeline.md"

    # prod batch size 512 -> 777
    assert re.search(rf"\b{old_batch}\b", before[scaling])
    assert re.search(rf"\b{new_batch}\b", after[scaling])
    assert not re.search(rf"\b{old_batch}\b", after[scaling])

    # staging max 3 -> 4: the stage default and the "change a limit" example follow
    assert re.search(rf"min \d+ , max {old_max} Instanzen", before[scaling])
    assert re.search(rf"min \d+ , max {new_max} Instanzen", after[scaling])

    # queue agents -> agenten-q: gone from every page, the new name is shown
    assert old_queue in before[scaling]
    assert new_queue in after[scaling]
    for page in PAGES:
        assert not re.search(rf"(?<![\w-]){re.escape(old_queue)}(?![\w-])", after[page]), page

    # Cloud SQL instance in the runbook (describe, clone, backups)
    assert old_instance in before[migrations]
    assert new_instance in after[migrations]
    assert not re.search(rf"{re.escape(old_instance)}(?!-neu)", after[migrations])

    # pinned secret version on the secrets page and in the pipeline's --set-secrets
    assert re.search(rf"{secret} \S+ {old_version} ", before[secrets])
    assert re.search(rf"{secret} \S+ {new_version} ", after[secrets])
    assert f":{new_version}" in after[pipeline] and f"{secret}=" in after[pipeline]

    for page in PAGES:
        assert before[page] != after[page], f"{page} hat sich nicht geändert"


# --- 2. no fact typed into the Markdown sources -----------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_source_types_no_fact(page: str, live) -> None:
    source = (ROOT / "docs" / page).read_text(encoding="utf-8")
    found = typed_facts(source, fact_literals(live.matrix))
    assert not found, f"docs/{page} enthält Fakten als Text statt aus der Matrix: {found}"


def test_typed_fact_scanner_finds_typed_values(seed) -> None:
    facts = fact_literals(seed.matrix)
    queue = seed.queue_name("einlesen")
    batch = str(seed.stage("prod").model.einlesen.batch_groesse)
    typed = f"Prod verarbeitet {batch} Chunks pro Batch aus der Queue `{queue}`; Sampling 25%."
    assert typed_facts(typed, facts) == sorted({batch, queue, "25%"})
    rendered = "Prod: {{ stages.prod.einlesen.batch_groesse }} Chunks aus `{{ queue('einlesen') }}`."
    assert typed_facts(rendered, facts) == []
    block = "{% for s in matrix.stages %}{{ prozent(s.langfuse.sampling_prozent) }}{% endfor %}"
    assert typed_facts(block, facts) == []


def test_a_cell_that_types_a_fact_is_refused(live) -> None:
    """Cell and detail page cannot state different values: a cell must render each fact from the matrix."""
    from test_access import LIVE_TEXT, errors, line_of

    template = (
        "einlesen: \"Cloud Run Worker Queue `{{ queue('einlesen') }}`, maxInstances abgestimmt auf Kostenlimit; "
        'Batches {{ stage.einlesen.batch_groesse }} Chunks."'
    )
    assert template in LIVE_TEXT
    batch = str(live.stage("prod").model.einlesen.batch_groesse)
    text = LIVE_TEXT.replace(template, template.replace("{{ stage.einlesen.batch_groesse }}", batch))
    found = [line for line in errors(text) if "wörtlich" in line]
    assert len(found) == 1 and f"„{batch}“" in found[0], found
    assert found[0].startswith(f"matrix/umgebungen.yaml:{line_of(text, 'Batches ' + batch)}:")
