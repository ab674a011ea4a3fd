""".env.example: the template of the compose stage's env file (`cp .env.example .env`).

Secrets stay empty on purpose (a forgotten value stops the start with a clear
message instead of running with a placeholder password); the matrix's
`beispiel` hint shows the form. Non-secret values follow for programs that
run without Compose.
"""

from __future__ import annotations

import re

from ..facts import Facts
from . import compose_file
from .common import header
from .compose_file import PATH as COMPOSE_PATH

TITLE = ".env.example (Dev lokal)"
SECRET_MARK = "GEHEIM – Wert eintragen"


def path(facts: Facts) -> str:
    """.env.example next to the compose stage's env file (repo-relative)."""
    return f"{facts.compose_stage.env_file}.example"


OUTPUTS = ("*.example",)


def readers(facts: Facts) -> dict[str, list[str]]:
    """Variable -> names of the compose services that read it (matrix order, profile services included)."""
    out: dict[str, list[str]] = {}
    for name in facts.matrix.variablen:
        names = [s.name for s in facts.compose_stage.services if s.reads(name)]
        if names:
            out[name] = names
    return out


_PLAIN = re.compile(r"[A-Za-z0-9_./:,@%+=-]*")


def dotenv_value(value: str) -> str | None:
    """`value` spelled so that every reader of the env file takes it literally, or None if none can.

    Readers: Compose v2 (compose-go dotenv: single quotes are literal), Compose v1 (python-dotenv:
    expands `${NAME}` even inside single quotes) and a POSIX shell (`set -a; . ./.env`). Plain
    when only [A-Za-z0-9_./:,@%+=-], else in single quotes; None for a `'`, `${` or a line break
    (tests/test_yaml_readers.py checks this against both Compose CLIs and bash).
    """
    if _PLAIN.fullmatch(value):
        return value
    if "'" in value or "${" in value or "\n" in value or "\r" in value:
        return None
    return f"'{value}'"


def render(facts: Facts) -> dict[str, str]:
    stage = facts.compose_stage
    env = stage.env_file
    secret_lines: list[str] = []
    plain_lines: list[str] = []
    for name, names in readers(facts).items():
        variable = facts.matrix.variablen[name]
        block = [f"# {variable.beschreibung}"]
        if variable.geheim:
            block.append(f"# {SECRET_MARK}; Dienste: {', '.join(names)}")
            if name in stage.examples:
                block.append(f"# Form: {stage.examples[name]}")
            secret_lines += [*block, f"{name}=", ""]
        else:
            block.append(f"# Dienste: {', '.join(names)}")
            spelled = dotenv_value(stage.values[name])
            if spelled is None:
                block.append(f"# nur in {COMPOSE_PATH}: in einer env-Datei liest nicht jedes Programm den Wert gleich")
                plain_lines += [*block, ""]
            else:
                plain_lines += [*block, f"{name}={spelled}", ""]
    head = [
        header("#").rstrip("\n"),
        "#",
        f"# Vorlage für {env} ({stage.name}): `cp {path(facts)} {env}`, dann hinter",
        f"# jedes „{SECRET_MARK}“ den echten Wert schreiben. Geheime Werte bleiben hier",
        "# absichtlich leer, nie ein Platzhalter als Passwort: fehlt eine Zeile, hält Compose",
        "# mit klarer Meldung an; ein leeres Passwort lässt Postgres nicht starten.",
        "# Werte mit $ oder „ #“ in einfache Anführungszeichen setzen: NAME='…'.",
        f"# {env} nie einchecken.",
        f"# Start: {compose_file.cli(stage, 'up', '-d')}",
        "# Jeder Dienst bekommt nur die Variablen, die ihm die Matrix zuweist (Zeile „Dienste“).",
        "",
        "# ---- Geheim: nur in der env-Datei, nie in der Compose-Datei ----",
        "",
    ]
    tail = [
        "# ---- Nicht geheim: Werte aus der Matrix ----",
        f"# {COMPOSE_PATH} setzt diese Werte selbst (nicht aus dieser Datei);",
        "# hier stehen sie für Programme, die ohne Compose auf dem Rechner laufen.",
        "",
    ]
    return {path(facts): "\n".join(head + secret_lines + tail + plain_lines).rstrip("\n") + "\n"}
