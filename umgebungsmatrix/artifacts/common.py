"""What every generated file shares: the header that marks it as generated."""

from __future__ import annotations

from types import ModuleType

from ..facts import Facts
from ..paths import MATRIX_FILE, ROOT

MATRIX_REL = MATRIX_FILE.relative_to(ROOT).as_posix()
# Every generated file carries this mark; `generate` deletes and `check` reports files with it
# that the matrix no longer produces (orphans, e.g. after removing a stage).
GENERATED_MARK = f"ERZEUGT aus {MATRIX_REL}"
HEADER_TEXT = (f"{GENERATED_MARK} – nicht von Hand bearbeiten.", "Ändern: Matrix anpassen, dann `make generate`.")


def header(comment: str = "#", extra: tuple[str, ...] = ()) -> str:
    """The header as comment lines (`#` for YAML and shell), one line per entry of HEADER_TEXT + extra."""
    return "".join(f"{comment} {line}\n" if line else f"{comment}\n" for line in (*HEADER_TEXT, *extra))


def rendered(facts: Facts, artifact: ModuleType) -> dict[str, str]:
    """`artifact.render(facts)`, computed once per facts object (other artifacts embed its files)."""
    key = artifact.__name__
    if key not in facts.memo:
        facts.memo[key] = artifact.render(facts)
    out: dict[str, str] = facts.memo[key]
    return out
