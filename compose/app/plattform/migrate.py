"""`plattform-migrate`: apply the RAG schema file (docs/rag/schema.sql).

The file is idempotent by contract (see its header), so every start applies
it again, in ONE transaction (like `psql --single-transaction -v
ON_ERROR_STOP=1 -f`), guarded by an advisory lock so two starting
containers cannot migrate at the same time.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import psycopg

from . import fakten, settings

LOCK_KEY = 0x706C6174  # any constant bigint ("plat"); serialises concurrent migrations


class MigrationError(Exception):
    """Migration failed; message in German."""


def apply(database_url: str, schema: Path, log=print) -> str:
    """Apply `schema` in one transaction; return the file's SHA-256."""
    try:
        sql = schema.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationError(f"Schema-Datei {schema} nicht lesbar: {exc.strerror}") from None
    digest = hashlib.sha256(sql.encode("utf-8")).hexdigest()
    try:
        with psycopg.connect(database_url) as conn:  # one transaction, committed on exit
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute(sql)  # no parameters: sent as one multi-statement query
    except psycopg.Error as exc:
        raise MigrationError(f"{schema}: {str(exc).strip()}") from None
    log(f"Migration: {schema} angewendet (sha256 {digest[:12]}).")
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="plattform-migrate", description="RAG-Schema anwenden (idempotent, eine Transaktion)"
    )
    parser.add_argument(
        "--schema",
        type=Path,
        default=None,
        help=f"Schema-Datei (Standard: ${settings.SCHEMA_FILE_ENV} oder {fakten.SCHEMA_FILE})",
    )
    args = parser.parse_args(argv)
    try:
        apply(settings.database_url(), args.schema or settings.schema_file(), log=lambda m: print(m, file=sys.stderr))
    except (settings.SettingsError, MigrationError) as exc:
        print(f"✗ Migration fehlgeschlagen: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
