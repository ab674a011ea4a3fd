"""The same sources built with Zensical (make build-zensical): strict, and equal to the MkDocs site
in what readers get – every page's text (theme chrome excluded), the comparison table cell by cell,
every download byte for byte."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, env_for, mkdocs_build

pytestmark = pytest.mark.live


def zensical_missing() -> str | None:
    if not (Path(sys.executable).parent / "zensical").exists():
        return "zensical fehlt (pip install -e '.[test]' installiert es)"
    return None


def zensical_build(repo: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "macros.zensical_build", "--site-dir", str(site)],
        cwd=repo,
        env=env_for(repo),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> tuple[Path, Path]:
    reason = zensical_missing()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("beide")
    mk, zs = base / "mkdocs", base / "zensical"
    done = mkdocs_build(ROOT, mk)
    assert done.returncode == 0, done.stderr
    done = zensical_build(ROOT, zs)
    assert done.returncode == 0, done.stdout + done.stderr
    return mk, zs


def article_text(page: Path) -> str:
    raw = page.read_text(encoding="utf-8")
    match = re.search(r"<article.*?</article>", raw, re.S)
    assert match, page
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", match.group(0), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def html_pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html") if "downloads" not in p.parts}


def test_every_page_reads_the_same(sites):
    mk, zs = sites
    assert html_pages(mk) == html_pages(zs)
    different = [rel for rel in sorted(html_pages(mk)) if article_text(mk / rel) != article_text(zs / rel)]
    assert not different, different


def test_comparison_table_is_equal_cell_by_cell(sites, live):
    from test_table_golden import _TableText

    tables = []
    for site in sites:
        text = (site / "plattform" / "umgebungsmatrix" / "index.html").read_text(encoding="utf-8")
        parser = _TableText()
        parser.feed(text[text.index('class="umgebungsmatrix"') :])
        tables.append(parser.rows)
    assert tables[0] == tables[1]
    assert tables[0][0] == [c.titel for c in live.columns]


def test_downloads_are_identical(sites):
    mk, zs = sites
    files = {p.relative_to(mk).as_posix() for p in (mk / "downloads").rglob("*") if p.is_file()}
    assert files == {p.relative_to(zs).as_posix() for p in (zs / "downloads").rglob("*") if p.is_file()}
    assert "downloads/.env.example" in files
    for rel in files:
        assert (mk / rel).read_bytes() == (zs / rel).read_bytes(), rel


def test_zensical_site_stays_small_and_self_contained(sites):
    _mk, zs = sites
    assert sum(p.stat().st_size for p in zs.rglob("*") if p.is_file()) <= 5_000_000
    assert not list(zs.rglob("*.map"))
    for page in zs.rglob("*.html"):
        assert "fonts.googleapis.com" not in page.read_text(encoding="utf-8"), page


def test_a_broken_link_fails_the_zensical_build(code_copy, tmp_path):
    if zensical_missing():
        pytest.skip(zensical_missing())
    page = code_copy / "docs" / "cicd" / "pipeline.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSiehe [kaputt](gibt-es-nicht.md).\n", encoding="utf-8")
    done = zensical_build(code_copy, tmp_path / "site")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gibt-es-nicht.md" in done.stderr and "Zensical hat die Website abgelehnt" in done.stderr
    assert "Seite gibt es nicht" in done.stderr and "does not exist" not in done.stderr


def test_a_broken_page_fails_with_page_and_line(code_copy, tmp_path):
    if zensical_missing():
        pytest.skip(zensical_missing())
    page = code_copy / "docs" / "cicd" / "pipeline.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n{{ gibt_es_nicht() }}\n", encoding="utf-8")
    done = zensical_build(code_copy, tmp_path / "site")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "docs/cicd/pipeline.md:" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_image_fails_the_zensical_build_as_it_fails_mkdocs(code_copy, tmp_path):
    if zensical_missing():
        pytest.skip(zensical_missing())
    page = code_copy / "docs" / "cicd" / "pipeline.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n![Bild](fehlt.png)\n", encoding="utf-8")
    done = zensical_build(code_copy, tmp_path / "site")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fehlt.png fehlt" in done.stderr
    assert mkdocs_build(code_copy, tmp_path / "mk").returncode != 0
