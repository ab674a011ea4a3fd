"""`make build-zensical`: the same sources built with Zensical (PyPI `zensical`), strict, into
site-zensical/ – the tested way off MkDocs 1.x.

Zensical reads mkdocs.yml but (version 0.0.x) has no MkDocs hooks and no `on_pre_page_macros`,
and its link validator reads a page before its macros ran. So this module renders the pages first,
with the same macros module and the same page renderer as the MkDocs build (code blocks stay
literal), through a small mkdocs-macros-like environment; then Zensical turns plain Markdown into
the site, with link and anchor validation on the rendered text:

1. a work folder .zensical-build/ with docs/ = every page rendered, the generated stage pages and
   downloads from memory (macros/sitefiles.py, as the MkDocs hooks publish them), static files;
2. zensical.yml = mkdocs.yml without the macros plugin and the hooks, with the stage pages in the
   nav (as the hook inserts them);
3. `zensical build` (strict: a broken link or anchor fails), then the unused assets are dropped.

Exit 0 built, 1 Zensical refused the site (its messages are shown), 2 the matrix or a page is broken.
Docs: https://zensical.org/docs/setup/extensions/macros/,
https://zensical.org/docs/compatibility/mkdocs/migration/
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, UmxError
from umgebungsmatrix.facts import load
from umgebungsmatrix.paths import DOCS_DIR, ROOT

from . import pages, site, sitefiles

WORK = ROOT / ".zensical-build"
# What Zensical (0.0.x) cannot do yet that the site uses, and what this build does instead (README).
LIMITS = (
    "Zensical kennt keine MkDocs-Hooks: Stage-Seiten, Downloads, ZIPs und Navigation legt dieser Build an",
    "Zensicals Makros haben kein on_pre_page_macros und prüfen Links vor den Makros: "
    "die Seiten werden vorher mit demselben Makro-Modul gerendert",
    "Zensical übergeht Dateien mit führendem Punkt (downloads/.env.example): sie werden danach kopiert",
    "Zensical prüft keine Bilder: dieser Build prüft jede lokale src-Angabe der fertigen Seiten",
    "Zensicals Suchdialog ist (0.0.x) englisch beschriftet; theme.language: de wirkt dort noch nicht",
)
FRONT_MATTER = re.compile(r"\A---\n(.*?\n)---\n", re.S)


class _Page:
    """What the macros see of a page under this renderer: its path (macros/engine.py) and meta."""

    def __init__(self, path: str, meta: dict[str, Any]):
        self.path = path
        self.meta = meta
        self.title = meta.get("title")


class MacroEnv:
    """The part of mkdocs-macros' `env` the macros module uses: variables, macro(), page, markdown, env."""

    def __init__(self) -> None:
        self.variables: dict[str, Any] = {}
        self.macros: dict[str, Any] = {}
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined)  # as on_undefined: strict
        self.page: _Page | None = None
        self.markdown = ""

    def macro(self, fn: Any, name: str = "") -> Any:
        self.variables[name or fn.__name__] = fn
        self.macros[name or fn.__name__] = fn
        return fn


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str]:
    """(meta, front matter block as written, body)."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, "", text
    meta = yaml.safe_load(match.group(1)) or {}
    return (meta if isinstance(meta, dict) else {}), match.group(0), text[match.end() :]


def render_docs(target: Path) -> int:
    """Every page of docs/ rendered into `target`, plus the generated pages, downloads and static files.
    Returns the number of pages."""
    facts = load()
    rendered = render_all(facts)
    env = MacroEnv()
    site.define_env(env)
    sources: dict[str, str] = {
        p.relative_to(DOCS_DIR).as_posix(): p.read_text(encoding="utf-8") for p in DOCS_DIR.rglob("*.md")
    }
    sources.update(sitefiles.generated_pages(rendered))  # the render, never a stale file on disk
    written: dict[str, bytes] = {}
    for uri, text in sorted(sources.items()):
        meta, front, body = split_front_matter(text)
        env.page, env.markdown = _Page(uri, dict(meta)), body
        pages.render_page(env)
        written[uri] = (front + env.markdown).encode("utf-8")
    for path in DOCS_DIR.rglob("*"):
        if path.is_file() and path.suffix != ".md":
            written[path.relative_to(DOCS_DIR).as_posix()] = path.read_bytes()
    for uri, content in sitefiles.downloads(facts, rendered).items():
        written[uri] = content if isinstance(content, bytes) else content.encode("utf-8")
    _sync(target, written)
    return len(sources)


def _sync(target: Path, files: dict[str, bytes]) -> None:
    """Make `target` hold exactly `files`, touching only what changed (Zensical's cache keeps the rest)."""
    for uri, content in files.items():
        out = target / uri
        if out.is_file() and out.read_bytes() == content:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    for path in sorted(target.rglob("*"), reverse=True):
        rel = path.relative_to(target).as_posix()
        if path.is_file() and rel not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def search_languages() -> list[str]:
    """`plugins: - search: lang:` of mkdocs.yml (one language or a list), as the MkDocs hook reads it."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    match = re.search(r"(?m)^  - search:\n(?:^ {6,}.*\n)*?^ {6}lang: *(.+)$", text)
    if not match:
        return ["en"]
    value = yaml.safe_load(match.group(1))
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def zensical_config(work: Path) -> Path:
    """mkdocs.yml for Zensical: without the macros plugin and the hooks, stage pages in the nav."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  - macros:\n(?:^ {6,}.*\n)+", "", text)
    text = re.sub(r"(?m)^hooks:\n(?:^  - .*\n)+", "", text)
    text = re.sub(r"(?m)^docs_dir: .*$", "docs_dir: docs", text)
    text = text.replace("custom_dir: overrides", "custom_dir: ../overrides")
    facts = load()
    lines = "".join(f"      - {name}: {path}\n" for entry in sitefiles.stage_nav(facts) for name, path in entry.items())
    index = "      - stages/index.md\n"
    if index not in text:
        raise UmxError("mkdocs.yml: stages/index.md fehlt in der Navigation")
    text = text.replace(index, index + lines, 1)
    text += "\nsite_dir: site\n"  # Zensical wants it inside the project; build() moves it
    config = work / "zensical.yml"
    config.write_text(text, encoding="utf-8")
    return config


