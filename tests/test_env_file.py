"""The local env file check: a password with URL delimiters must be percent-encoded in the URL.

Each case was a silent failure before the check existed: the app read `t@postgres` as the host.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import run_cli

from checks.env_file import env_file_findings

HOSTILE = "s3cr@t:/?#%ü"  # every delimiter RFC 3986 reserves in userinfo, plus a non-ASCII letter


def env_text(facts, password_in_url: str, password: str) -> str:
    pg, redis = facts.platform.postgres, facts.platform.redis
    host = facts.compose_stage.of_role("postgres")[0].name
    redis_host = facts.compose_stage.of_role("redis")[0].name
    return (
        f"# lokale Werte\n"
        f"POSTGRES_PASSWORD='{password}'\n"
        f"{pg.url_env}=postgresql://{pg.benutzer}:{password_in_url}@{host}:{pg.port}/{pg.datenbank}\n"
        f"{redis.url_env}=redis://{redis_host}:{redis.port}/0\n"
    )


def findings_for(live, tmp_path: Path, text: str):
    file = tmp_path / ".env"
    file.write_text(text, encoding="utf-8")
    return env_file_findings(live, file)


def test_encoded_password_passes(live, tmp_path):
    assert findings_for(live, tmp_path, env_text(live, quote(HOSTILE, safe=""), HOSTILE)) == []


@pytest.mark.parametrize("raw", ["s3cr@t", "a:b@c", "x#y", "p/q", "frage?", HOSTILE])
def test_unencoded_delimiter_is_found_with_line_not_value(live, tmp_path, raw):
    found = findings_for(live, tmp_path, env_text(live, raw, raw))
    assert found, f"Passwort {raw!r} unkodiert in der URL wurde nicht gefunden"
    assert all(f.where == f"{live.compose_stage.env_file}:3" for f in found)
    assert all(raw not in f.message for f in found)
    assert any("prozentkodieren" in f.message for f in found)


def test_url_password_must_equal_postgres_password(live, tmp_path):
    found = findings_for(live, tmp_path, env_text(live, "anders", "richtig"))
    assert [f.where for f in found] == [f"{live.compose_stage.env_file}:3"]
    assert "POSTGRES_PASSWORD" in found[0].message and "richtig" not in found[0].message


def test_missing_or_empty_env_file_is_fine(live, tmp_path):
    assert env_file_findings(live, tmp_path / ".env") == []
    empty = "\n".join(f"{n}=" for n in ("POSTGRES_PASSWORD", live.platform.postgres.url_env)) + "\n"
    assert findings_for(live, tmp_path, empty) == []


def test_make_check_reports_the_env_file(code_copy, live):
    (code_copy / live.compose_stage.env_file).write_text(env_text(live, "s3cr@t", "s3cr@t"), encoding="utf-8")
    result = run_cli(code_copy, "check")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert f"{live.compose_stage.env_file}:3" in out and "s3cr@t" not in out


@pytest.mark.parametrize(
    "line,problem",
    [
        ("POSTGRES_PASSWORD=pa$word", "„$“ im Wert"),
        ('OPENAI_API_KEY="sk-$abc"', "„$“ im Wert"),
        ("SALT=ab #cd", "„ #“"),
    ],
)
def test_values_the_compose_versions_read_differently_are_found(live, tmp_path, line, problem):
    found = findings_for(live, tmp_path, f"# lokal\n{line}\n")
    assert len(found) == 1 and problem in found[0].message, found
    assert found[0].where == f"{live.compose_stage.env_file}:2"
    value = line.split("=", 1)[1].strip("'\"")
    assert value not in found[0].message


def test_single_quoted_values_pass(live, tmp_path):
    assert findings_for(live, tmp_path, "POSTGRES_PASSWORD='pa$word'\nSALT='ab #cd'\n") == []


@pytest.mark.live
def test_the_advice_holds_for_both_compose_versions(tmp_path):
    """Why the check exists: unquoted `$` reaches a container differently under v2 and v1; single quotes agree."""
    import json
    import subprocess

    import yaml
    from test_compose import COMPOSE_CLIS, compose_works

    (tmp_path / "compose.yml").write_text(
        "services:\n  probe:\n    image: x\n    environment:\n      A: ${A?}\n      B: ${B?}\n", encoding="utf-8"
    )
    (tmp_path / "werte.env").write_text("A=pa$word\nB='pa$word'\n", encoding="utf-8")
    seen = {}
    for version, argv in COMPOSE_CLIS.items():
        if not compose_works(argv):
            continue
        extra = ["--format", "json"] if version == "v2" else []
        done = subprocess.run(
            [*argv, "--env-file", "werte.env", "-f", "compose.yml", "config", *extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        config = json.loads(done.stdout) if version == "v2" else yaml.safe_load(done.stdout)
        env = config["services"]["probe"]["environment"]
        seen[version] = (str(env["A"]).replace("$$", "$"), str(env["B"]).replace("$$", "$"))
    if len(seen) < 2:
        pytest.skip("Compose v1 und v2 werden für den Vergleich gebraucht")
    assert seen["v1"][1] == seen["v2"][1] == "pa$word"
    assert seen["v1"][0] != seen["v2"][0]
