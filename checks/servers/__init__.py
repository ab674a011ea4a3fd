"""Local servers for the checks: process supervision and PostgreSQL 16 + pgvector (embedded, throw-away)."""