SRC = re.compile(r'\bsrc="([^"#?]+)')


def missing_sources(built: Path) -> list[tuple[str, str]]:
    """(page, src) for every local `src` of a built page that points at no file (images, scripts):
    MkDocs' strict build reports a missing image, Zensical (0.0.x) does not."""
    out = []
    for page in sorted(built.rglob("*.html")):
        for src in SRC.findall(page.read_text(encoding="utf-8", errors="replace")):
            if "://" in src or src.startswith(("data:", "//")):
                continue
            target = (built / src.lstrip("/")) if src.startswith("/") else (page.parent / src)
            if not target.resolve().is_file():
                out.append((page.relative_to(built).as_posix(), src))
    return out


def _publish_dotfiles(docs: Path, built: Path) -> None:
    """Zensical (0.0.x) skips files whose name starts with a dot, such as downloads/.env.example;
    MkDocs publishes what the hook adds. Copied over, so both sites offer the same downloads."""
    for path in docs.rglob(".*"):
        if path.is_file():
            target = built / path.relative_to(docs)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Zensical's own words (0.0.x), in German; anything else is shown as it is.
GERMAN = (
    (re.compile(r"^Build started$"), "Zensical baut …"),
    (re.compile(r"^Warning: "), "Warnung: "),
    (re.compile(r"page does not exist"), "Seite gibt es nicht"),
    (re.compile(r"anchor does not exist"), "Anker gibt es nicht"),
    (re.compile(r"^(\d+) issues? found$"), r"\1 Befund(e)"),
    (re.compile(r"^RuntimeError: Aborted because --strict flag is set$"), "abgebrochen (streng)"),
)


def _messages(output: str) -> str:
    """Zensical's own findings (colours removed, its Python traceback left out)."""
    lines, skipping = [], False
    for line in ANSI.sub("", output).splitlines():
        if line.startswith("Traceback"):
            skipping = True
        elif skipping and not line.startswith(" "):
            skipping = False
        if not skipping:
            text = line
            for pattern, german in GERMAN:
                text = pattern.sub(german, text)
            lines.append(text)
    return "\n".join(lines[-60:])


def _zensical(config: Path) -> tuple[bool, str]:
    """Zensical's build in this process (no second interpreter start), its terminal output captured
    (it writes to the file descriptors directly, in colour): (built, output)."""
    try:
        from zensical import build as zensical_build
    except ImportError:
        raise UmxError("zensical fehlt: pip install zensical (make build-zensical installiert es)") from None
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        cwd = os.getcwd()
        try:
            os.chdir(WORK)
            zensical_build(str(config.resolve()), {"clean": False, "strict": False})
            ok = True
        except RuntimeError:
            ok = False
        finally:
            os.chdir(cwd)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        capture.seek(0)
        output = capture.read().decode("utf-8", "replace")
    return ok and "Aborted" not in output, output


def build(site_dir: Path, quiet: bool = False) -> int:
    started = time.perf_counter()
    (WORK / "docs").mkdir(parents=True, exist_ok=True)
    count = render_docs(WORK / "docs")
    config = zensical_config(WORK)
    rendered_at = time.perf_counter()
    ok, output = _zensical(config)
    if not ok:
        print(_messages(output), file=sys.stderr)
        print(
            "✗ Zensical hat die Website abgelehnt (siehe oben; Zeilen zählen in der gerenderten Seite unter "
            ".zensical-build/docs/)",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    built = WORK / "site"
    _publish_dotfiles(WORK / "docs", built)
    missing = missing_sources(built)
    if missing:
        for page, src in missing:
            print(f"{page}: {src} fehlt", file=sys.stderr)
        print("✗ Bilder oder Dateien fehlen (Zensical prüft nur Links, MkDocs auch Bilder)", file=sys.stderr)
        return EXIT_FINDINGS
    sitefiles.drop_unused_assets(str(built), search_languages())
    if site_dir.exists():
        shutil.rmtree(site_dir)
    shutil.move(str(built), str(site_dir))
    if not quiet:
        for note in LIMITS:
            print(f"  Hinweis: {note}")
        print(
            f"✓ Zensical: {count} Seiten in {site_dir} gebaut ({time.perf_counter() - started:.2f} s, "
            f"davon Makros {rendered_at - started:.2f} s)"
        )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m macros.zensical_build",
        description="Die Website mit Zensical bauen (streng), nach site-zensical/",
    )
    parser.add_argument("--site-dir", type=Path, default=ROOT / "site-zensical", help="Ziel (Standard: site-zensical/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="nur Fehler ausgeben")
    args = parser.parse_args(argv)
    try:
        return build(args.site_dir, args.quiet)
    except UmxError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code or EXIT_INPUT
    except Exception as exc:  # a page that does not render (PluginError from the macros)
        if type(exc).__name__ == "PluginError":
            print(str(exc), file=sys.stderr)
            return EXIT_INPUT
        raise


if __name__ == "__main__":
    sys.exit(main())
