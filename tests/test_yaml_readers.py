"""Every generated YAML file reads the same for PyYAML (1.1), ruamel (1.2) and gcloud's own loader
(ruamel, 1.1 mode, run in the SDK's Python): also with odd but legal matrix values."""

from __future__ import annotations

import pytest
from conftest import DOCS, KLEIN_MATRIX, facts_of

from checks.consumers import yaml_versions as yv
from umgebungsmatrix.artifacts import render_all

ODD = [
    "y",
    "n",
    "N",
    "0755",
    "1e3",
    "+.5",
    "09",
    "1_000",
    "~",
    "null",
    "no",
    "On",
    "2001-12-14",
    ".inf",
    "a: b",
    "# x",
    "'x'",
    '"x"',
    "ä",
    "-",
    "--flag",
    "@x",
    "`x`",
    "x,y",
    "[x]",
    "{x}",
    "|",
    ">",
]


def _yaml_files(facts) -> dict[str, str]:
    return {p: t for p, t in render_all(facts).items() if p.endswith((".yaml", ".yml"))}


def _jinja_literal(value: str) -> str:
    """A matrix template that renders exactly `value` (braces and hashes survive Jinja)."""
    return "{% raw %}" + value + "{% endraw %}"


def _odd_matrix(values: list[str] = ODD) -> str:
    """The small matrix plus one non-secret variable ODD_<i> per value (written quoted in the matrix)."""
    import json

    extra = ""
    for i, value in enumerate(values):
        extra += (
            f"  ODD_{i}:\n    beschreibung: odd\n    dienste: [web, worker]\n"
            f"    wert: {json.dumps(_jinja_literal(value), ensure_ascii=False)}\n"
        )
    return KLEIN_MATRIX.read_text(encoding="utf-8").replace("  GRUSS:\n", extra + "  GRUSS:\n", 1)


@pytest.fixture(scope="module")
def odd():
    return facts_of(_odd_matrix(), DOCS)


@pytest.mark.live
@pytest.mark.parametrize("which", ["live", "klein", "odd"])
def test_generated_yaml_reads_the_same_for_every_reader(which, live, klein, odd):
    facts = {"live": live, "klein": klein, "odd": odd}[which]
    files = _yaml_files(facts)
    results = yv.compare_many(list(files.values()))
    problems = {path: [str(d) for d in found] for path, found in zip(files, results) if found}
    assert problems == {}


def test_odd_values_reach_the_manifests_as_strings(odd):
    import yaml

    for path, text in _yaml_files(odd).items():
        if path.startswith("cloudrun/live/web"):
            env = {
                e["name"]: e.get("value")
                for e in yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0]["env"]
            }
            for i, value in enumerate(ODD):
                assert env[f"ODD_{i}"] == value


def test_a_plain_ambiguous_scalar_is_caught_by_the_readers():
    """Known-bad: what PyYAML's safe_dump writes for these strings is read differently by gcloud or YAML 1.2."""
    import yaml

    for value in ("y", "5e-05", "0o755"):
        text = yaml.safe_dump({"value": value})
        assert yv.compare(text), (value, text)


@pytest.mark.live
@pytest.mark.parametrize("version", ["v2", "v1"])
def test_odd_values_reach_compose_as_strings(odd, tmp_path, version):
    """Compose v1 reads the file with PyYAML (YAML 1.1), v2 with Go's YAML 1.2 reader: each hands every
    odd value to the container exactly as the matrix wrote it (`docker compose config`)."""
    import json
    import subprocess

    import yaml
    from test_compose import COMPOSE_CLIS, compose_works, documented

    from umgebungsmatrix.artifacts import env_example
    from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE

    argv = COMPOSE_CLIS[version]
    if not compose_works(argv):
        pytest.skip(f"Compose {version} nicht installiert (.ci/docker-engine start installiert v1 und v2)")
    rendered = render_all(odd)
    (tmp_path / "compose").mkdir()
    (tmp_path / COMPOSE_FILE).write_text(rendered[COMPOSE_FILE], encoding="utf-8")
    (tmp_path / odd.compose_stage.env_file).write_text(rendered[env_example.path(odd)], encoding="utf-8")
    extra = ["--format", "json"] if version == "v2" else []
    done = subprocess.run(
        documented(argv, odd.compose_stage, "config", *extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout) if version == "v2" else yaml.safe_load(done.stdout)
    for service in odd.compose_stage.services:
        if service.kind not in ("web", "worker") or service.profile is not None:
            continue
        env = config["services"][service.name]["environment"]
        for i, value in enumerate(ODD):
            assert env[f"ODD_{i}"] == value, (service.name, i, value, env[f"ODD_{i}"])


HOSTILE_ENV = [*ODD, 'a=b,c=$HOME ${X} $$ ü"q\\ x #k', "it's", "50%", "x y", "$$", "$X", "a\\b"]


@pytest.mark.live
def test_env_example_values_read_the_same_by_compose_v1_v2_and_bash(tmp_path):
    """`cp .env.example .env`: what Compose interpolates from the env file (the way every secret reaches
    its services: `${NAME?…}` with `--env-file .env`), and a shell that sources the file, see the matrix's
    value exactly; a value no reader can take literally is left out of the file (the compose file sets it
    for the services that read it)."""
    import json
    import subprocess

    import yaml
    from test_compose import COMPOSE_CLIS, compose_works, documented

    from umgebungsmatrix.artifacts import env_example
    from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE

    facts = facts_of(_odd_matrix(HOSTILE_ENV), DOCS)
    rendered = render_all(facts)
    env_text = rendered[env_example.path(facts)]
    written = {i for i in range(len(HOSTILE_ENV)) if f"\nODD_{i}=" in env_text}
    assert written and len(written) < len(HOSTILE_ENV)  # the `'` and `${` values are left out
    (tmp_path / "compose").mkdir()
    # a probe service that takes each written value the way the generated file takes a secret
    probe = {
        "services": {
            "probe": {"image": "x", "environment": {f"ODD_{i}": f"${{ODD_{i}?fehlt}}" for i in sorted(written)}}
        }
    }
    (tmp_path / COMPOSE_FILE).write_text(yaml.safe_dump(probe), encoding="utf-8")
    (tmp_path / facts.compose_stage.env_file).write_text(env_text, encoding="utf-8")
    shell = (
        "set -a; . ./"
        + facts.compose_stage.env_file
        + "; "
        + "; ".join(f"printf '%s\\0' \"$ODD_{i}\"" for i in sorted(written))
    )
    sourced = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert sourced.stdout.split("\0")[:-1] == [HOSTILE_ENV[i] for i in sorted(written)]
    for version, argv in COMPOSE_CLIS.items():
        if not compose_works(argv):
            continue
        extra = ["--format", "json"] if version == "v2" else []
        done = subprocess.run(
            documented(argv, facts.compose_stage, "config", *extra),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (version, done.stderr)
        assert "variable is not set" not in done.stderr, (version, done.stderr)
        config = json.loads(done.stdout) if version == "v2" else yaml.safe_load(done.stdout)
        env = config["services"]["probe"].get("environment") or {}
        for i in sorted(written):
            # `config` prints `$` doubled (its own escape); undo it to get what the container sees
            assert str(env[f"ODD_{i}"]).replace("$$", "$") == HOSTILE_ENV[i], (version, i, env[f"ODD_{i}"])
