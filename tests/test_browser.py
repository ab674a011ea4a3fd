"""The built site in a real browser: Debian's headless Chromium through chromedriver (selenium),
nothing downloaded at run time. Screenshots of the matrix page go to test-output/screenshots/.

What a reader sees: the stage column stays visible when the comparison table is scrolled fully
right (desktop and phone, light and dark), the header row when it is scrolled down, tabs switch,
every diagram is an inline SVG, no request leaves the site, no English UI text, every
"Zeile N" link has its target, downloads keep their names.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, mkdocs_build

pytestmark = pytest.mark.live

CHROMIUM = os.environ.get("UMX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("UMX_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("UMX_SCREENSHOTS", ROOT / "test-output" / "screenshots"))
DESKTOP, PHONE = (1440, 900), (390, 844)
MATRIX_PAGE = "plattform/umgebungsmatrix/"
# Material's and MkDocs' English UI texts (as text, title, aria-label or placeholder)
ENGLISH = (
    "Not found",
    "Made with",
    "Permanent link",
    "Copy to clipboard",
    "Copied to clipboard",
    "Back to top",
    "Table of contents",
    "Type to start searching",
    "Initializing search",
    "Search",
    "Previous",
    "Next",
    "Skip to content",
    "Share",
    "Clear",
    "Switch to",
    "Last update",
)


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return (
                f"{path} fehlt (Debian: apt-get install chromium chromium-driver; make test installiert sie als root)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium fehlt (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = mkdocs_build(ROOT, out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site like a static host: a missing page gets the site's own 404.html."""

    def log_message(self, *args) -> None:
        pass

    def send_error(self, code, message=None, explain=None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1, aber: {reason}")
        pytest.skip(reason)
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium never fetches a driver or browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=de-DE"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def open_page(browser, url: str, size: tuple[int, int] = DESKTOP, scheme: str = "default") -> None:
    browser.set_window_size(*size)
    browser.get(url)
    if scheme != "default":
        browser.execute_script("document.body.setAttribute('data-md-color-scheme', arguments[0])", scheme)
    browser.execute_script("return document.fonts ? document.fonts.ready : true")


def pages(site: Path) -> list[str]:
    """URL paths of the built pages, relative to the site root ('' for the start page)."""
    out = []
    for p in site.rglob("*.html"):
        rel = p.relative_to(site).as_posix()
        out.append(rel.removesuffix("index.html") if p.name == "index.html" else rel)
    return sorted(out)


def page_file(site: Path, page: str) -> Path:
    return site / (page + "index.html" if page == "" or page.endswith("/") else page)


# --- the comparison table ---------------------------------------------------------------------

STICKY_JS = """
const wrap = document.querySelector('.umgebungsmatrix .md-typeset__scrollwrap')
  || document.querySelector('.umgebungsmatrix table');
wrap.scrollIntoView({block: 'start'});
window.scrollBy(0, -80);
if (arguments[0]) wrap.style.maxHeight = '14rem';  // force the box to scroll down as well
wrap.scrollLeft = wrap.scrollWidth;
if (arguments[0]) wrap.scrollTop = wrap.scrollHeight;
const box = wrap.getBoundingClientRect();
const rows = [...wrap.querySelectorAll('tbody tr')].map(tr => {
  const cell = tr.cells[0];
  const r = cell.getBoundingClientRect();
  const x = r.left + Math.min(r.width / 2, 20), y = r.top + Math.min(r.height / 2, 12);
  const hit = document.elementFromPoint(x, y);
  return {text: cell.textContent.trim(), left: r.left, top: r.top, bottom: r.bottom,
          visible: !!hit && (hit === cell || cell.contains(hit))};
});
const head = wrap.querySelector('thead th:nth-child(3)').getBoundingClientRect();
return {box: {left: box.left, top: box.top, bottom: box.bottom}, scrolled: wrap.scrollLeft,
        scrolledDown: wrap.scrollTop, headTop: head.top, rows: rows,
        overflowX: wrap.scrollWidth > wrap.clientWidth, overflowY: wrap.scrollHeight > wrap.clientHeight};
"""


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "telefon"])
@pytest.mark.parametrize("scheme", ["default", "slate"], ids=["hell", "dunkel"])
def test_stage_column_stays_visible_after_scrolling_right(browser, base_url, live, size, scheme):
    open_page(browser, base_url + MATRIX_PAGE, size, scheme)
    state = browser.execute_script(STICKY_JS, False)
    assert state["overflowX"] and state["scrolled"] > 0, state
    assert [r["text"] for r in state["rows"]] == [s.name for s in live.stages]
    for row in state["rows"]:
        if row["bottom"] <= state["box"]["top"] or row["top"] >= state["box"]["bottom"]:
            continue  # scrolled out of the box vertically
        assert abs(row["left"] - state["box"]["left"]) <= 2, (row, state["box"])
        assert row["visible"], row


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "telefon"])
def test_header_row_and_stage_column_stay_when_the_box_scrolls_both_ways(browser, base_url, size):
    open_page(browser, base_url + MATRIX_PAGE, size)
    state = browser.execute_script(STICKY_JS, True)
    assert state["overflowY"] and state["scrolledDown"] > 0, state
    assert abs(state["headTop"] - state["box"]["top"]) <= 3, state


