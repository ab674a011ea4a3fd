"""Runtime settings read from the environment, with names from the matrix."""

from __future__ import annotations

import os
from pathlib import Path

from . import fakten

# Optional override of where the schema file lives (the Docker image copies it).
SCHEMA_FILE_ENV = "PLATTFORM_SCHEMA_SQL"


class SettingsError(Exception):
    """A required setting is missing or malformed; message in German."""


def require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"Umgebungsvariable {name} fehlt")
    return value


def database_url() -> str:
    return require(fakten.DATABASE_URL_ENV)


def redis_url() -> str:
    return require(fakten.REDIS_URL_ENV)


def auto_migrate() -> bool:
    value = os.environ.get(fakten.AUTO_MIGRATE_ENV, "false").strip().lower()
    if value not in ("true", "false"):
        raise SettingsError(f"{fakten.AUTO_MIGRATE_ENV} muss true oder false sein, ist „{value}“")
    return value == "true"


def web_port(default: int = fakten.WEB_PORT) -> int:
    """PORT (set by Cloud Run and the stack checks) or the matrix port."""
    value = os.environ.get("PORT", str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(f"PORT muss eine Portnummer sein, ist „{value}“")
    return int(value)


def schema_file() -> Path:
    return Path(os.environ.get(SCHEMA_FILE_ENV) or fakten.SCHEMA_FILE)
