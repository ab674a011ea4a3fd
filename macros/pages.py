"""How a hand-written page is templated: code blocks stay literal, errors name page and line.

mkdocs-macros renders every page as one Jinja template. Two things go wrong
with that on a documentation site:

- Code blocks carry other tools' template syntax (`${{ github.sha }}` in
  GitHub Actions, `{{.State.Status}}` in docker inspect). Here a fenced code
  block stays literal unless the line before it is `<!-- jinja -->`.
- A failing macro stops the build with "Error 100". Here the page is
  rendered in `on_pre_page_macros` and a failure becomes a PluginError
  `docs/PAGE:LINE: reason` (mkdocs aborts the build cleanly).

While the matrix itself is broken, `mkdocs serve` shows that error on every
page (with file:line) instead of hanging; `mkdocs build` fails.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import traceback
from typing import Any

import jinja2
from mkdocs.exceptions import PluginError

from umgebungsmatrix.facts.templates import bytecode_cache, german_syntax, german_undefined

from .engine import page_uri

OPT_IN = "<!-- jinja -->"
COMMAND_ENV = "UMX_MKDOCS_COMMAND"  # set by macros/hooks.py on_startup
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")


def protect_code_blocks(markdown: str) -> str:
    """Wrap every fenced code block in {% raw %} unless `<!-- jinja -->` stands on the line before.

    Line numbers stay the same: the tags go at the end of the opening fence
    line and the start of the closing one; the opt-in marker line becomes empty.
    """
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence, indent = match.group("fence"), match.group("indent")
        close = next(
            (
                j
                for j in range(i + 1, len(lines))
                if re.match(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", lines[j])
            ),
            None,
        )
        if close is None:
            out.extend(lines[i:])
            break
        opted_in = bool(out) and out[-1].strip() == OPT_IN
        if opted_in:
            out[-1] = ""
            out.extend(lines[i : close + 1])
        else:
            body = "\n".join(lines[i + 1 : close])
            if "{%" in body or "{{" in body or "{#" in body:
                out.append(lines[i] + "{% raw %}")
                out.extend(lines[i + 1 : close])
                out.append("{% endraw %}" + lines[close])
            else:
                out.extend(lines[i : close + 1])
        i = close + 1
    return "\n".join(out)


def _template_line(exc: BaseException) -> int | None:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def _reason(exc: BaseException) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return german_undefined(str(exc))
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"Vorlagen-Syntaxfehler: {german_syntax(exc.message or '')}"
    if isinstance(exc, PluginError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _front_matter_lines(page: Any, markdown: str) -> int:
    """Lines before the Markdown mkdocs passes on (the YAML front matter)."""
    try:
        with open(page.file.abs_src_path, encoding="utf-8-sig") as handle:
            source = handle.read()
    except (OSError, TypeError, AttributeError):
        return 0
    return source[: len(source) - len(markdown)].count("\n") if source.endswith(markdown) else 0


_OPTIONS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "is_async",
)  # fmt: skip


def _signature(env: jinja2.Environment) -> str:
    """What compiled code depends on besides the source: the environment's syntax and code options."""
    parts = [repr(getattr(env, name, None)) for name in _OPTIONS]
    parts += [repr(sorted(env.extensions)), getattr(env.finalize, "__qualname__", repr(env.finalize))]
    parts.append(getattr(env.autoescape, "__qualname__", repr(env.autoescape)))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@functools.cache
def _page_cache() -> jinja2.BytecodeCache | None:
    return bytecode_cache("seiten")


def _compile(env: jinja2.Environment, source: str, page: str) -> jinja2.Template:
    """`env.from_string(source)`, with the compiled code kept between builds and `mkdocs serve` reloads.

    The same steps as jinja2.loaders.BaseLoader.load with a bytecode cache: one bucket per page
    and environment signature (mkdocs.yml may change the delimiters); its checksum is the source's.
    """
    cache = _page_cache()
    if cache is None:
        return env.from_string(source)
    bucket = cache.get_bucket(env, f"{_signature(env)}:{page}", None, source)
    if bucket.code is None:
        bucket.code = env.compile(source)
        cache.set_bucket(bucket)
    return env.template_class.from_code(env, bucket.code, env.make_globals(None), None)


def _hint(line: str) -> str:
    """Advice for a failing line that holds another tool's `${{ … }}` syntax (GitHub Actions, …)."""
    if "${{" not in line:
        return ""
    return (
        "; `${{ … }}` gehört wohl zu GitHub Actions: in Codeblöcken bleibt es wörtlich, "
        "im Fließtext und in `Inline-Code` {% raw %}${{ … }}{% endraw %} schreiben"
    )


def render_page(env: Any) -> None:
    """on_pre_page_macros: render the page ourselves (code blocks literal), or fail with page:line."""
    page = env.page
    meta = dict(getattr(page, "meta", None) or {})
    if meta.get("render_macros") is False:
        return
    source = env.markdown
    template_text = protect_code_blocks(source)
    uri = page_uri(page) or "?"
    env.env.finalize = finalize  # read when a template compiles
    try:
        rendered = _compile(env.env, template_text, uri).render(**{**env.variables, **meta})
    except Exception as exc:
        line = _template_line(exc)
        where = f"docs/{uri}:{line + _front_matter_lines(page, source)}" if line else f"docs/{uri}"
        text = template_text.splitlines()[line - 1] if line and line <= template_text.count("\n") + 1 else ""
        raise PluginError(f"{where}: {_reason(exc)}{_hint(text)}") from None
    env.markdown = rendered
    page.meta["render_macros"] = False  # done: mkdocs-macros keeps the Markdown as it is


def error_page(message: str) -> str:
    """The page `mkdocs serve` shows while the matrix is broken: the German report with file:line."""
    ticks = "`" * max(3, max((len(r) for r in re.findall(r"`+", message)), default=0) + 1)
    return (
        "# Die Umgebungsmatrix ist ungültig\n\n"
        "Die Vorschau zeigt die Seiten wieder, sobald die Matrix gültig ist; nach dem Speichern\n"
        "der Korrektur lädt diese Seite von selbst neu.\n\n"
        f"{ticks}text\n{message}\n{ticks}\n"
    )


def serving() -> bool:
    """True inside `mkdocs serve` (macros/hooks.py records the command at startup)."""
    return os.environ.get(COMMAND_ENV) == "serve"


def finalize(value: Any) -> Any:
    """Jinja finalize of the pages: text and numbers only, never an object's repr, a bool or None."""
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float, jinja2.Undefined)):
        shown = "nichts (None)" if value is None else f"{type(value).__name__} ({str(value)[:60]})"
        raise PluginError(f"die Seite gibt {shown} aus statt eines Textes; gemeint ist wohl ein Feld davon")
    return value