def test_screenshots_of_the_matrix_page(browser, base_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in (("desktop", DESKTOP), ("telefon", PHONE)):
        open_page(browser, base_url + MATRIX_PAGE, size)
        assert browser.save_screenshot(str(SCREENSHOTS / f"umgebungsmatrix-{name}.png"))
        browser.execute_script(STICKY_JS, False)
        assert browser.save_screenshot(str(SCREENSHOTS / f"umgebungsmatrix-{name}-rechts.png"))
    assert len(list(SCREENSHOTS.glob("umgebungsmatrix-*.png"))) >= 4


def test_overview_fits_the_first_screen(browser, base_url):
    open_page(browser, base_url + MATRIX_PAGE, DESKTOP)
    bottom = browser.execute_script(
        "return document.querySelector('.umx-ueberblick table').getBoundingClientRect().bottom"
    )
    assert bottom <= DESKTOP[1], bottom


def test_tabs_switch(browser, base_url):
    open_page(browser, base_url + MATRIX_PAGE, DESKTOP)
    tabs = browser.find_elements("css selector", ".tabbed-set .tabbed-labels > label")
    assert len(tabs) >= 2
    shown = "return [...document.querySelectorAll('.tabbed-set')[0].querySelectorAll('.tabbed-block')].map(b => b.offsetParent !== null)"
    assert browser.execute_script(shown)[:2] == [True, False]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", tabs[1])
    assert browser.execute_script(shown)[:2] == [False, True]


# --- every page ---------------------------------------------------------------------------------


def test_every_diagram_is_an_inline_svg(browser, base_url, site):
    drawn = 0
    for page in pages(site):
        if b"umx-diagramm" not in page_file(site, page).read_bytes():
            continue
        open_page(browser, base_url + page)
        browser.set_script_timeout(20)
        result = browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const start = Date.now();
            (function poll() {
              const pending = document.querySelectorAll('pre.umx-diagramm').length;
              const failed = [...document.querySelectorAll('[data-fehler]')].map(e => e.dataset.fehler);
              const svgs = [...document.querySelectorAll('div.umx-diagramm > svg')]
                .filter(s => s.getBoundingClientRect().width > 50).length;
              if ((pending === 0 && svgs > 0) || failed.length || Date.now() - start > 15000)
                done({pending: pending, failed: failed, svgs: svgs});
              else setTimeout(poll, 100);
            })();
            """
        )
        assert not result["failed"] and result["pending"] == 0 and result["svgs"] > 0, (page, result)
        drawn += result["svgs"]
    assert drawn >= 6  # three on the stages overview, one per stage page, secrets, release


def test_no_request_leaves_the_site(browser, base_url, site):
    browser.get_log("performance")  # drop what came before
    for page in pages(site):
        open_page(browser, base_url + page)
    outside = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith((base_url, "data:", "blob:", "about:")):
                outside.add(url)
    assert not outside, sorted(outside)


UI_TEXT_JS = """
const out = [];
document.querySelectorAll('[title],[aria-label],[placeholder],[data-md-component] *').forEach(e => {
  for (const a of ['title', 'aria-label', 'placeholder']) if (e.getAttribute(a)) out.push(e.getAttribute(a));
});
out.push(document.body.innerText);
return out.join('\\n');
"""


def test_no_english_ui_text(browser, base_url, site):
    found = {}
    for page in [*pages(site), "gibt-es-nicht/"]:
        open_page(browser, base_url + page)
        text = browser.execute_script(UI_TEXT_JS)
        if page == "gibt-es-nicht/":
            assert "Seite nicht gefunden" in text
        hits = [phrase for phrase in ENGLISH if phrase in text]
        if hits:
            found[page] = hits
    assert not found, found


def test_every_line_link_has_its_target(site):
    import re

    checked = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r'href="#(__codelineno-[^"]+)"', text):
            assert f'id="{target}"' in text, (page, target)
            checked += 1
    assert checked > 0


def test_downloads_keep_their_names(site, live):
    from umgebungsmatrix.artifacts import render_all
    from umgebungsmatrix.artifacts.stage_pages import Page, zip_path

    rendered = render_all(live)
    for stage in live.stages:
        archive = zipfile.ZipFile(io.BytesIO((site / zip_path(stage)).read_bytes()))
        expected = Page(live, stage, dict(rendered)).generated_files()
        assert sorted(archive.namelist()) == sorted(expected)
        for name in expected:
            assert archive.read(name).decode("utf-8") == rendered[name]
    page = (site / "stages" / live.compose_stage.id / "index.html").read_text(encoding="utf-8")
    assert 'download=".env.example"' in page and f'download="{live.compose_stage.id}-dateien.zip"' in page


def test_site_stays_small(site):
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert total <= 5_000_000, total
    assert (site / MATRIX_PAGE / "index.html").stat().st_size <= 100_000
    assert not list(site.rglob("*.map"))


@pytest.fixture(scope="session", autouse=True)
def _clean_screenshots():
    if SCREENSHOTS.exists() and "UMX_SCREENSHOTS" not in os.environ:
        shutil.rmtree(SCREENSHOTS)
    yield


def test_stage_page_tables_fit_the_page_at_desktop_width(browser, base_url, live):
    """The services table (with its manifest downloads) and the other tables of a stage page fit at 1440 px."""
    for stage in live.stages:
        open_page(browser, base_url + f"stages/{stage.id}/", DESKTOP)
        overflow = browser.execute_script(
            "return [...document.querySelectorAll('.md-typeset__scrollwrap')]"
            ".filter(w => !w.closest('.umgebungsmatrix'))"
            ".filter(w => w.scrollWidth > w.clientWidth + 1)"
            ".map(w => w.querySelector('th') ? w.querySelector('th').innerText : '?')"
        )
        assert overflow == [], (stage.id, overflow)


def test_diagrams_keep_their_natural_size(browser, base_url, site):
    """A wide diagram scrolls sideways; it is never shrunk so far that its labels cannot be read."""
    checked = 0
    for page in pages(site):
        if b"umx-diagramm" not in page_file(site, page).read_bytes():
            continue
        for size in (DESKTOP, PHONE):
            open_page(browser, base_url + page, size)
            browser.set_script_timeout(20)
            scales = browser.execute_async_script(
                """
                const done = arguments[arguments.length - 1];
                const start = Date.now();
                (function poll() {
                  if (document.querySelectorAll('pre.umx-diagramm').length && Date.now() - start < 15000)
                    return setTimeout(poll, 100);
                  done([...document.querySelectorAll('div.umx-diagramm > svg')]
                    .filter(s => s.getBoundingClientRect().width > 0)
                    .map(s => s.getBoundingClientRect().width / s.viewBox.baseVal.width));
                })();
                """
            )
            assert scales and min(scales) >= 0.95, (page, size, scales)
            checked += len(scales)
    assert checked >= 6


def test_mermaid_loads_only_where_a_diagram_is(browser, base_url):
    browser.get_log("performance")
    open_page(browser, base_url + "runbooks/migrations/")
    open_page(browser, base_url + "stages/")
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append((message["params"].get("documentURL", ""), message["params"]["request"]["url"]))
    mermaid = [doc for doc, url in requested if url.endswith("mermaid.tiny.js")]
    assert mermaid and all("/stages/" in doc for doc in mermaid), requested


def test_404_page_links_home(browser, base_url):
    open_page(browser, base_url + "gibt-es-nicht/")
    link = browser.find_element("link text", "Startseite")
    link.click()
    assert browser.current_url.rstrip("/") == base_url.rstrip("/"), browser.current_url
