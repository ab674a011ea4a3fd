"""Resolve a valid matrix into facts, once per stage. Every derived value is computed here.

`build(source)` raises MatrixError (exit 2) with located problems when a
template of the matrix does not render; all other rules ran before in
`umgebungsmatrix.matrix.rules`, so the derivations below can rely on them.

Conventions (not facts) live here and are documented on docs/stages/:
- the Secret Manager id of a variable is its name in lower-kebab-case,
- the canary revision of a service is named `<service>-${REVISION_NEU}`;
  deploy.sh derives the suffix from the image tag at run time
  (umgebungsmatrix.artifacts.revisions: any legal Docker tag gives a valid name).
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import replace
from typing import Any

from ..matrix import Source
from ..matrix import model as m
from ..matrix.yamlload import Problem
from ..secretshapes import looks_secret
from .literals import fact_literals, typed_facts
from .model import (
    Access,
    CloudService,
    CloudStage,
    ComposeService,
    ComposeStage,
    EnvEntry,
    Facts,
    Invoker,
    SecretRef,
    Service,
    Stage,
)
from .templates import TABLE_PAGE, Context, TemplateProblem, TemplateService

Entry = tuple[str, m.Dienst, str, tuple]  # (name, service, "dienste"|"jobs", matrix path)


REVISION_SUFFIX = "REVISION_NEU"  # set by deploy.sh's render() from the image tag
STABLE_REVISION_SUFFIX = "REVISION_STABIL"  # set by deploy.sh's render() from the stable tag


def secret_id(variable: str) -> str:
    """Secret Manager id of a variable: DATABASE_URL -> database-url."""
    return variable.lower().replace("_", "-")


def build(source: Source) -> Facts:
    """All stages resolved; MatrixError with located problems if a template fails."""
    builder = _Builder(source)
    stages = [builder.stage(i, stage) for i, stage in enumerate(source.matrix.stages)]
    if builder.problems:
        raise source.error(builder.problems)
    compose = next(s for s in stages if isinstance(s, ComposeStage))
    cloud = tuple(s for s in stages if isinstance(s, CloudStage))
    return Facts(source=source, matrix=source.matrix, stages=tuple(stages), compose_stage=compose, cloud_stages=cloud)


class _Builder:
    def __init__(self, source: Source):
        self.source = source
        self.matrix = source.matrix
        self.problems: list[Problem] = []

    def stage(self, index: int, st: m.Stage) -> Stage:
        """Services first (without env), then the templates that may read them, then the env."""
        entries = [
            (name, dienst, group, ("stages", index, group, name))
            for group in ("dienste", "jobs")
            for name, dienst in getattr(st, group).items()
        ]
        common: dict[str, Any] = dict(
            index=index,
            id=st.id,
            name=st.name,
            runtime=st.laufzeit,
            production=st.produktion,
            empty_start=st.leerer_start,
            model=st,
            values={},
            secret_variables=(),
        )
        stage: Stage
        if st.laufzeit == "compose":
            stage = self._compose_stage(index, st, entries, common)
        else:
            stage = self._cloud_stage(st, entries, common)
        context = stage_context(self.matrix, stage)
        kinds = {s.kind for s in stage_resources(stage, profiles=True)}
        values = self._values(st, context, kinds)
        self._cells(index, st, context)
        secrets = tuple(n for n, v in self.matrix.variablen.items() if v.geheim and kinds & set(v.dienste))
        updates: dict[str, Any] = dict(values=values, secret_variables=secrets)
        if isinstance(stage, ComposeStage):
            updates["services"] = tuple(replace(s, env=self._env(s.kind, values)) for s in stage.services)
            updates["examples"] = self._examples(st, context, secrets)
        elif isinstance(stage, CloudStage):
            updates["services"] = tuple(replace(s, env=self._env(s.kind, values)) for s in stage.services)
            updates["jobs"] = tuple(replace(s, env=self._env(s.kind, values)) for s in stage.jobs)
            updates["secret_refs"] = self._secret_refs(st, secrets)
        return replace(stage, **updates)

    # --- templates -------------------------------------------------------------------------------

    def _values(self, st: m.Stage, context: Context, kinds: set[str]) -> dict[str, str]:
        """Rendered values of the non-secret variables some service of the stage reads."""
        values = {}
        for name, variable in self.matrix.variablen.items():
            if variable.geheim or variable.wert is None or not kinds & set(variable.dienste):
                continue
            try:
                values[name] = context.render(variable.wert)
            except TemplateProblem as exc:
                self.problems.append(Problem(("variablen", name, "wert"), f"{exc} (Stage {st.id})"))
        return values

    def _cells(self, index: int, st: m.Stage, context: Context) -> None:
        """Each cell renders, and types no fact the matrix holds: a cell and a detail page then state
        the same value, because both render it from the matrix (literals.py)."""
        literals = self.literals
        for column, template in st.zellen.items():
            where = ("stages", index, "zellen", column)
            try:
                context.render(template)
            except TemplateProblem as exc:
                self.problems.append(Problem(where, str(exc)))
            typed = typed_facts(template, literals)
            if typed:
                shown = ", ".join(f"„{t}“" for t in typed)
                self.problems.append(
                    Problem(
                        where,
                        f"die Zelle nennt {shown} wörtlich: aus der Matrix rendern ({{{{ … }}}}), "
                        "sonst laufen Zelle und Detailseiten auseinander",
                    )
                )

    @functools.cached_property
    def literals(self) -> set[str]:
        """The matrix's distinctive fact values, once per build (literals.py)."""
        return fact_literals(self.matrix)

    def _examples(self, st: m.Stage, context: Context, names: tuple[str, ...]) -> dict[str, str]:
        """Rendered `beispiel` hints of the secrets the compose stage reads (.env.example)."""
        out = {}
        for name in names:
            template = self.matrix.variablen[name].beispiel
            if template is None:
                continue
            try:
                out[name] = context.render(template)
            except TemplateProblem as exc:
                self.problems.append(Problem(("variablen", name, "beispiel"), f"{exc} (Stage {st.id})"))
                continue
            kind = looks_secret(out[name])
            if kind:
                self.problems.append(
                    Problem(
                        ("variablen", name, "beispiel"),
                        f"„beispiel“ sieht wie ein echtes "
                        f"Geheimnis aus ({kind}); Platzhalter in spitzen Klammern schreiben, "
                        "z. B. <passwort>",
                    )
                )
        return out

    # --- shared service facts --------------------------------------------------------------------

    def _limits(self, st: m.Stage, dienst: m.Dienst) -> tuple[int, int]:
        """Effective (min, max) instances: the service's value, else the stage default (scheduler: max 1)."""
        if st.skalierung is None:
            return 0, 1
        role = self.matrix.dienstarten[dienst.art].rolle
        hi = dienst.max if dienst.max is not None else (1 if role == "scheduler" else st.skalierung.max)
        lo = dienst.min if dienst.min is not None else min(st.skalierung.min, hi)
        return lo, hi

    def _port(self, kind: m.Dienstart) -> int | None:
        if kind.rolle == "postgres":
            return self.matrix.plattform.postgres.port
        if kind.rolle == "redis":
            return self.matrix.plattform.redis.port
        return kind.port

    def _image(self, kind: m.Dienstart) -> str | None:
        """Third-party image, or the versioned platform image for Postgres/Redis; None for own artifacts."""
        plattform = self.matrix.plattform
        if kind.rolle == "postgres":
            return plattform.postgres.image.format(version=plattform.postgres.version)
        if kind.rolle == "redis":
            return plattform.redis.image.format(version=plattform.redis.version)
        return kind.image

    def _command(self, kind: m.Dienstart, queues: tuple[str, ...]) -> tuple[str, ...]:
        """dienstarten.<kind>.befehl with {queues} and {parallelitaet} filled in: the one expansion."""
        values = {"queues": ",".join(queues), "parallelitaet": str(kind.parallelitaet)}
        return tuple(part.format_map(values) for part in kind.befehl or ())

    def _env(self, art: str, values: dict[str, str]) -> tuple[EnvEntry, ...]:
        return tuple(
            EnvEntry(name=name, secret=v.geheim, value=values.get(name), description=v.beschreibung)
            for name, v in self.matrix.variablen.items()
            if art in v.dienste
        )

    def _secret_refs(self, st: m.Stage, names: tuple[str, ...]) -> dict[str, SecretRef]:
        if not isinstance(st.secrets, m.SecretsManager):
            return {}
        return {n: SecretRef(secret_id=secret_id(n), version=st.secrets.versionen[n]) for n in names}

    def _service(self, name: str, dienst: m.Dienst, group: str, origin: tuple) -> dict[str, Any]:
        """Fields every Service has (env comes after the templates)."""
        kind = self.matrix.dienstarten[dienst.art]
        roles = tuple(dienst.queues or ())
        queues = tuple(self.matrix.plattform.queues[r].name for r in roles)
        return dict(
            name=name,
            kind=dienst.art,
            role=kind.rolle,
            display=kind.anzeige,
            optional=dienst.optional,
            is_job=group == "jobs",
            entry=kind.einstieg,
            queue_roles=roles,
            queues=queues,
            port=self._port(kind),
            health_path=kind.health_pfad,
            command=self._command(kind, queues),
            artifact=kind.artefakt,
            image=self._image(kind),
            database_env=kind.datenbank_env,
            migrations_env=kind.migrations_env,
            env=(),
            origin=origin,
        )

    # --- compose ---------------------------------------------------------------------------------

    def _compose_stage(self, index: int, st: m.Stage, entries: list[Entry], common: dict[str, Any]) -> ComposeStage:
        compose = st.compose
        assert compose is not None and isinstance(st.secrets, m.SecretsEnvDatei)
        pg = self.matrix.plattform.postgres
        services: list[dict[str, Any]] = []
        for name, dienst, group, origin in entries:
            base = self._service(name, dienst, group, origin)
            is_pg = base["role"] == "postgres"
            services.append(
                dict(
                    base,
                    profile=None,
                    db_user=pg.benutzer if is_pg else None,
                    db_name=pg.datenbank if is_pg else None,
                    volume=compose.postgres_volume if is_pg else None,
                    published_port=base["port"],
                )
            )
        server = database = None
        if st.langfuse.modus == "optional":
            lf = compose.langfuse
            pg_kind = next(a for a, k in self.matrix.dienstarten.items() if k.rolle == "postgres")
            origin = ("stages", index, "compose", "langfuse")
            database, server = lf.datenbank_dienst, lf.dienstart
            label = self.matrix.dienstarten[lf.dienstart].anzeige
            db = self._service(database, m.Dienst(art=pg_kind), "dienste", origin)
            services.append(
                dict(
                    db,
                    display=f"{label}-Datenbank",
                    profile=lf.profil,
                    db_user=lf.benutzer,
                    db_name=lf.datenbank,
                    volume=lf.volume,
                    published_port=None,
                )
            )
            srv = self._service(server, m.Dienst(art=lf.dienstart), "dienste", origin)
            services.append(
                dict(srv, profile=lf.profil, db_user=None, db_name=None, volume=None, published_port=srv["port"])
            )
        self._published_ports_unique(services, compose.lokale_adresse)
        by_kind: dict[str, list[str]] = {}
        for s in services:
            if s["profile"] is None:
                by_kind.setdefault(s["kind"], []).append(s["name"])
        resolved = []
        for s in services:
            after: tuple[str, ...] = ()
            if s["name"] == server and database:
                after = (database,)
            elif s["profile"] is None:
                kind = self.matrix.dienstarten[s["kind"]]
                after = tuple(n for k in kind.startet_nach for n in by_kind.get(k, ()) if n != s["name"])
            resolved.append(ComposeService(**s, starts_after=after))
        return ComposeStage(
            **common,
            services=tuple(resolved),
            compose=compose,
            env_file=posixpath.normpath(st.secrets.datei),
            examples={},
            langfuse_server=server,
            langfuse_database=database,
        )

    def _published_ports_unique(self, services: list[dict[str, Any]], address: str) -> None:
        """Compose publishes each service's port on the same address: two services (also of a profile,
        which may run together) on one host port make `compose up` fail (port is already allocated)."""
        owner: dict[int, str] = {}
        for s in services:
            port = s["published_port"]
            if port is None:
                continue
            if port in owner:
                self.problems.append(
                    Problem(
                        s["origin"],
                        f"„{s['name']}“ veröffentlicht Host-Port {address}:{port}, den schon „{owner[port]}“ "
                        "veröffentlicht; Compose kann nicht beide starten – Port der Dienstart ändern",
                    )
                )
            else:
                owner[port] = s["name"]

    # --- cloud run -------------------------------------------------------------------------------

    def _access(self, st: m.Stage, name: str, account: str, origin: tuple) -> Access:
        """The matrix's `zugriff` entry of a service, member keywords expanded (validate checked them):
        dienstkonto -> the stage's runtime service account; iap -> the project's IAP service agent
        (https://cloud.google.com/iap/docs/enabling-cloud-run: service-NUMBER@gcp-sa-iap…)."""
        entry = st.zugriff.get(name)
        stage_path = origin[:2] + ("zugriff",)
        if entry is None:
            return Access(authenticated=True, invokers=(), qa_window=None, origin=stage_path)
        assert st.gcp is not None
        expanded = {
            "dienstkonto": f"serviceAccount:{account}",
            "iap": f"serviceAccount:service-{st.gcp.projektnummer}@gcp-sa-iap.iam.gserviceaccount.com",
        }
        invokers = tuple(
            Invoker(member=expanded.get(a.mitglied, a.mitglied), display=a.anzeige) for a in entry.aufrufer
        )
        return Access(
            authenticated=entry.authentifizierung,
            invokers=invokers,
            qa_window=entry.qa_fenster,
            origin=stage_path + (name,),
        )

    def _cloud_stage(self, st: m.Stage, entries: list[Entry], common: dict[str, Any]) -> CloudStage:
        assert st.gcp is not None and st.skalierung is not None and isinstance(st.netz, m.NetzCloud)
        assert not isinstance(st.secrets, m.SecretsEnvDatei)
        plattform = self.matrix.plattform
        tag = plattform.artefakte.tag_variable
        health = plattform.health_endpunkt
        services: list[CloudService] = []
        jobs: list[CloudService] = []
        account = f"{st.gcp.dienstkonto}@{st.gcp.projekt}.iam.gserviceaccount.com"
        for name, dienst, group, origin in entries:
            base = self._service(name, dienst, group, origin)
            kind = self.matrix.dienstarten[dienst.art]
            is_job = group == "jobs"
            background = kind.rolle in m.BACKGROUND_ROLES
            lo, hi = self._limits(st, dienst)
            canary = st.canary is not None and kind.rolle == "http" and not is_job
            port: int | None
            if is_job:
                port, probe, ingress = None, None, None
            elif background:
                port, probe, ingress = health.port, health.pfad, st.netz.ingress
            else:
                port, probe = kind.port, kind.health_pfad
                ingress = st.netz.web_ingress if kind.einstieg and st.netz.web_ingress else st.netz.ingress
            command = base["command"]
            service = CloudService(
                **base,
                starts_after=(),
                min_instances=0 if is_job else lo,
                max_instances=1 if is_job else hi,
                ingress=ingress,
                image_ref=f"{plattform.artefakte.registry}/{kind.artefakt}:${{{tag}}}"
                if kind.artefakt
                else base["image"],
                cloud_command=(*health.befehl, *command) if background and command else command,
                container_port=port,
                probe_path=probe,
                canary=canary,
                revision_name=f"{name}-${{{REVISION_SUFFIX}}}" if canary else None,
                stable_revision_name=f"{name}-${{{STABLE_REVISION_SUFFIX}}}" if canary else None,
                access=self._access(st, name, account, origin),
            )
            (jobs if is_job else services).append(service)
        gcp, netz = st.gcp, st.netz
        return CloudStage(
            **common,
            services=tuple(services),
            jobs=tuple(jobs),
            gcp=gcp,
            network=netz,
            scaling=st.skalierung,
            canary=st.canary,
            secret_source=st.secrets.quelle,
            secret_refs={},
            service_account=account,
            cloudsql_connection=(
                f"{gcp.projekt}:{gcp.region}:{netz.cloudsql_instanz}" if netz.cloudsql_ip == "public" else None
            ),
            tag_variables=(tag, *([st.canary.stabil_tag_variable] if st.canary else [])),
            revision_variables=((REVISION_SUFFIX, tag), (STABLE_REVISION_SUFFIX, st.canary.stabil_tag_variable))
            if st.canary
            else (),
        )


