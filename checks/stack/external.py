"""External provider: a stack someone else runs, reached via DATABASE_URL/REDIS_URL.

Read-only by design: it never migrates (outside Dev lokal migrations run
only as the migration job of the runbook) and refuses when asked to. Checks
that need a freshly started or local stack report themselves as skipped.
"""

from __future__ import annotations

import os

from .provider import Provider, Refused, StackEndpoints, StackError


class ExternalProvider(Provider):
    name = "external"

    def __init__(self, plan, progress, migrate: bool = False, schema=None, **_options):
        super().__init__(plan, progress)
        self.migrate = migrate
        self.schema = schema
        self.timings: dict[str, float] = {}

    def start(self) -> StackEndpoints:
        auto_env = self.plan.migrations_env or ""
        if self.migrate or self.schema is not None or (auto_env and os.environ.get(auto_env, "").lower() == "true"):
            asked = "--migrieren" if self.migrate else "--schema" if self.schema is not None else f"{auto_env}=true"
            raise Refused(
                f"Provider external ist nur lesend und migriert nie ({asked} verlangt eine Migration). "
                "Außerhalb von Dev lokal läuft die Migration nur als Migrations-Job "
                "(siehe docs/runbooks/migrations.md)."
            )
        urls = {}
        for env in (self.plan.database_url_env, self.plan.redis_url_env):
            value = os.environ.get(env, "").strip()
            if not value:
                raise StackError(
                    f"Umgebungsvariable {env} fehlt: Provider external liest die Verbindungen aus der Umgebung"
                )
            urls[env] = value
        self.progress("Externer Stack: nur lesende Prüfungen, keine Migration, keine Proben in Queues.")
        return StackEndpoints(
            provider=self.name,
            stage=self.plan.stage.id,
            database_url=urls[self.plan.database_url_env],
            redis_url=urls[self.plan.redis_url_env],
            web_url=None,
            health_path=None,
            workers=(),
            schema_file=None,
            local=False,
            fresh=False,
            timings=self.timings,
        )

    def stop(self) -> None:
        from . import clients

        clients.close_clients()
