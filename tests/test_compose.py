"""Generated compose file and .env.example: validity, guardrails, drift, regeneration."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SEED_MATRIX, run_cli, snapshot

from checks.compose.rules import compose_guardrails
from checks.compose.schema import validate_text
from umgebungsmatrix.artifacts import compose_file, render_all
from umgebungsmatrix.artifacts.compose_file import PATH as COMPOSE_FILE

ENV_EXAMPLE = ".env.example"
MATRIX_REL = "matrix/umgebungen.yaml"


@pytest.fixture(scope="module")
def matrix(seed):
    """The facts of the frozen seed matrix."""
    return seed


@pytest.fixture(scope="module")
def rendered(matrix) -> dict[str, str]:
    return dict(render_all(matrix))


def findings(matrix, compose_text: str, env_text: str) -> list:
    out = validate_text(compose_text, matrix.matrix, use_cache=False)
    return out + compose_guardrails(matrix, {COMPOSE_FILE: compose_text, ENV_EXAMPLE: env_text})


def test_generated_files_are_committed_and_valid(live):
    rendered = render_all(live)
    assert (ROOT / COMPOSE_FILE).read_text(encoding="utf-8") == rendered[COMPOSE_FILE]
    assert (ROOT / ENV_EXAMPLE).read_text(encoding="utf-8") == rendered[ENV_EXAMPLE]
    assert findings(live, rendered[COMPOSE_FILE], rendered[ENV_EXAMPLE]) == []


def test_generated_file_derives_from_matrix(matrix, rendered):
    text = rendered[COMPOSE_FILE]
    dev = matrix.compose_stage.model
    assert text.startswith("# ERZEUGT aus matrix/umgebungen.yaml – nicht von Hand bearbeiten")
    assert not re.search(r"^version:", text, re.M)
    queues = ",".join(matrix.queue_name(r) for r in dev.dienste["worker"].queues)
    assert f"--queues, '{queues}'" in text or f"--queues, {queues}" in text
    pg = matrix.platform.postgres
    assert f"image: {pg.image.format(version=pg.version)}" in text
    assert f"pg_isready, -h, {dev.compose.lokale_adresse}, -p, '{pg.port}'" in text
    assert f"INGESTION_BATCH_SIZE: '{dev.einlesen.batch_groesse}'" in text
    assert "profiles:\n      - langfuse" in text


def test_env_example_has_every_variable_and_no_secret_value(matrix, rendered):
    lines = dict(line.split("=", 1) for line in rendered[ENV_EXAMPLE].splitlines() if line and not line.startswith("#"))
    for name, variable in matrix.matrix.variablen.items():
        if "beat" in variable.dienste and len(variable.dienste) == 1:
            continue
        assert name in lines, name
        if variable.geheim:
            assert lines[name] == "", name


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


WEB_ENV = "      LANGFUSE_HOST: "  # first match: the web service


def _set_first(text: str, var: str, value: str) -> str:
    """The first `VAR: …` line of the compose text with a new value."""
    out, count = re.subn(rf"^(      {var}): .*$", lambda m: f"{m.group(1)}: {value}", text, count=1, flags=re.M)
    assert count == 1, var
    return out


BROKEN = [
    ("version-key", lambda t: "version: '3.8'\n" + t, "compose-ohne-version"),
    (
        "unknown-key",
        lambda t: _replace(t, "    image: redis:7\n", "    image: redis:7\n    imgae: redis\n"),
        "compose-schema",
    ),
    ("wrong-type", lambda t: _replace(t, "interval: 5s", "interval: {sekunden: 5}"), "compose-schema"),
    (
        "literal-secret",
        lambda t: _set_first(t, "REDIS_URL", "redis://redis:6379/0"),
        "compose-geheimnisse",
    ),
    (
        "password-in-url",
        lambda t: _replace(t, WEB_ENV, "      EXTRA_URL: postgresql://u:pw@db/x\n" + WEB_ENV),
        "compose-geheimnisse",
    ),
    (
        "whole-env-file",
        lambda t: _replace(
            t, "    command: [plattform-web]\n", "    command: [plattform-web]\n    env_file:\n      - ../.env\n"
        ),
        "compose-minimalrechte",
    ),
    (
        "secret-not-assigned",
        lambda t: _replace(t, WEB_ENV, "      OPENAI_API_KEY: ${OPENAI_API_KEY?fehlt}\n" + WEB_ENV),
        "compose-minimalrechte",
    ),
    (
        "secret-missing",
        lambda t: re.sub(r"^      DATABASE_URL: .*\n", "", t, count=1, flags=re.M),
        "compose-geheimnisse",
    ),
    ("secret-other-name", lambda t: _set_first(t, "DATABASE_URL", "${REDIS_URL?fehlt}"), "compose-geheimnisse"),
    ("wrong-queue", lambda t: _replace(t, "'ingestion,agents'", "'ingestion'"), "worker-queues"),
    ("extra-queue", lambda t: _replace(t, "'ingestion,agents'", "'ingestion,agents,bulk'"), "worker-queues"),
    ("migration-off", lambda t: _replace(t, "AUTO_MIGRATE: 'true'", "AUTO_MIGRATE: 'false'"), "migration-nur-lokal"),
    ("migration-missing", lambda t: _replace(t, "      AUTO_MIGRATE: 'true'\n", ""), "migration-nur-lokal"),
    (
        "second-migration",
        lambda t: _replace(t, "\nvolumes:", "\n  migrate:\n    image: x\n    command: [plattform-migrate]\n\nvolumes:"),
        "migration-nur-lokal",
    ),
    (
        "depends-started",
        lambda t: _replace(t, "condition: service_healthy", "condition: service_started"),
        "start-erst-wenn-gesund",
    ),
    (
        "depends-list",
        lambda t: _replace(
            t,
            "    depends_on:\n      postgres:\n        condition: service_healthy\n"
            "      redis:\n        condition: service_healthy\n      litellm:\n"
            "        condition: service_healthy\n\n  worker",
            "    depends_on: [postgres, redis, litellm]\n\n  worker",
        ),
        "start-erst-wenn-gesund",
    ),
    ("postgres-15", lambda t: _replace(t, "pgvector/pgvector:pg16", "pgvector/pgvector:pg15"), "postgres-version"),
    ("pg-isready-socket", lambda t: _replace(t, "pg_isready, -h, 127.0.0.1, ", "pg_isready, "), "postgres-bereit-tcp"),
    (
        "nested-interpolation",
        lambda t: _replace(t, "container/web}:${IMAGE_TAG:-latest}", "container/web:${IMAGE_TAG:-latest}}"),
        "compose-interpolation-v1",
    ),
    (
        "batch-size",
        lambda t: _replace(t, "INGESTION_BATCH_SIZE: '16'", "INGESTION_BATCH_SIZE: '512'"),
        "umgebungswerte",
    ),
    ("no-volume", lambda t: _replace(t, "      - postgres-daten:/var/lib/postgresql/data\n", ""), "postgres-volume"),
    ("not-yaml", lambda t: _replace(t, "services:\n", "services:\n  : [\n"), "compose-schema"),
]


@pytest.mark.parametrize("name,breaker,rule", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_compose_fails_its_rule(matrix, rendered, name, breaker, rule):
    broken = breaker(rendered[COMPOSE_FILE])
    found = findings(matrix, broken, rendered[ENV_EXAMPLE])
    rules = {f.rule for f in found}
    assert rule in rules, (name, [f.format() for f in found])
    for finding in found:
        page = finding.doc.split("#", 1)[0]
        assert page and (ROOT / "docs" / page).is_file(), finding
        assert finding.where.startswith(COMPOSE_FILE), finding


def test_secret_value_in_env_example_fails(matrix, rendered):
    broken = _replace(rendered[ENV_EXAMPLE], "\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=hunter22\n")
    found = compose_guardrails(matrix, {COMPOSE_FILE: rendered[COMPOSE_FILE], ENV_EXAMPLE: broken})
    assert [f.rule for f in found] == ["compose-geheimnisse"]
    assert "hunter22" not in found[0].message
    assert found[0].where.startswith(".env.example:")


def test_hand_edit_is_drift(code_copy: Path):
    target = code_copy / COMPOSE_FILE
    original = target.read_text(encoding="utf-8")
    retries = re.search(r"retries: (\d+)", original)
    assert retries
    target.write_text(original.replace(retries.group(0), "retries: 999", 1), encoding="utf-8")
    result = run_cli(code_copy, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"--- {COMPOSE_FILE} (im Repo)" in result.stdout
    assert "-      retries: 999\n" in result.stdout and f"+      {retries.group(0)}\n" in result.stdout
    assert "make generate" in result.stdout


def with_seed(repo: Path) -> Path:
    """The repository copy with the frozen seed matrix and its generated files."""
    matrix_file = repo / MATRIX_REL
    matrix_file.write_text(SEED_MATRIX.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_cli(repo, "generate").returncode == 0
    return matrix_file


@pytest.mark.live
def test_changed_facts_regenerate_consistently(code_copy: Path):
    matrix_file = with_seed(code_copy)
    repo_copy = code_copy
    text = matrix_file.read_text(encoding="utf-8")
    text = _replace(text, "      name: ingestion\n", "      name: dokumente\n")
    text = _replace(text, "      batch_groesse: 16\n", "      batch_groesse: 8\n")
    text = _replace(text, "    port: 8000\n", "    port: 8080\n")
    matrix_file.write_text(text, encoding="utf-8")
    result = run_cli(repo_copy, "generate")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = (repo_copy / COMPOSE_FILE).read_text(encoding="utf-8")
    env = (repo_copy / ENV_EXAMPLE).read_text(encoding="utf-8")
    assert "'dokumente,agents'" in compose and "ingestion" not in compose
    assert "INGESTION_BATCH_SIZE: '8'" in compose and "\nINGESTION_BATCH_SIZE=8\n" in env
    assert "127.0.0.1:8080:8080" in compose and "http://127.0.0.1:8080/healthz" in compose
    assert ":8000" not in compose
    assert run_cli(repo_copy, "check").returncode == 0


def test_generate_on_invalid_matrix_exits_2_and_writes_nothing(code_copy: Path):
    matrix_file = with_seed(code_copy)
    repo_copy = code_copy
    text = _replace(matrix_file.read_text(encoding="utf-8"), "      batch_groesse: 16\n", "      batch_groesse: -1\n")
    text = _replace(text, "      postgres_volume: postgres-daten\n", "      postgres_volume: Postgres Daten\n")
    matrix_file.write_text(text, encoding="utf-8")
    (repo_copy / COMPOSE_FILE).unlink()
    before = snapshot(repo_copy)
    result = run_cli(repo_copy, "generate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "batch_groesse" in result.stderr and "postgres_volume" in result.stderr
    assert re.search(r"matrix/umgebungen\.yaml:\d+:\d+: ", result.stderr)
    assert snapshot(repo_copy) == before


# --- a real compose CLI, when one is installed -------------------------------------------


# Both Compose generations read the file: v1 (Python, PyYAML: YAML 1.1) and v2 (Go, YAML 1.2).
COMPOSE_CLIS = {"v2": ["docker", "compose"], "v1": ["docker-compose"]}


def compose_works(argv: list[str]) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    try:
        done = subprocess.run([*argv, "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="module", params=list(COMPOSE_CLIS))
def cli(request) -> list[str]:  # the tests that use it are marked live
    argv = COMPOSE_CLIS[request.param]
    if not compose_works(argv):
        pytest.skip(
            f"Compose {request.param} ({' '.join(argv)}) nicht installiert: Prüfung mit `config -q` übersprungen "
            "(.ci/docker-engine start installiert v1 und v2)"
        )
    return argv


def documented(cli: list[str], stage, *args: str) -> list[str]:
    """The command line the docs and the compose file's header give, run with this CLI."""
    words = shlex.split(compose_file.cli(stage, *args, v1=cli == COMPOSE_CLIS["v1"]))
    program = words[: len(cli)]
    assert program == cli, (program, cli)
    return words


