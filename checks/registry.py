"""Registry of generated artifacts and static checks.

- An *artifact provider* renders files from the matrix: it returns a mapping
  of repo-relative path -> text. `make generate` writes them, `make check`
  compares them with what is committed.
- A *check* inspects the matrix (and the rendered artifacts) and returns a
  list of Findings; any finding fails `make check` with exit 1.

Providers and checks register with the decorators below; the modules that
define them are listed in MODULES so the CLI can import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from macros.model import Matrix

Artifacts = Mapping[str, str]
ArtifactProvider = Callable[[Matrix], Artifacts]


@dataclass(frozen=True)
class Finding:
    """A broken rule. German message; `where` is 'file:line' or a path."""

    rule: str
    message: str
    where: str = ""
    doc: str = ""  # docs page that explains the rule, relative to docs/

    def format(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        see = f" (siehe docs/{self.doc})" if self.doc else ""
        return f"{prefix}[{self.rule}] {self.message}{see}"


CheckFn = Callable[[Matrix, Artifacts], list[Finding]]

PROVIDERS: list[tuple[str, ArtifactProvider]] = []
CHECKS: list[tuple[str, CheckFn]] = []

# Modules that register providers and checks when imported.
MODULES: list[str] = [
    "checks.schema_artifact",
    "checks.compose_artifact",
    "checks.compose_schema",
    "checks.compose_rules",
    "checks.schema_sql.register",
    "checks.stack.app_facts",
    "checks.stack.command",
    "checks.cloudrun",
    "checks.cloudrun_guardrails",
    "checks.secret_scan",
    "dockerstack.override",
]


def artifact_provider(name: str) -> Callable[[ArtifactProvider], ArtifactProvider]:
    def wrap(fn: ArtifactProvider) -> ArtifactProvider:
        PROVIDERS.append((name, fn))
        return fn

    return wrap


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    def wrap(fn: CheckFn) -> CheckFn:
        CHECKS.append((name, fn))
        return fn

    return wrap


def load_modules() -> None:
    import importlib

    for module in MODULES:
        importlib.import_module(module)


def render_all(matrix: Matrix) -> dict[str, str]:
    load_modules()
    out: dict[str, str] = {}
    for name, provider in PROVIDERS:
        for path, text in provider(matrix).items():
            if path in out:
                raise RuntimeError(f"{path} wird von zwei Generatoren erzeugt (zuletzt {name})")
            out[path] = text
    return out


def run_checks(matrix: Matrix, artifacts: Artifacts) -> list[tuple[str, list[Finding]]]:
    load_modules()
    return [(name, fn(matrix, artifacts)) for name, fn in CHECKS]
