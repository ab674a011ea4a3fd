"""Broken matrix files: located German errors (file:line:col: path: message), exit 2, nothing written.

The cases break the frozen seed matrix (tests/fixtures/seed), so the live
matrix may change freely. Most run in-process; a few run the CLI for the
exit code and the promise that nothing is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DOCS, MATRIX, SEED_MATRIX, run_cli, snapshot, web_port_path, with_value

from umgebungsmatrix.facts import build
from umgebungsmatrix.matrix import MatrixError, load_string

ORIGINAL = SEED_MATRIX.read_text(encoding="utf-8")
REL = "matrix/umgebungen.yaml"


def errors(text: str, docs: Path | None = DOCS) -> list[str]:
    """The lines of the German report for a matrix text (named matrix/umgebungen.yaml)."""
    try:
        build(load_string(text, MATRIX, docs))
    except MatrixError as exc:
        assert "Traceback" not in str(exc)
        return str(exc).splitlines()
    return []


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line that equals (else contains) needle."""
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if line == needle] or [
        i + 1 for i, line in enumerate(lines) if needle in line
    ]
    assert len(hits) >= occurrence, needle
    return hits[occurrence - 1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def stage_block(text: str, stage_id: str) -> tuple[int, int]:
    start = text.index(f"  - id: {stage_id}\n")
    nxt = text.find("\n  - id: ", start + 1)
    return start, (nxt + 1 if nxt >= 0 else len(text))


def in_stage(text: str, stage_id: str, old: str, new: str) -> str:
    a, b = stage_block(text, stage_id)
    return text[:a] + replace_once(text[a:b], old, new) + text[b:]


# (id, breaker, [(needle, occurrence, column, path, message)])
CASES = [
    (
        "unbekannter-schluessel",
        lambda t: replace_once(t, "  postgres:\n    version: 16\n", "  postgres:\n    version: 16\n    farbe: blau\n"),
        [("farbe: blau", 1, 5, "plattform.postgres.farbe", "unbekannter Schlüssel „farbe“")],
    ),
    (
        "doppelter-schluessel",
        lambda t: replace_once(t, "    version: 16\n", "    version: 16\n    version: 17\n"),
        [
            (
                "version: 17",
                1,
                5,
                "plattform.postgres.version",
                f"Schlüssel „version“ ist doppelt (zuerst in Zeile {line_of(ORIGINAL, '    version: 16')})",
            )
        ],
    ),
    (
        "falscher-typ",
        lambda t: replace_once(t, "    port: 8000\n", "    port: achttausend\n"),
        [("port: achttausend", 1, 11, "dienstarten.web.port", "erwartet eine Ganzzahl, gefunden „achttausend“")],
    ),
    (
        "zelle-fehlt",
        lambda t: replace_once(t, "      kosten: Container pausieren, Datenbank-Volume löschen\n", ""),
        [("    zellen:", 1, 5, "stages[0].zellen", "Zelle für Spalte „kosten“ fehlt")],
    ),
    (
        "zelle-ohne-spalte-mit-vorschlag",
        lambda t: replace_once(t, "      kosten: Container pausieren", "      kostn: Container pausieren"),
        [
            (
                "kostn: Container",
                1,
                7,
                "stages[0].zellen.kostn",
                "Zelle „kostn“ gehört zu keiner Spalte (meinten Sie „kosten“?)",
            ),
            ("    zellen:", 1, 5, "stages[0].zellen", "Zelle für Spalte „kosten“ fehlt"),
        ],
    ),
    (
        "min-groesser-max",
        lambda t: replace_once(t, "      min: 0\n      max: 3\n", "      min: 5\n      max: 3\n"),
        [("      min: 5", 1, 12, "stages[1].skalierung.min", "min (5) ist größer als max (3)")],
    ),
    (
        "dienst-min-ueber-stage-max",
        lambda t: in_stage(t, "staging", "      web: {art: web}\n", "      web: {art: web, min: 5}\n"),
        [("web: {art: web, min: 5}", 1, 28, "stages[1].dienste.web.min", "min 5 liegt über max 3 (skalierung.max 3)")],
    ),
    (
        "dienst-max-ueber-stage-max",
        lambda t: in_stage(t, "staging", "      web: {art: web}\n", "      web: {art: web, max: 4}\n"),
        [
            (
                "web: {art: web, max: 4}",
                1,
                28,
                "stages[1].dienste.web.max",
                "max 4 liegt über der Obergrenze der Stage (skalierung.max 3)",
            )
        ],
    ),
    (
        "beat-zweimal",
        lambda t: in_stage(t, "prod", "beat: {art: beat, min: 1, max: 1}", "beat: {art: beat, min: 1, max: 2}"),
        [
            (
                "beat: {art: beat, min: 1, max: 2}",
                1,
                38,
                "stages[2].dienste.beat.max",
                "ein Scheduler (Beat) läuft höchstens einmal: sonst plant er doppelt (max: 1)",
            )
        ],
    ),
    (
        "min-in-compose",
        lambda t: in_stage(t, "dev", "      web: {art: web}\n", "      web: {art: web, min: 1}\n"),
        [
            (
                "web: {art: web, min: 1}",
                1,
                28,
                "stages[0].dienste.web.min",
                "„min“ gibt es nur in Cloud-Run-Stages (Compose startet jeden Dienst einmal)",
            )
        ],
    ),
    (
        "sampling-ueber-100",
        lambda t: replace_once(t, "sampling_prozent: 25", "sampling_prozent: 125"),
        [("sampling_prozent: 125", 1, 25, "stages[1].langfuse.sampling_prozent", "darf höchstens 100 sein, ist „125“")],
    ),
    (
        "link-auf-fehlende-seite",
        lambda t: replace_once(t, "{{ link('scaling', 'Scaling') }}", "{{ link('skalierung', 'Scaling') }}"),
        [
            (
                "link('skalierung'",
                1,
                17,
                "stages[1].zellen.einlesen",
                "Link auf unbekannte Seite „skalierung“ (bekannt: compose, migrations, pipeline, scaling, schema, schema_seite, secrets)",
            )
        ],
    ),
    (
        "seite-existiert-nicht",
        lambda t: replace_once(t, "  scaling: operations/scaling.md", "  scaling: operations/skalierung.md"),
        [
            (
                "scaling: operations/skalierung.md",
                1,
                12,
                "seiten.scaling",
                "Seite „operations/skalierung.md“ existiert nicht in docs/",
            )
        ],
    ),
    (
        "unbekanntes-feld-in-vorlage",
        lambda t: replace_once(
            t, "Batches {{ stage.einlesen.batch_groesse }}", "Batches {{ stage.einlesen.batchgroesse }}"
        ),
        [
            (
                "stage.einlesen.batchgroesse",
                1,
                17,
                "stages[2].zellen.einlesen",
                "Vorlage: Einlesen hat kein Feld 'batchgroesse'",
            )
        ],
    ),
    (
        "objekt-in-vorlage",
        lambda t: replace_once(t, "Batches {{ stage.einlesen.batch_groesse }}", "Batches {{ stage.einlesen }}"),
        [
            (
                "Batches {{ stage.einlesen }}",
                1,
                17,
                "stages[2].zellen.einlesen",
                "Vorlage gibt ein Objekt (Einlesen) aus statt eines Textes; gemeint ist wohl ein Feld davon",
            )
        ],
    ),
    (
        "unbekannte-queue-mit-vorschlag",
        lambda t: replace_once(t, "queues: [einlesen, agenten]", "queues: [einlesen, agentn]"),
        [
            (
                "queues: [einlesen, agentn]",
                1,
                48,
                "stages[0].dienste.worker.queues[1]",
                "unbekannte Queue „agentn“ (meinten Sie „agenten“?)",
            ),
            ("    dienste:", 1, 5, "stages[0].dienste", "kein Worker konsumiert die Queue „agenten“"),
        ],
    ),
    (
        "queues-platzhalter-ersetzt",
        lambda t: replace_once(t, '--queues, "{queues}"', '--queues, "ingestion,agents"'),
        [
            (
                "    befehl: [celery, -A, &celery_app",
                1,
                5,
                "dienstarten.worker.befehl",
                "ein Worker-Befehl nennt seine Queues genau einmal mit dem Platzhalter {queues} "
                '(z. B. --queues, "{queues}")',
            )
        ],
    ),
    (
        "unbekannter-platzhalter",
        lambda t: replace_once(t, '"{parallelitaet}"', '"{paralelitaet}"'),
        [
            (
                '"{paralelitaet}"',
                1,
                101,
                "dienstarten.worker.befehl[7]",
                "unbekannter Platzhalter {paralelitaet} (meinten Sie „parallelitaet“?)",
            )
        ],
    ),
    (
        "unbekannte-dienstart",
        lambda t: in_stage(t, "staging", "      litellm: {art: litellm}\n", "      litellm: {art: litelm}\n"),
        [
            (
                "litellm: {art: litelm}",
                1,
                22,
                "stages[1].dienste.litellm.art",
                "unbekannte Dienstart „litelm“ (meinten Sie „litellm“?)",
            )
        ],
    ),
    (
        "postgres-in-der-cloud",
        lambda t: in_stage(
            t,
            "staging",
            "      litellm: {art: litellm}\n",
            "      litellm: {art: litellm}\n      db: {art: postgres}\n",
        ),
        [
            (
                "      db: {art: postgres}",
                1,
                17,
                "stages[1].dienste.db.art",
                "Postgres ist in der Cloud ein verwalteter Dienst (Cloud SQL/Memorystore unter netz), kein Cloud-Run-Dienst",
            )
        ],
    ),
    (
        "queues-in-cloud-nicht-getrennt",
        lambda t: replace_once(
            t,
            "      worker: {art: worker, queues: [einlesen]}\n      agenten-worker: {art: worker, queues: [agenten]}\n",
            "      worker: {art: worker, queues: [einlesen, agenten]}\n",
        ),
        [
            (
                "queues: [einlesen, agenten]}",
                2,
                29,
                "stages[1].dienste.worker.queues",
                "in der Cloud bleiben Ingestion- und Agenten-Queues getrennt: ein Worker pro Queue",
            )
        ],
    ),
    (
        "migration-automatisch-in-cloud",
        lambda t: in_stage(t, "staging", "      automatisch: false\n", "      automatisch: true\n"),
        [
            (
                "      automatisch: true",
                2,
                20,
                "stages[1].migrationen.automatisch",
                "automatische Migrationen laufen nur lokal (Compose), nie in der Cloud",
            )
        ],
    ),
    (
        "zwei-compose-stages",
        lambda t: in_stage(t, "staging", "    laufzeit: cloudrun\n", "    laufzeit: compose\n"),
        [("  - id: staging", 1, 5, "stages[1]", "genau eine Stage mit laufzeit compose erwartet, gefunden 2")],
    ),
    (
        "produktion-mit-public-ip",
        lambda t: in_stage(t, "prod", "      cloudsql_ip: private\n", "      cloudsql_ip: public\n"),
        [
            (
                "      cloudsql_ip: public",
                2,
                20,
                "stages[2].netz.cloudsql_ip",
                "in Produktion nur Cloud SQL über die Private IP",
            )
        ],
    ),
    (
        "produktion-ohne-pitr",
        lambda t: in_stage(t, "prod", "      pitr: true\n", "      pitr: false\n"),
        [
            (
                "      pitr: false",
                3,
                13,
                "stages[2].datenbank.pitr",
                "in Produktion ist Point-in-Time-Recovery Pflicht (pitr: true)",
            )
        ],
    ),
    (
        "produktion-web-ohne-min",
        lambda t: in_stage(t, "prod", "      web: {art: web, min: 2}\n", "      web: {art: web}\n"),
        [
            (
                "      web: {art: web}",
                3,
                7,
                "stages[2].dienste.web",
                "in Produktion braucht Web Min-Instances > 0 (min: 1 oder mehr)",
            )
        ],
    ),
    (
        "pflichtfeld-fehlt",
        lambda t: replace_once(t, "      batch_groesse: 512\n", ""),
        [("    einlesen:", 4, 5, "stages[2].einlesen.batch_groesse", "Pflichtfeld „batch_groesse“ fehlt")],
    ),
    (
        "unbekannte-secret-quelle",
        lambda t: replace_once(t, "      quelle: ci_variablen\n", "      quelle: vault\n"),
        [
            (
                "      quelle: vault",
                1,
                15,
                "stages[1].secrets.quelle",
                "„quelle“ ist „vault“; erlaubt sind 'env_datei', 'ci_variablen', 'secret_manager'",
            )
        ],
    ),
    (
        "yaml-tabulator",
        lambda t: replace_once(t, "    version: 16\n", "\tversion: 16\n"),
        [
            (
                "\tversion: 16",
                1,
                1,
                "(Wurzel)",
                "YAML-Syntaxfehler: Tabulator gefunden; YAML erlaubt nur Leerzeichen zum Einrücken",
            )
        ],
    ),
    (
        "unsicheres-tag",
        lambda t: replace_once(
            t, "  name: RAG- und Agenten-Plattform", "  name: !!python/object/apply:os.system [echo pwned]"
        ),
        [
            (
                "!!python/object",
                1,
                9,
                "plattform.name",
                "unzulässiges YAML-Tag „tag:yaml.org,2002:python/object/apply:os.system“",
            )
        ],
    ),
]


@pytest.mark.parametrize("name,breaker,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_matrix_is_located_in_german(name, breaker, expected):
    broken = breaker(ORIGINAL)
    lines = errors(broken)
    assert lines, "die kaputte Matrix wurde angenommen"
    for needle, occurrence, column, path, message in expected:
        want = f"{REL}:{line_of(broken, needle, occurrence)}:{column}: {path}: {message}"
        assert want in lines, f"erwartet:\n{want}\nbekommen:\n" + "\n".join(lines)
    assert re.fullmatch(r"\d+ Fehler in matrix/umgebungen\.yaml\.", lines[-1])


def test_the_seed_fixture_is_valid():
    assert errors(ORIGINAL) == []


def test_all_errors_at_once():
    broken = ORIGINAL
    for port in ("8000", "4000"):
        broken = replace_once(broken, f"    port: {port}\n", "    port: x\n")
    broken = replace_once(broken, "sampling_prozent: 25", "sampling_prozent: 125")
    assert errors(broken)[-1] == "3 Fehler in matrix/umgebungen.yaml."


def test_many_errors_are_capped():
    extra = "".join(f"    unbekannt{i}: 1\n" for i in range(60))
    lines = errors(replace_once(ORIGINAL, "    version: 16\n", "    version: 16\n" + extra))
    assert "… und 30 weitere Fehler" in lines
    assert lines[-1] == "60 Fehler in matrix/umgebungen.yaml."


def test_alias_bomb_fails_fast():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    assert any("zu viele Knoten (über 100000); Alias-Bombe?" in line for line in errors(bomb))


# --- the CLI: exit code 2, no traceback, nothing written ------------------------------------------


def test_validate_and_generate_on_broken_matrix_exit_2_and_write_nothing(code_copy: Path, live):
    path = web_port_path(live)
    broken = with_value(live.source, path, "-1")
    (code_copy / REL).write_text(broken, encoding="utf-8")
    before = snapshot(code_copy)
    for command in ("validate", "generate", "check"):
        result = run_cli(code_copy, command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert f"{'.'.join(path)}: muss mindestens 1 sein, ist „-1“" in result.stderr
    assert snapshot(code_copy) == before


def test_missing_file_is_exit_2(code_copy: Path):
    result = run_cli(code_copy, "validate", "gibt-es-nicht.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("gibt-es-nicht.yaml: (Wurzel): Datei nicht gefunden")


# --- YAML 1.1-only spellings: a 1.1 reader (PyYAML) and a 1.2 reader (gcloud, Compose v2) disagree ----


@pytest.mark.parametrize(
    "old,new,shown,path",
    [
        (
            "    port: 8000\n",
            "    port: 22:22\n",
            "„22:22“ ist mehrdeutig: YAML 1.1 liest Zahl 1342, YAML 1.2 liest Text '22:22'",
            "dienstarten.web.port",
        ),
        (
            "      pitr: true\n",
            "      pitr: yes\n",
            "„yes“ ist mehrdeutig: YAML 1.1 liest Wahrheitswert True",
            "stages[0].datenbank.pitr",
        ),
        ("      pitr: true\n", "      pitr: off\n", "„off“ ist mehrdeutig", "stages[0].datenbank.pitr"),
        (
            "    version: 16\n",
            "    version: 016\n",
            "„016“ ist mehrdeutig: YAML 1.1 liest Zahl 14, YAML 1.2 liest Zahl 16",
            "plattform.postgres.version",
        ),
        (
            "sampling_prozent: 25",
            "sampling_prozent: 2.5e1",
            "„2.5e1“ ist mehrdeutig",
            "stages[1].langfuse.sampling_prozent",
        ),
    ],
    ids=["sexagesimal", "yes", "off", "oktal", "exponent"],
)
def test_yaml_11_only_spellings_are_refused_with_a_hint(old, new, shown, path):
    broken = replace_once(ORIGINAL.replace("      pitr: false\n", "      pitr: true\n", 1), old, new)
    lines = errors(broken)
    hit = [line for line in lines if f": {path}: " in line and shown in line]
    assert hit, "\n".join(lines)
    assert "in Anführungszeichen setzen" in hit[0]
    assert re.match(rf"{REL}:{line_of(broken, new.strip())}:\d+: ", hit[0])


def test_two_compose_services_on_one_host_port_are_refused(seed):
    """Compose publishes every port on one address: a clash passed validate and check before, and
    `compose up` then failed with `port is already allocated`."""
    services = seed.compose_stage.services
    first = next(s for s in services if s.published_port is not None and s.role == "http")
    other = next(s for s in services if s.published_port is not None and s.kind != first.kind and s.role == "http")
    text = with_value(seed.source, ("dienstarten", other.kind, "port"), str(first.published_port))
    found = errors(text)
    assert any(
        f"„{other.name}“ veröffentlicht Host-Port" in line
        and f":{first.published_port}, den schon „{first.name}“" in line
        for line in found
    ), found
    assert all(line.startswith("matrix/umgebungen.yaml:") for line in found[:-1]), found


@pytest.mark.parametrize("value", ["2147483648", "99999999999999999999999"])
def test_instance_counts_beyond_the_api_type_are_refused(seed, value):
    """Cloud Run's API reads instance counts as int32; a larger max landed in deploy.sh before."""
    stage = seed.cloud_stages[0]
    found = errors(with_value(seed.source, ("stages", stage.index, "skalierung", "max"), value))
    assert any("skalierung.max" in line and "2147483647" in line for line in found), found


def test_a_real_looking_key_in_any_matrix_value_is_refused(seed):
    """A token in a table cell passed validate and check before; only the built site's scan saw it,
    naming site/…/index.html instead of the matrix line."""
    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"
    column = next(c for c in seed.matrix.spalten if not c.stagename)
    stage = seed.stages[0]
    path = ("stages", stage.index, "zellen", column.id)
    found = errors(with_value(seed.source, path, f'"{token}"'))
    assert any(f"stages[{stage.index}].zellen.{column.id}" in line and "GitHub-Token" in line for line in found), found
    assert all(token not in line for line in found)


def test_ambiguous_number_in_a_number_field_gets_number_advice(seed):
    """`batch_groesse: 0755` used to advise quotes, which the int field then refused."""
    found = errors(with_value(seed.source, ("stages", 0, "einlesen", "batch_groesse"), "0755"))
    assert any(
        "mehrdeutig" in line and "als Zahl gemeint: 755 (dezimal) oder 493 (oktal gelesen)" in line for line in found
    )
