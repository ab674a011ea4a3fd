"""Guardrail: no secret value in any generated file, hand-written page or built site.

- Variables marked `geheim: true` may appear in generated files only as a
  name, an empty assignment, a ${NAME} reference, a Secret Manager
  secretKeyRef, or the matrix's `beispiel` hint (which validate requires to be
  visibly a placeholder).
- Nothing may look like a real secret (umgebungsmatrix.secretshapes: `sk-`,
  `pk-lf-`, `ghp_`, `AKIA`, PEM keys, passwords in URLs, high-entropy strings):
  in the generated files, in the sources under docs/ and in a built site. This
  runs without a local .env, so CI scans too.
- Values of a local .env (if present) appear nowhere.
Messages never print the value itself.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from umgebungsmatrix import secretshapes
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.paths import DOCS_DIR, ROOT
from umgebungsmatrix.vendor import is_vendored

from .cloudrun.parsed import load_yaml
from .findings import Finding

Artifacts = Mapping[str, str]

RULE = "keine-geheimen-werte"
DOC = f"stages/leitplanken.md#{RULE}"
SITE_SUFFIXES = {".html", ".xml", ".json", ".txt", ".yaml", ".yml", ".sh", ".md", ".example", ".env", ".js"}
MIN_SECRET_LENGTH = 4


def secret_names(facts: Facts) -> list[str]:
    return list(facts.secret_names())


def is_reference(value: str, name: str) -> bool:
    """Empty, ${NAME}, $NAME or ${NAME:?message}: no value, only a name."""
    value = value.strip().strip("\"'")
    if value in ("", f"${{{name}}}", f"${name}"):
        return True
    return re.fullmatch(rf"\$\{{{name}:?\?[^}}]*\}}", value) is not None


def allowed(value: str, name: str, examples: set[str] | dict[str, set[str]]) -> bool:
    if is_reference(value, name):
        return True
    hints = examples[name] if isinstance(examples, dict) else examples
    return value.strip().strip("\"'") in hints


def _yaml_literals(data: Any, secret: set[str], path: tuple[Any, ...] = ()) -> Iterator[tuple[str, str]]:
    """(name, value) of secret variables with a literal value in parsed YAML."""
    if isinstance(data, dict):
        name = data.get("name")
        if isinstance(name, str) and name in secret and "value" in data:
            yield name, str(data["value"])
        for key, value in data.items():
            if key in secret and not isinstance(value, (dict, list)) and value is not None:
                yield key, str(value)
            yield from _yaml_literals(value, secret, path + (key,))
    elif isinstance(data, list):
        for item in data:
            yield from _yaml_literals(item, secret, path)


@functools.lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(map(re.escape, names))
    return re.compile(rf"(?<![A-Za-z0-9_$])({alternatives})(?:=(\"[^\"]*\"|'[^']*'|[^,\s\"']*)|[\"']?:[ \t]*(\S.*)?$)")


def _line_literals(text: str, names: list[str]) -> Iterator[tuple[int, str, str]]:
    """(line, name, value) for NAME=value and NAME: value outside comments."""
    if not names:
        return
    pattern = _pattern(tuple(names))
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in pattern.finditer(line):
            value = match.group(2) if match.group(2) is not None else (match.group(3) or "")
            yield number, match.group(1), value


def all_examples(facts: Facts) -> dict[str, set[str]]:
    """Rendered `beispiel` hints per secret name (the compose stage renders them for .env.example)."""
    hints = facts.compose_stage.examples
    return {name: {hints[name]} if name in hints else set() for name in facts.secret_names()}


def scan_text(path: str, text: str, facts: Facts, examples: dict[str, set[str]] | None = None) -> list[Finding]:
    names = secret_names(facts)
    examples = examples if examples is not None else all_examples(facts)
    out = []
    for number, name, value in _line_literals(text, names):
        if not allowed(value, name, examples):
            out.append(
                Finding(
                    RULE,
                    f"{name} ist geheim, steht hier aber mit einem Klartextwert "
                    "(erlaubt: Name, leer, ${" + name + "} oder secretKeyRef)",
                    f"{path}:{number}",
                    DOC,
                )
            )
    if path.endswith((".yaml", ".yml")):
        data = load_yaml(text)
        reported = {f.message.split(" ", 1)[0] for f in out}
        for name, value in _yaml_literals(data, set(names)):
            if name not in reported and not allowed(value, name, examples):
                reported.add(name)
                out.append(Finding(RULE, f"{name} ist geheim, hat hier aber einen Klartextwert (value)", path, DOC))
    return out


def env_files(facts: Facts, root: Path) -> list[Path]:
    """The compose stage's local env file (e.g. .env), if present."""
    file = root / facts.compose_stage.env_file
    return [file] if file.is_file() else []


