"""What a real secret looks like: well-known token shapes and high-entropy strings.

Used by the matrix rules (a `beispiel` hint must be visibly a placeholder) and
by the secret scan of docs sources, generated files and the built site.
Shapes follow the vendors' documented formats (OpenAI/LiteLLM `sk-`,
Langfuse `pk-lf-`/`sk-lf-`, GitHub `ghp_`/`github_pat_`, AWS `AKIA`, Google
API keys `AIza`, Slack `xox?-`, PEM private keys); entropy is Shannon entropy
in bits per character over runs of token characters.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Each shape starts with its literal (the regex engine then skips ahead to it: ~25x faster than a
# leading \b); "must start a word" is checked in find() instead (WORD_START).
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("privater Schlüssel (PEM)", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("GitHub-Token", re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}")),
    ("AWS-Zugangsschlüssel", re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google-API-Schlüssel", re.compile(r"AIza[0-9A-Za-z_-]{35}\b")),
    ("Slack-Token", re.compile(r"xox[abposr]-[0-9A-Za-z-]{10,}")),
    ("Langfuse-Schlüssel", re.compile(r"(?:pk|sk)-lf-[0-9a-fA-F-]{8,}")),
    ("API-Schlüssel (sk-)", re.compile(r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    # scheme://user:password@ — matched from "://"; the scheme is checked by looking back
    ("Passwort in einer URL", re.compile(r"(?<=[a-z0-9+.-])://[^/\s:@<>{}$]+:(?!<)([^@\s/<>{}$]{6,})@")),
)
WORD_START = {kind for kind, _pattern in SHAPES if kind not in ("privater Schlüssel (PEM)", "Passwort in einer URL")}
_WORD = re.compile(r"\w")
_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
MIN_ENTROPY = 4.3  # bits per character: random base64 ~6, hex ~4, words and identifiers below 4


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(token: str) -> bool:
    """A long run of mixed letters and digits with high entropy (not a path, a word or a hex hash)."""
    classes = sum(bool(re.search(p, token)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes == 3 and entropy(token) >= MIN_ENTROPY and not re.fullmatch(r"[0-9a-f]+", token)


@dataclass(frozen=True)
class Hit:
    kind: str  # German name of the shape
    line: int  # 1-based
    column: int  # 1-based


def find(text: str) -> list[Hit]:
    """Every place in `text` that looks like a real secret (never the value itself)."""
    hits: list[Hit] = []
    spans: list[tuple[int, int]] = []
    for kind, pattern in SHAPES:
        for match in pattern.finditer(text):
            start = match.start()
            if kind in WORD_START and start and _WORD.match(text, start - 1):
                continue  # inside a word (what \b excluded)
            if kind == "Passwort in einer URL":
                start = _scheme_start(text, start)
            hits.append(_hit(text, kind, start))
            spans.append((start, match.end()))
    for match in _TOKEN.finditer(text):
        inside = any(a < match.end() and match.start() < b for a, b in spans)  # already named by its shape
        if not inside and _random_looking(match.group()):
            hits.append(_hit(text, "zufällig wirkende Zeichenkette (hohe Entropie)", match.start()))
    return sorted(set(hits), key=lambda h: (h.line, h.column))


def _scheme_start(text: str, colon: int) -> int:
    """Offset of the URL scheme that ends at `colon` (letters, digits, + . - back to a letter)."""
    start = colon
    while start and (text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] in "+.-")):
        start -= 1
    while start < colon and not text[start].isalpha():
        start += 1
    return start


def looks_secret(text: str) -> str | None:
    """German name of the first secret shape in `text`, or None."""
    hits = find(text)
    return hits[0].kind if hits else None


def _hit(text: str, kind: str, offset: int) -> Hit:
    line = text.count("\n", 0, offset) + 1
    return Hit(kind, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)
