"""compose/app/plattform/fakten.py: the matrix facts the reference app needs.

The app runs inside Docker images without the matrix, so the few facts it
needs (web port, health paths, env names, schema file) are rendered into a
small Python module; `make check` keeps it in sync with the matrix.
"""

from __future__ import annotations

from ..facts import Facts
from ..paths import DOCS_DIR, ROOT
from .common import GENERATED_MARK

TITLE = "Fakten der Referenz-App (compose/app)"
PATH = "compose/app/plattform/fakten.py"
OUTPUTS = (PATH,)


def schema_file(facts: Facts) -> str:
    """Repo-relative path of the RAG schema file (matrix page `schema`)."""
    return (DOCS_DIR / facts.matrix.seiten["schema"]).relative_to(ROOT).as_posix()


def values(facts: Facts) -> dict[str, object]:
    _art, web = facts.entry_kind
    health = facts.platform.health_endpunkt
    return {
        "WEB_PORT": web.port,
        "HEALTH_PATH": web.health_pfad,
        "HEALTH_WRAPPER_PORT": health.port,
        "HEALTH_WRAPPER_PATH": health.pfad,
        "DATABASE_URL_ENV": facts.platform.postgres.url_env,
        "REDIS_URL_ENV": facts.platform.redis.url_env,
        "DEFAULT_QUEUE": facts.default_queue,
        "AUTO_MIGRATE_ENV": web.migrations_env,
        "SCHEMA_FILE": schema_file(facts),
    }


def render(facts: Facts) -> dict[str, str]:
    head = f'"""Facts of the matrix for the reference app.\n\n{GENERATED_MARK} (make generate) – do not edit.\n"""\n'
    lines = [head, *(f"{name} = {value!r}" for name, value in values(facts).items())]
    return {PATH: "\n".join(lines) + "\n"}
