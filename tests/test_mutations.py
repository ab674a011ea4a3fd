"""Seeded mutations of the matrix: each is refused with located German errors, or renders and is checked.

Never a traceback: `validate` (facts.build) either raises MatrixError whose
every line names file:line:col, or every artifact renders and every static
check runs without an exception. Mutations: deleted keys, wrong types,
out-of-range numbers, odd strings (braces, quotes, umlauts, YAML 1.1
spellings), swapped references, duplicated list items.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest
import yaml
from conftest import MATRIX, SEED_MATRIX

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.facts import build
from umgebungsmatrix.matrix import MatrixError, load_string

BASE = yaml.safe_load(SEED_MATRIX.read_text(encoding="utf-8"))
LOCATED = re.compile(r"^matrix/umgebungen\.yaml:\d+:\d+: \S")
ODD = [
    "",
    " ",
    "{",
    "}",
    "{{",
    "{% if %}",
    "{queues}",
    "{x}",
    "a: b",
    "# c",
    "'",
    '"',
    "ä ö ü ß",
    "yes",
    "no",
    "on",
    "0755",
    "22:22",
    "5e-05",
    "1_000",
    "~",
    "null",
    "-",
    "--x",
    "$HOME",
    "${X}",
    "a,b",
    "\t",
    "x" * 300,
    "prod",
    "staging",
    "web",
    "worker",
    "ingestion",
    "DATABASE_URL",
    "einlesen",
    "https://x.example/a?b=c",
]


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, path + (i,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def mutate(data: dict, rng: random.Random, count: int) -> dict:
    data = copy.deepcopy(data)
    for _ in range(count):
        paths = [p for p in _paths(data) if p]
        path = rng.choice(paths)
        parent, last = _get(data, path[:-1]), path[-1]
        value = parent[last]
        action = rng.randrange(8)
        if action == 0:  # delete
            del parent[last]
        elif action == 1:  # odd string
            parent[last] = rng.choice(ODD)
        elif action == 2:  # numbers
            parent[last] = rng.choice([0, -1, 1, 2, 65536, 10**9, 0.5, True, None])
        elif action == 3 and isinstance(value, list) and value:  # duplicate an item
            value.append(copy.deepcopy(rng.choice(value)))
        elif action == 4 and isinstance(value, dict) and value:  # rename a key
            key = rng.choice(list(value))
            value[rng.choice(ODD[18:] + [str(key) + "x"])] = value.pop(key)
        elif action == 5:  # swap with another value of the document
            other = _get(data, rng.choice(paths))
            parent[last] = copy.deepcopy(other)
        elif action == 6:  # wrong container type
            parent[last] = [value] if not isinstance(value, list) else {"x": value}
        else:  # small int change
            parent[last] = (value + rng.choice([-2, -1, 1, 5])) if isinstance(value, int) else value
    return data


def judge(text: str) -> str:
    """'refused' (located errors), or 'rendered' (all artifacts and checks ran)."""
    try:
        facts = build(load_string(text, MATRIX, None))
    except MatrixError as exc:
        lines = str(exc).splitlines()
        assert re.fullmatch(r"\d+ Fehler in matrix/umgebungen\.yaml\.", lines[-1]), str(exc)
        for line in lines[:-1]:
            assert LOCATED.match(line) or line.startswith("… und "), f"ohne Ort: {line}"
        return "refused"
    rendered = render_all(facts)
    from checks.registry import run_checks

    run_checks(facts, rendered)
    return "rendered"


@pytest.mark.parametrize("seed", range(200))
def test_seeded_mutation_is_refused_or_rendered(seed):
    rng = random.Random(seed)
    mutated = mutate(BASE, rng, count=1 + seed % 3)
    try:
        text = yaml.safe_dump(mutated, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        pytest.skip("nicht als YAML darstellbar")
    judge(text)


HAND_MADE = [
    "stages: []\n",
    "plattform: 1\n",
    "[]\n",
    "a\n",
    "",
    "---\n...\n",
    SEED_MATRIX.read_text(encoding="utf-8").replace("rolle: worker", "rolle: scheduler"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("einstieg: true", "einstieg: false"),
    SEED_MATRIX.read_text(encoding="utf-8")
    .replace("    einstieg: true\n", "    einstieg: true\n", 1)
    .replace("  worker:\n    anzeige: Worker\n", "  worker:\n    anzeige: Worker\n    einstieg: true\n"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("laufzeit: compose", "laufzeit: cloudrun"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("stagename: true", "stagename: false"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("      redis: {art: redis}\n", ""),
    SEED_MATRIX.read_text(encoding="utf-8").replace("startet_nach: [postgres]", "startet_nach: [langfuse]"),
    SEED_MATRIX.read_text(encoding="utf-8").replace(
        'image: "pgvector/pgvector:pg{version}"', 'image: "pgvector/pgvector:pg{versio}"'
    ),
    SEED_MATRIX.read_text(encoding="utf-8").replace("url_env: REDIS_URL", "url_env: REDIS_URI"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("dienstart: langfuse", "dienstart: web"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("schema: rag/schema.sql", "schema: rag/schema.md"),
    SEED_MATRIX.read_text(encoding="utf-8").replace("{{ dienst('beat').max }}", "{{ dienst('beat') }}"),
    SEED_MATRIX.read_text(encoding="utf-8").replace(
        "{{ kurz(stage.rag.index_test_vektoren) }}", "{{ kurz(stage.rag) }}"
    ),
]


@pytest.mark.parametrize("index", range(len(HAND_MADE)))
def test_hand_made_edit_is_refused_or_rendered(index):
    judge(HAND_MADE[index])


def test_most_mutations_are_refused_but_some_render():
    outcomes = [
        judge(yaml.safe_dump(mutate(BASE, random.Random(1000 + i), 1), allow_unicode=True, sort_keys=False))
        for i in range(40)
    ]
    assert "refused" in outcomes and "rendered" in outcomes