def _config(cli: list[str], tmp_path: Path, stage, compose_text: str, env_text: str, *extra: str):
    """`config -q` exactly as documented, from a repo root with the compose file and `cp .env.example .env`."""
    (tmp_path / "compose").mkdir(exist_ok=True)
    (tmp_path / COMPOSE_FILE).write_text(compose_text, encoding="utf-8")
    (tmp_path / ".env").write_text(env_text, encoding="utf-8")  # temporary copy of .env.example, never in the repo
    return subprocess.run(
        documented(cli, stage, *extra, "config", "-q"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.live
@pytest.mark.parametrize("extra", [(), ("--profile", "langfuse")], ids=["standard", "langfuse"])
def test_compose_cli_accepts_generated_file(cli, tmp_path, matrix, rendered, extra):
    had_env = (ROOT / ".env").exists()
    done = _config(cli, tmp_path, matrix.compose_stage, rendered[COMPOSE_FILE], rendered[ENV_EXAMPLE], *extra)
    assert done.returncode == 0, done.stderr
    assert (ROOT / ".env").exists() == had_env


@pytest.mark.live
def test_compose_cli_rejects_broken_file(cli, tmp_path, matrix, rendered):
    broken = _replace(
        rendered[COMPOSE_FILE],
        "      litellm:\n        condition: service_healthy\n\n  worker",
        "      nirgendwo:\n        condition: service_healthy\n\n  worker",
    )
    assert _config(cli, tmp_path, matrix.compose_stage, broken, rendered[ENV_EXAMPLE]).returncode != 0


@pytest.mark.live
def test_without_env_file_compose_stops_with_the_german_hint(cli, tmp_path, rendered):
    """Forgetting `--env-file .env` (Compose would look next to the compose file) is a clear stop, not empty secrets."""
    (tmp_path / "compose").mkdir()
    (tmp_path / COMPOSE_FILE).write_text(rendered[COMPOSE_FILE], encoding="utf-8")
    (tmp_path / ".env").write_text(rendered[ENV_EXAMPLE], encoding="utf-8")
    done = subprocess.run(
        [*cli, "-f", COMPOSE_FILE, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "fehlt in .env (Vorlage .env.example); Start mit --env-file .env" in done.stderr, done.stderr


def resolved_config(cli: list[str], tmp_path: Path, compose_text: str, stage, values: dict[str, str]) -> dict:
    """The config Compose resolves (all profiles) from the documented command, with `values` as .env."""
    (tmp_path / "compose").mkdir(exist_ok=True)
    (tmp_path / COMPOSE_FILE).write_text(compose_text, encoding="utf-8")
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    profiles = sorted({s.profile for s in stage.services if s.profile})
    v2 = cli == COMPOSE_CLIS["v2"]
    args = [a for p in profiles for a in ("--profile", p)] if v2 else []
    done = subprocess.run(
        documented(cli, stage, *args, "config", *(["--format", "json"] if v2 else [])),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    import yaml

    return json.loads(done.stdout) if v2 else yaml.safe_load(done.stdout)


@pytest.mark.live
def test_each_service_sees_exactly_its_matrix_variables(cli, tmp_path, matrix, rendered):
    """Least privilege, proven by the resolved config: every service gets exactly the variables the matrix
    assigns to its kind (secrets with the value from .env), plus its image's interface, and no other secret."""
    from checks.compose.resolved import least_privilege_findings

    stage = matrix.compose_stage
    values = {name: f"wert-{name.lower()}" for name in matrix.matrix.variablen}
    config = resolved_config(cli, tmp_path, rendered[COMPOSE_FILE], stage, values)
    assert least_privilege_findings(matrix, config, values) == []
    for service in stage.services:
        env = config["services"][service.name].get("environment") or {}
        own = {e.name for e in service.env}
        assert set(env) - set(compose_file.IMAGE_INTERFACE_ENV) == own, service.name
        for name in service.secret_names:
            assert env[name] == values[name]
    postgres = stage.of_role("postgres")[0].name
    assert "OPENAI_API_KEY" not in config["services"][postgres]["environment"]


@pytest.mark.live
def test_least_privilege_check_fails_on_a_blanket_env_file(cli, tmp_path, matrix, rendered):
    """The old shape (every service reads all of ../.env) is what the check must refuse."""
    from checks.compose.resolved import least_privilege_findings

    stage = matrix.compose_stage
    postgres = stage.of_role("postgres")[0].name
    broken = _replace(
        rendered[COMPOSE_FILE],
        "    image: pgvector/pgvector:pg16\n",
        "    image: pgvector/pgvector:pg16\n    env_file:\n      - ../.env\n",
    )
    values = {name: f"wert-{name.lower()}" for name in matrix.matrix.variablen}
    found = least_privilege_findings(matrix, resolved_config(cli, tmp_path, broken, stage, values), values)
    assert any(
        f.rule == "compose-minimalrechte" and "OPENAI_API_KEY" in f.message and postgres in f.message for f in found
    )
    assert all("wert-" not in f.message for f in found)


def test_header_names_the_compose_versions_ci_tests(rendered):
    text = rendered[COMPOSE_FILE]
    for version in compose_file.TESTED_VERSIONS.values():
        assert version in text.split("services:", 1)[0]


@pytest.mark.live
def test_tested_versions_are_the_installed_ones(cli):
    """The header's claim follows CI: the installed CLI is the version the header names."""
    done = subprocess.run([*cli, "version", "--short"], capture_output=True, text=True, timeout=60)
    version = done.stdout.strip().lstrip("v")
    key = "v2" if cli == COMPOSE_CLIS["v2"] else "v1"
    matches = version.startswith(compose_file.TESTED_VERSIONS[key] + ".")
    if not matches and os.environ.get("REQUIRE_DOCKER") != "1":
        pytest.skip(f"Compose {version} installiert; die Kopfzeile nennt die Versionen, die CI prüft")
    assert matches, (version, compose_file.TESTED_VERSIONS)
