"""mkdocs hook for bench_site.py: saves each page's Markdown after the macros ran."""

import os
from pathlib import Path


def on_page_markdown(markdown, page, config, files):
    target = Path(os.environ["BENCH_DUMP_DIR"]) / page.file.src_uri
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown, encoding="utf-8")
    return markdown
