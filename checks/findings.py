"""A finding: one broken rule, in German, pointing at what to change.

`where` is the place to change: the matrix line (`matrix/umgebungen.yaml:LINE:COL`)
when a matrix value causes the finding, else the file and line of the
checked file. `context` names the generated file and line the finding was
seen in, when that is not already `where`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    where: str = ""
    doc: str = ""  # docs page (and anchor) that explains the rule, relative to docs/
    context: str = ""  # generated file:line the finding was seen in (when `where` is the matrix)

    def format(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        seen = f" (in {self.context})" if self.context else ""
        see = f" (siehe docs/{self.doc})" if self.doc else ""
        return f"{prefix}[{self.rule}] {self.message}{seen}{see}"
