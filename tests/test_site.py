"""The site with the real MkDocs: strict means strict, code blocks stay literal, errors name page and line,
and `mkdocs serve` shows a broken matrix instead of hanging."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import env_for, mkdocs_build, web_port_path, with_value

pytestmark = pytest.mark.live


def add_page(repo: Path, rel: str, text: str) -> None:
    (repo / "docs" / rel).write_text(text, encoding="utf-8")
    config = repo / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "      - Pipeline: cicd/pipeline.md\n", f"      - Pipeline: cicd/pipeline.md\n      - Test: {rel}\n"
        ),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "body,needle",
    [
        ("Siehe [Seite](gibt-es-nicht.md).", "gibt-es-nicht.md"),
        ("Siehe [Abschnitt](pipeline.md#gibt-es-nicht).", "gibt-es-nicht"),
    ],
    ids=["link", "anker"],
)
def test_strict_build_fails_on_a_broken_link_or_anchor(code_copy: Path, tmp_path: Path, body, needle):
    add_page(code_copy, "cicd/kaputt.md", f"# Kaputt\n\n{body}\n")
    done = mkdocs_build(code_copy, tmp_path / "site")
    assert done.returncode != 0, "ein kaputter Link muss den strengen Build abbrechen"
    assert needle in done.stderr


def test_make_build_and_test_do_not_silence_strict_mode():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    for line in makefile.splitlines():
        if "mkdocs build" in line:
            assert "--strict" in line and "--quiet" not in line and " -q" not in line, line


def test_code_blocks_stay_literal_unless_asked(code_copy: Path, tmp_path: Path):
    add_page(
        code_copy,
        "cicd/gh.md",
        "# GH\n\n```yaml\nrun: echo ${{ github.sha }} ${{ matrix.stage }} "
        "{{.State.Status}}\n```\n\n<!-- jinja -->\n```text\n{{ plattform.name }}\n```\n",
    )
    done = mkdocs_build(code_copy, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "site" / "cicd" / "gh" / "index.html").read_text(encoding="utf-8")
    assert "${{ github.sha }} ${{ matrix.stage }} {{.State.Status}}" in html
    assert "Matrix(" not in html and "plattform=" not in html
    from umgebungsmatrix.facts import load

    assert load().platform.name in html, "der ausdrücklich markierte Block wird gerendert"


@pytest.mark.parametrize(
    "line,expected",
    [
        ("Wert: {{ unbekannt.feld }}", "'unbekannt' ist nicht definiert"),
        ("Wert: {{ stages }}", "gibt dict"),
        ("Wert: {{ matrix }}", "gibt Matrix"),
        ("{% for x in %}", "Vorlagen-Syntaxfehler"),
        ("Tag: `${{ github.ref }}`", "{% raw %}${{ … }}{% endraw %} schreiben"),
    ],
    ids=["undefiniert", "objekt", "modell", "syntax", "github-inline"],
)
def test_macro_error_names_page_and_line(code_copy: Path, tmp_path: Path, line, expected):
    add_page(code_copy, "cicd/fehler.md", f"---\ntitle: Fehler\n---\n# Fehler\n\nText\n\n{line}\n")
    for build in ("kompiliert", "aus dem Bytecode-Cache"):  # the second build runs the cached compiled page
        done = mkdocs_build(code_copy, tmp_path / "site")
        assert done.returncode != 0, build
        assert "docs/cicd/fehler.md:8: " in done.stderr and expected in done.stderr, (build, done.stderr)
        assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 90.0, want: str | None = None, log: Path | None = None) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                last = resp.read().decode("utf-8")
                if want is None or want in last:
                    return last
        except OSError:
            pass
        time.sleep(0.3)
    tail = log.read_text(encoding="utf-8")[-2000:] if log else ""
    raise AssertionError(f"{url}: nach {timeout:.0f} s nicht erwartet ({want!r}); zuletzt:\n{last[:500]}\n{tail}")


def test_serve_shows_a_broken_matrix_and_recovers(code_copy: Path, tmp_path: Path, live):
    matrix = code_copy / "matrix" / "umgebungen.yaml"
    good = matrix.read_text(encoding="utf-8")
    path = web_port_path(live)
    broken = with_value(live.source, path, "-8000")
    assert broken != good
    matrix.write_text(broken, encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=code_copy,
        env=env_for(code_copy),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = _get(f"http://127.0.0.1:{port}/", want="ungültig", log=tmp_path / "serve.log")
        assert "matrix/umgebungen.yaml:" in page and ".".join(path) in page
        matrix.write_text(good, encoding="utf-8")
        _get(f"http://127.0.0.1:{port}/plattform/umgebungsmatrix/", want="Vergleich", log=tmp_path / "serve.log")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