def dotenv_secrets(facts: Facts, root: Path | None = None) -> dict[str, str]:
    """Secret values of local env files (never printed), only those worth searching for."""
    out: dict[str, str] = {}
    for file in env_files(facts, root or ROOT):
        out.update(_parse_env(facts, file))
    return out


def _parse_env(facts: Facts, file: Path) -> dict[str, str]:
    secret = set(secret_names(facts))
    out = {}
    for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.removeprefix("export ").split("=", 1)
        name, value = name.strip(), value.strip().strip("\"'")
        if name in secret and len(value) >= MIN_SECRET_LENGTH and not allowed(value, name, all_examples(facts)):
            out[name] = value
    return out


SOURCE_SUFFIXES = {".md", ".sql", ".yml", ".yaml", ".json", ".txt", ".css", ".js", ".html", ".sh", ".py"}


def text_files(folder: Path, suffixes: set[str]) -> Iterator[Path]:
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (path.suffix in suffixes or path.name.startswith(".env")):
                yield path


def readable_text(path: Path) -> str:
    """The text a reader sees: HTML entities decoded (a built page writes `<` as `&lt;`)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(text) if path.suffix in (".html", ".json", ".xml") else text


def shapes(path: str, text: str, file: Path | None = None) -> list[Finding]:
    """Places that look like a real secret (token shapes, passwords in URLs, high entropy); none for a
    pinned third-party file (umgebungsmatrix.vendor: same SHA-256), whose minified code is high-entropy."""
    if file is not None and is_vendored(file):
        return []
    return [
        Finding(
            RULE,
            f"sieht wie ein echtes Geheimnis aus ({hit.kind}; Wert nicht angezeigt)",
            f"{path}:{hit.line}:{hit.column}",
            DOC,
        )
        for hit in secretshapes.find(text)
    ]


def scan_tree(folder: Path, facts: Facts, shown: str) -> list[Finding]:
    """A built site (or any folder): secret shapes, .env values, and secret literals in its downloads."""
    out: list[Finding] = []
    values = dotenv_secrets(facts)
    examples = all_examples(facts)
    for file in text_files(folder, SITE_SUFFIXES):
        rel = f"{shown}/{file.relative_to(folder).as_posix()}"
        text = readable_text(file)
        out += shapes(rel, text, file) + _leaks(rel, text, values)
        if "/downloads/" in f"/{file.relative_to(folder).as_posix()}":
            out += scan_text(rel, text, facts, examples)
    return out


def no_secret_values(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    out: list[Finding] = []
    examples = all_examples(facts)
    values = dotenv_secrets(facts)
    for path, text in sorted(artifacts.items()):
        out += scan_text(path, text, facts, examples) + shapes(path, text) + _leaks(path, text, values)
    docs = ROOT / DOCS_DIR.relative_to(DOCS_DIR.parent)  # module attribute ROOT: tests point it at a copy
    for file in text_files(docs, SOURCE_SUFFIXES):
        rel = file.relative_to(ROOT).as_posix()
        if rel in artifacts:
            continue  # generated pages: judged above, from the render
        text = readable_text(file)
        out += shapes(rel, text, file) + _leaks(rel, text, values)
    if (ROOT / "site").is_dir():
        out += scan_tree(ROOT / "site", facts, "site")
    return out


def _leaks(path: str, text: str, values: dict[str, str]) -> list[Finding]:
    out = []
    for name, value in values.items():
        index = text.find(value)
        if index >= 0:
            line = text.count("\n", 0, index) + 1
            out.append(
                Finding(
                    RULE,
                    f"der Wert von {name} aus .env steht in dieser Datei (Wert nicht angezeigt)",
                    f"{path}:{line}",
                    DOC,
                )
            )
    return out


CHECKS = (("Leitplanke: keine geheimen Werte in erzeugten Dateien und auf der Website", no_secret_values),)


# --- CLI: umgebungsmatrix secret-scan [ORDNER ...] ---------------------------------------------


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "ordner", nargs="*", type=Path, help="zusätzlich zu prüfende Ordner, z. B. eine gerade gebaute Website"
    )


def run(args: Any, facts: Facts) -> int:
    """Exit 0 clean, 1 when something looks like a secret (generated files, docs/, site/, given folders)."""
    from umgebungsmatrix.artifacts import render_all
    from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK, InputError

    found = no_secret_values(facts, render_all(facts))
    for folder in args.ordner:
        if not folder.is_dir():
            raise InputError(f"{folder}: kein Ordner")
        found += scan_tree(folder, facts, str(folder))
    for finding in found:
        print(finding.format())
    scope = ", ".join(["erzeugte Dateien", "docs/", *(str(f) for f in args.ordner)])
    if found:
        print(f"✗ {len(found)} Fundstelle(n) ({scope}); Werte werden nie angezeigt.")
        return EXIT_FINDINGS
    print(f"✓ keine geheimen Werte ({scope})")
    return EXIT_OK
