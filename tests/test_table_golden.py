"""The comparison table: the frozen seed matrix renders the seed's table cell for cell,
and the built page shows exactly the live matrix's table."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, SEED, mkdocs_build
from seedtable import link_targets, parse_table, plain_text, seed_table

from macros.site import table_markdown, table_rows

HEADER, ROWS = seed_table(SEED)


def test_header_matches_seed(seed):
    assert [c.titel for c in seed.columns] == HEADER


@pytest.mark.parametrize("row", range(len(ROWS)), ids=[r[0] for r in ROWS])
def test_rows_match_seed_cell_by_cell(seed, row):
    rendered = table_rows(seed)[row]
    for column, (got, want) in enumerate(zip(rendered, ROWS[row], strict=True)):
        assert got == want, f"Zeile {ROWS[row][0]!r}, Spalte {HEADER[column]!r}"


def test_link_targets_match_seed(seed):
    for got_row, want_row in zip(table_rows(seed), ROWS, strict=True):
        for got, want in zip(got_row, want_row, strict=True):
            assert link_targets(got) == link_targets(want)


def test_markdown_table_round_trips(seed):
    header, rows = parse_table(table_markdown(seed))
    assert (header, rows) == (HEADER, ROWS)


class _TableText(HTMLParser):
    """Collect cell texts and link targets of the first table in an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self._tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._tables += 1
        if self._tables != 1:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self._cell is not None:
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._tables == 1:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    done = mkdocs_build(ROOT, site)
    assert done.returncode == 0, done.stderr
    return site


@pytest.mark.live
def test_built_page_shows_the_live_table(built_site, live):
    page = built_site / "plattform" / "umgebungsmatrix" / "index.html"
    parser = _TableText()
    text = page.read_text(encoding="utf-8")
    parser.feed(text[text.index('class="umgebungsmatrix"') :])  # the full table, after the overview
    assert parser.rows[0] == [c.titel for c in live.columns]
    assert parser.rows[1:] == [[plain_text(c) for c in row] for row in table_rows(live)]
    # every link of the table resolves to a page of the built site
    assert parser.links, "die Tabelle enthält Links"
    for href in parser.links:
        target = (page.parent / href).resolve()
        assert target.exists() or (target / "index.html").exists(), href
