"""What the site's pages render from the facts: the live table against the seed, the overview,
the diagrams, the German labels of the differences view, the stage pages' folded files."""

from __future__ import annotations

import pytest
from conftest import SEED
from seedtable import plain_text, seed_table

from macros import differences, matrixpage
from macros.site import table_rows
from umgebungsmatrix.artifacts import diagrams, render_all

HEADER, ROWS = seed_table(SEED)


def test_live_table_differs_from_the_seed_only_where_listed(live):
    """Every cell is the seed's, except at most three listed under 'Abweichungen vom Ursprungstext'
    with the seed's exact wording."""
    assert [c.titel for c in live.columns] == HEADER
    listed = {(s.name, c): d for s in live.stages for c, d in s.model.abweichungen.items()}
    titles = {c.id: c.titel for c in live.columns}
    differing = []
    for stage, got_row, want_row in zip(live.stages, table_rows(live), ROWS, strict=True):
        for column, got, want in zip(live.columns, got_row, want_row, strict=True):
            if plain_text(got) != plain_text(want):
                differing.append((stage.name, column.id))
                deviation = listed.get((stage.name, column.id))
                assert deviation is not None, f"{stage.name} · {titles[column.id]} weicht ab, ohne Eintrag"
                assert deviation.ursprungstext == plain_text(want)
    assert sorted(differing) == sorted(listed), "jede gelistete Abweichung weicht wirklich ab"
    assert 1 <= len(differing) <= 3
    text = matrixpage.deviations_markdown(live)
    for deviation in listed.values():
        assert f"„{deviation.ursprungstext}“" in text


def test_reality_follows_the_seed_where_it_can(live):
    prod = live.stage("prod")
    beat = next(s for s in prod.services if s.role == "scheduler")
    assert beat.optional and beat.min_instances == beat.max_instances == 1  # "dedizierter Beat falls benötigt"


def test_overview_has_a_column_per_stage_and_marks(live):
    text = matrixpage.overview_markdown(live)
    head = text.splitlines()[0]
    for stage in live.stages:
        assert f"**{stage.name}**" in head
    assert "✓" in text and "✗" in text
    rows = text.splitlines()[2:]
    assert all(row.count("|") == len(live.stages) + 2 for row in rows)


@pytest.mark.parametrize("stage_id", ["dev", "staging", "prod"])
def test_service_diagram_names_every_service_and_follows_the_matrix(live, stage_id):
    stage = live.stage(stage_id)
    text = diagrams.services(live, stage)
    assert text.startswith("```mermaid\nflowchart")
    for service in stage.services:
        if getattr(service, "profile", None) is None and service.role not in ("postgres", "redis"):
            assert service.display in text, service.name
    for queue in live.queue_names:
        if any(queue in s.queues for s in stage.services):
            assert queue in text


def test_diagrams_change_with_the_matrix():
    from test_access import LIVE_TEXT, facts_for

    before = facts_for(LIVE_TEXT)
    after = facts_for(LIVE_TEXT.replace("name: ingestion", "name: einlesen-q"))
    for stage in before.stages:
        assert "ingestion" in diagrams.services(before, stage)
        assert "einlesen-q" in diagrams.services(after, after.stage(stage.id))
    assert diagrams.release(before) != diagrams.release(
        facts_for(
            LIVE_TEXT.replace("canary_prozent: 10", "canary_prozent: 20").replace(
                "stabil_prozent: 90", "stabil_prozent: 80"
            )
        )
    )


def test_release_and_secret_diagrams(live):
    release = diagrams.release(live)
    for stage in live.cloud_stages:
        assert stage.name in release
        for job in stage.jobs:
            assert job.name in release
    prod = live.stage("prod")
    assert f"{prod.canary.stabil_prozent} % stabil / {prod.canary.canary_prozent} % neu" in release
    secrets = diagrams.secrets(live)
    assert "Secret Manager" in secrets and "--set-env-vars" in secrets and live.compose_stage.env_file in secrets


def test_differences_use_german_labels(live):
    _head, rows = differences.differences(live)
    raw = [row[0] for row in rows if row[0].startswith("`")]
    assert not raw, f"ohne deutsche Bezeichnung: {raw}"


def test_generated_files_are_folded_with_line_numbers(live):
    rendered = render_all(live)
    page = rendered["docs/stages/staging.md"]
    assert '??? abstract "`cloudrun/staging/web.yaml` –' in page
    assert '{ .yaml #datei-cloudrun-staging-web-yaml linenums="1" title="cloudrun/staging/web.yaml" }' in page
    assert "[Alle Dateien als ZIP (staging-dateien.zip)]" in page
