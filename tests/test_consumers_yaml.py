"""YAML read by PyYAML (1.1), ruamel (1.2) and gcloud's own loader
(checks/consumers/yaml_versions.py).

Known-bad inputs (unquoted 1.1-only spellings) must be reported, their
quoted forms must not; the generated artifacts must read the same for all
readers, also after realistic tag substitution.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from checks.consumers import gcloud as g
from checks.consumers import yaml_versions as yv

ROOT = Path(__file__).resolve().parent.parent
REASON = g.skip_reason()
_skip = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def needs_gcloud(fn):
    """The real Google Cloud CLI, offline: the `live` tier (about a second per gcloud start)."""
    return pytest.mark.live(_skip(fn))


IN_PROCESS = ("yaml11", "yaml12")

S, I, F, B = "str", "int", "float", "bool"  # noqa: E741 - columns of the table below
# plain scalar -> (yaml11, yaml12, gcloud) type; measured with google-cloud-cli 528
SPELLINGS = {
    "5e-05": (S, F, F),
    "1e3": (S, F, F),
    "1.0e5": (S, F, F),
    "+.5": (S, F, S),
    "22:22": (I, S, I),
    "1:2.5": (F, S, F),
    "yes": (B, S, B),
    "no": (B, S, B),
    "on": (B, S, B),
    "off": (B, S, B),
    "y": (S, S, B),
    "N": (S, S, B),
    "0755": (I, I, I),  # 493 / 755 / 493: same type, other value
    "09": (S, I, S),
    "0o755": (S, I, S),
}
SAME_EVERYWHERE = [
    "true",
    "false",
    "0x1F",
    "1_000",
    ".inf",
    "~",
    "null",
    "1.0e+5",
    "0.005",
    "2024-01-01",
    "v1.4.2",
    "1,000",
    "0.005%",
    "1:60",
]


def _doc(spelling: str) -> str:
    return f"wert: {spelling}\n{spelling}: schluessel\nliste: [{spelling}]\n"


def _quoted(spelling: str) -> str:
    return _doc(f"'{spelling}'")


@pytest.fixture(scope="session")
def all_readings() -> dict[str, dict[str, yv.Reading]]:
    """Every test document read once by every reader (gcloud: one process)."""
    texts = {_doc(s): s for s in [*SPELLINGS, *SAME_EVERYWHERE]}
    texts.update({_quoted(s): "quoted " + s for s in SPELLINGS})
    readers = ("yaml11", "yaml12", "gcloud") if REASON is None else IN_PROCESS
    return dict(zip(texts.values(), yv.read_all(list(texts), readers)))


@pytest.fixture(scope="session")
def readings(all_readings) -> dict[str, dict[str, yv.Reading]]:
    return {k: v for k, v in all_readings.items() if not k.startswith("quoted ")}


def _value_type(reading: yv.Reading) -> str:
    return next(r["value"][0] for r in reading.scalars if r["path"] == "wert" and not r["key"])


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_documented_readings(readings, spelling):
    want = dict(zip(("yaml11", "yaml12", "gcloud"), SPELLINGS[spelling]))
    for reader, reading in readings[spelling].items():
        assert _value_type(reading) == want[reader], (reader, spelling)


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_unquoted_spelling_reported_quoted_not(all_readings, spelling):
    """Known-bad: the unquoted spelling; good: the same text quoted."""
    readings = all_readings
    found = yv.disagreements(readings[spelling], _doc(spelling))
    readers = set(readings[spelling])
    if readers == set(IN_PROCESS) and SPELLINGS[spelling][0] == SPELLINGS[spelling][1] and spelling != "0755":
        pytest.skip("nur gcloud liest anders – gcloud fehlt")
    assert found, spelling
    assert {(d.line, d.column) for d in found} >= {(1, 7)}
    key = [d for d in found if d.key]
    assert key and key[0].line == 2 and key[0].column == 1 and key[0].text == spelling
    assert all(d.text == spelling for d in found)
    assert yv.disagreements(readings["quoted " + spelling], _quoted(spelling)) == []


@pytest.mark.parametrize("spelling", SAME_EVERYWHERE)
def test_unambiguous_spellings_not_reported(readings, spelling):
    assert yv.disagreements(readings[spelling], _doc(spelling)) == []


def test_document_level_differences():
    dup = "a: 1\nb: {c: 1, c: 2}\n"
    found = yv.compare(dup, IN_PROCESS)
    assert len(found) == 1 and found[0].line == 0 and "duplicate key" in found[0].readings["yaml12"]
    broken = "a: [1\n"
    assert yv.compare(broken, IN_PROCESS) == []  # refused by every reader: no disagreement
    assert yv.read_pyyaml(broken).error and yv.read_ruamel(broken).error


@needs_gcloud
def test_gcloud_duplicate_key_first_wins():
    (found,) = yv.compare_many(["a: 1\na: 2\n"], ("yaml11", "gcloud"))
    assert len(found) == 1 and found[0].path == "[0].a"


@needs_gcloud
def test_gcloud_reader_is_what_the_sdk_uses():
    """The witness reads with gcloud's own loader and default version."""
    (reading,) = yv.read_gcloud_many(["a: 1\n"])
    sdk = g.find_gcloud()
    if sdk and sdk.version == "528.0.0":
        assert reading.detail == "ruamel.yaml 0.15.93, Version 1.1"
    assert reading.documents == [["map", [[["str", "a"], ["int", "1"]]]]]