# --- reading the facts -----------------------------------------------------------------------------


def stage_resources(stage: Stage, profiles: bool = False) -> tuple[Service, ...]:
    """Services and jobs of a stage (compose: without the profile services unless asked)."""
    if isinstance(stage, CloudStage):
        return stage.services + stage.jobs
    if isinstance(stage, ComposeStage):
        return tuple(s for s in stage.services if profiles or s.profile is None)
    return ()


def template_service(service: Service) -> TemplateService:
    """A resolved service as templates see it (the matrix's field names)."""
    lo, hi = (service.min_instances, service.max_instances) if isinstance(service, CloudService) else (0, 1)
    return TemplateService(
        name=service.name,
        art=service.kind,
        rolle=service.role,
        anzeige=service.display,
        optional=service.optional,
        min=lo,
        max=hi,
        queues=service.queues,
        port=service.port,
        health_pfad=service.health_path,
        datenbank_env=service.database_env,
        image=service.image,
        artefakt=service.artifact,
        job=service.is_job,
    )


def stage_context(matrix: m.Matrix, stage: Stage, page: str = TABLE_PAGE) -> Context:
    return Context(matrix, stage.model, [template_service(s) for s in stage_resources(stage)], page)


def cell_parts(facts: Facts, stage: Stage, column_id: str, page: str = TABLE_PAGE) -> tuple[str, str]:
    """(body, suffix) of one table cell: the rendered template, and the empty-start sentence
    (plattform.leerer_start_text) when the column and the stage have it, else ''."""
    column = next(c for c in facts.matrix.spalten if c.id == column_id)
    if column.stagename:
        return stage.name, ""
    key = (stage.id, column_id, page)
    body = facts.cache.get(key)
    if body is None:
        body = stage_context(facts.matrix, stage, page).render(stage.model.zellen[column_id])
        facts.cache[key] = body
    suffix = facts.matrix.plattform.leerer_start_text if column.leerer_start and stage.empty_start else ""
    return body, suffix


def cell(facts: Facts, stage: Stage, column_id: str, page: str = TABLE_PAGE) -> str:
    """The rendered text of one table cell as seen from docs-relative `page` (cached per page)."""
    body, suffix = cell_parts(facts, stage, column_id, page)
    return f"{body} {suffix}" if suffix else body


def render(facts: Facts, stage: Stage | None, template: str, page: str = TABLE_PAGE) -> str:
    """Render a matrix template in a stage's context (or the platform's); TemplateProblem on failure."""
    if stage is None:
        return Context(facts.matrix, None, (), page).render(template)
    return stage_context(facts.matrix, stage, page).render(template)
