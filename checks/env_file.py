"""The local env file (e.g. .env of Dev lokal), if there is one: do the connection URLs parse?

A password with `@`, `:`, `/`, `?` or `#` inside DATABASE_URL must be
percent-encoded (RFC 3986, userinfo); otherwise libpq (the app's psycopg)
reads `t@postgres` as the host of `...:s3cr@t@postgres`, while Python's and
Prisma's readers see a different password. The URL is read by its real
readers (libpq via psycopg; RFC 3986 via urllib for redis-py/Celery/Prisma)
and they must agree. The password in the URL, decoded,
must equal POSTGRES_PASSWORD (what the Postgres container is created with).
Values are never printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from umgebungsmatrix.facts import Facts
from umgebungsmatrix.paths import ROOT

from .findings import Finding

Artifacts = Mapping[str, str]
RULE = "env-datei"
PASSWORD_ENV = "POSTGRES_PASSWORD"  # the postgres image's interface: the password it creates the user with
ENCODING_HINT = (
    "Sonderzeichen im Passwort prozentkodieren (@ → %40, : → %3A, / → %2F, ? → %3F, # → %23, "
    "% → %25), z. B. mit: python3 -c 'import urllib.parse,getpass; "
    'print(urllib.parse.quote(getpass.getpass(), safe=""))\''
)


def read_env(file: Path) -> dict[str, tuple[int, str]]:
    """NAME -> (line, value) of a dotenv file (quotes around a value removed, `export` allowed)."""
    return parse_env(file.read_text(encoding="utf-8", errors="replace"))


def parse_env(text: str) -> dict[str, tuple[int, str]]:
    """NAME -> (line, value) of dotenv text; see read_env."""
    out: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name.strip()] = (number, value)
    return out


# RFC 3986, section 3.2.1: userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")

Reader = Callable[[str], tuple[str | None, str | None]]  # URL -> (host, decoded password); ValueError if unreadable


def read_rfc3986(url: str) -> tuple[str | None, str | None]:
    """Host and password as an RFC 3986 reader sees them (urllib; redis-py, kombu and Prisma split alike)."""
    parts = urlsplit(url)
    _ = parts.port  # raises ValueError on a non-numeric port
    return parts.hostname, None if parts.password is None else unquote(parts.password)


def read_libpq(url: str) -> tuple[str | None, str | None]:
    """Host and password as libpq reads a connection URI (psycopg, the app's driver, asks libpq itself)."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        parsed = conninfo_to_dict(url)
    except ProgrammingError as exc:
        raise ValueError(str(exc).strip()) from None
    host, password = parsed.get("host"), parsed.get("password")
    return None if host is None else str(host), None if password is None else str(password)


def url_problems(value: str, hosts: set[str], readers: dict[str, Reader]) -> list[str]:
    """German reasons why a connection URL does not read as intended (empty: fine).

    Every reader (name -> function) must read a service of the stage as host and
    the same password; the userinfo must be RFC 3986 userinfo. Messages never
    quote the URL, its host or its password: a misread host holds part of the password.
    """
    seen = {}
    for name, read in readers.items():
        try:
            seen[name] = read(value)
        except ValueError:
            return [f"die URL lässt sich nicht lesen ({name}); {ENCODING_HINT}"]
    problems = []
    for name, (host, _password) in seen.items():
        if not host or host not in hosts:
            problems.append(
                f"{name} liest als Host keinen Dienst der Stage ({', '.join(sorted(hosts))}); "
                f"steht ein @, :, / oder # im Passwort? {ENCODING_HINT}"
            )
            break
    if not problems and len(set(seen.values())) > 1:
        problems.append(f"{' und '.join(seen)} lesen Host oder Passwort verschieden; {ENCODING_HINT}")
    userinfo = urlsplit(value).netloc.rpartition("@")[0]
    if not problems and not USERINFO.fullmatch(userinfo):
        problems.append(f"Benutzer/Passwort enthalten Zeichen, die in einer URL kodiert sein müssen; {ENCODING_HINT}")
    return problems


QUOTING_HINT = "in einfache Anführungszeichen setzen: NAME='…' (so lesen Compose v1, v2 und die Shell ihn wörtlich)"


def quoting_problems(text: str) -> list[tuple[int, str, str]]:
    """(line, name, problem) for values the Compose versions read differently (values never shown):
    `$` outside single quotes (Compose v2 interpolates it, v1 keeps it), and ` #` in an unquoted value
    (read as a comment and cut off). Source: compose-go dotenv vs. python-dotenv of Compose v1."""
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        single = len(value) >= 2 and value[0] == value[-1] == "'"
        double = len(value) >= 2 and value[0] == value[-1] == '"'
        if "$" in value and not single:
            out.append(
                (
                    number,
                    name.strip(),
                    f"„$“ im Wert: Compose v2 setzt dort eine Variable ein, v1 nicht; {QUOTING_HINT}",
                )
            )
        elif " #" in value and not (single or double):
            out.append((number, name.strip(), f"„ #“ im Wert beginnt einen Kommentar, der Rest fehlt; {QUOTING_HINT}"))
    return out


def check_env_file(facts: Facts, _artifacts: Artifacts) -> list[Finding]:
    """Findings for the compose stage's env file under the repository root (none if it does not exist)."""
    return env_file_findings(facts, ROOT / facts.compose_stage.env_file)


def env_file_findings(facts: Facts, file: Path) -> list[Finding]:
    """Findings for `file` read as the compose stage's env file; places name the repo-relative path."""
    stage = facts.compose_stage
    if not file.is_file():
        return []
    values = read_env(file)
    shown = stage.env_file
    hosts = {s.name for s in stage.services}
    out = [
        Finding(RULE, f"{name}: {problem}", f"{shown}:{line}", "runbooks/lokal-compose.md#passwort")
        for line, name, problem in quoting_problems(file.read_text(encoding="utf-8", errors="replace"))
    ]
    url_env = facts.platform.postgres.url_env
    readers: dict[str, dict[str, Reader]] = {
        url_env: {"libpq (psycopg)": read_libpq, "RFC 3986 (LiteLLM/Prisma, Python)": read_rfc3986},
        facts.platform.redis.url_env: {"RFC 3986 (redis-py, Celery)": read_rfc3986},
    }
    for name in (url_env, facts.platform.redis.url_env):
        if name in values and values[name][1]:
            line, value = values[name]
            out += [
                Finding(RULE, f"{name}: {p}", f"{shown}:{line}", "runbooks/lokal-compose.md#passwort")
                for p in url_problems(value, hosts, readers[name])
            ]
    if url_env in values and PASSWORD_ENV in values and not out:
        line, value = values[url_env]
        _host, password = read_libpq(value)
        if password is not None and password != values[PASSWORD_ENV][1]:
            out.append(
                Finding(
                    RULE,
                    f"das Passwort in {url_env} ist (dekodiert) nicht {PASSWORD_ENV}; {ENCODING_HINT}",
                    f"{shown}:{line}",
                    "runbooks/lokal-compose.md#passwort",
                )
            )
    return out


CHECKS = (("Lokale env-Datei: Verbindungs-URLs lesbar, Passwort wie POSTGRES_PASSWORD", check_env_file),)