@needs_gcloud
def test_in_process_ruamel11_approximates_gcloud(readings):
    """Without the SDK, ruamel 1.1 in-process gives the gcloud column."""
    for spelling, by_reader in readings.items():
        mine = yv.read_ruamel(_doc(spelling), (1, 1))
        assert mine.scalars == by_reader["gcloud"].scalars, spelling


# --------------------------------------------------------------------------- generated artifacts


def _generated_yaml() -> dict[str, str]:
    files = subprocess.run(
        ["git", "ls-files", "cloudrun/*.yaml", "compose/*.yml", "compose/**/*.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {f: (ROOT / f).read_text(encoding="utf-8") for f in files}


TAG_SETS = [
    {"IMAGE_TAG": "v1.4.2", "STABIL_IMAGE_TAG": "v1.4.1"},
    {"IMAGE_TAG": "3f2a9c41d0b7e8f6a5c4b3a29180f7e6d5c4b3a2", "STABIL_IMAGE_TAG": "1e3"},
    {"IMAGE_TAG": "0755", "STABIL_IMAGE_TAG": "yes"},
]


@pytest.mark.live  # gcloud's own reader runs in the SDK's Python (a process)
def test_generated_files_read_the_same_everywhere():
    texts = _generated_yaml()
    assert len([f for f in texts if f.startswith("cloudrun/")]) >= 10
    variants = {}
    for name, text in texts.items():
        variants[name] = text
        for i, tags in enumerate(TAG_SETS):
            substituted = text
            for key, value in tags.items():
                substituted = substituted.replace(f"${{{key}}}", value)
            variants[f"{name} (Tags {i})"] = substituted
    results = yv.compare_many(list(variants.values()))
    problems = {name: [str(d) for d in found] for name, found in zip(variants, results) if found}
    assert problems == {}


def test_pyyaml_dump_of_odd_strings_is_caught():
    """Known-bad: PyYAML writes these *strings* unquoted (they are strings in
    its 1.1), but ruamel/gcloud type them – the 5e-05 failure of issue 10."""
    odd = ["5e-05", "1e3", "y", "n", "0o755", "+.5", "09"]
    dumped = yaml.safe_dump({"env": [{"name": "X", "value": v} for v in odd]}, sort_keys=False)
    assert "value: 5e-05" in dumped
    found = yv.compare(dumped, IN_PROCESS + ("ruamel11",))
    assert {d.text for d in found} == set(odd)
    quoted = yaml.safe_dump({"env": [{"name": "X", "value": v} for v in odd]}, sort_keys=False, default_style="'")
    assert yv.compare(quoted, IN_PROCESS + ("ruamel11",)) == []


# --------------------------------------------------------------------------- matrix input check


def test_matrix_has_no_version_dependent_spellings():
    text = (ROOT / "matrix" / "umgebungen.yaml").read_text(encoding="utf-8")
    assert yv.spellings_11_only(text, "matrix/umgebungen.yaml") == []


def test_matrix_spellings_located_with_quote_hint():
    text = (ROOT / "matrix" / "umgebungen.yaml").read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    first = text.count("\n") + 2
    text += "zusatz:\n  port: 22:22\n  aktiv: yes\n  modus: 0755\n  on: x\n  rate: 5e-05\n"
    findings = yv.spellings_11_only(text, "matrix/umgebungen.yaml")
    assert len(findings) == 5, findings
    assert findings[0].startswith(f"matrix/umgebungen.yaml:{first}:9: Wert 22:22 ist mehrdeutig")
    assert "liest Ganzzahl 1342" in findings[0] and "liest Text '22:22'" in findings[0]
    assert "in Anführungszeichen setzen – '22:22'" in findings[0]
    assert findings[1].startswith(f"matrix/umgebungen.yaml:{first + 1}:10: Wert yes")
    assert "als Wahrheitswert gemeint: true schreiben" in findings[1]
    assert f":{first + 2}:10: Wert 0755" in findings[2] and "als Zahl gemeint: 493 schreiben" in findings[2]
    assert f":{first + 3}:3: Schlüssel on" in findings[3]
    assert f":{first + 4}:9: Wert 5e-05" in findings[4] and "5.0e-05 schreiben" in findings[4]


def test_cli_exit_codes(tmp_path):
    good, bad = tmp_path / "gut.yaml", tmp_path / "schlecht.yaml"
    good.write_text("port: '22:22'\n")
    bad.write_text("port: 22:22\n")
    assert yv.main([str(good)]) == 0
    assert yv.main([str(bad)]) == 1
