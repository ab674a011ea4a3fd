"""docs/stages/<id>.md: one page per stage, rendered from one template per runtime.

A new stage in the matrix gets its page (and, through the site's hook, its
nav entry) without a hand edit. The page is complete Markdown: it shows the
stage's facts, its generated files with download links, the deploy commands
and the checklist of cloud resources. It carries `render_macros: false`: its
text is already rendered (and deploy scripts contain `{#`, which Jinja would
read as a comment).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import jinja2

from ..facts import CloudStage, ComposeStage, Facts, Stage, relative_link
from ..facts.templates import bytecode_cache, prozent
from . import cloudrun_manifests, compose_file, deploy_scripts, diagrams, env_example
from .common import HEADER_TEXT, rendered

TITLE = "Stage-Seiten"
PAGES_DIR = "stages"  # below docs/
OUTPUTS = (f"docs/{PAGES_DIR}/*.md",)
DOWNLOADS = "downloads"  # the site publishes generated files under this folder
LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".sh": "bash", ".example": "bash", ".env": "bash", ".py": "python"}
APIS = (
    "run.googleapis.com",
    "sqladmin.googleapis.com",
    "vpcaccess.googleapis.com",
    "redis.googleapis.com",
    "artifactregistry.googleapis.com",
)

_TEMPLATES = Path(__file__).with_name("templates")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        bytecode_cache=bytecode_cache("stage-seiten"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["prozent"] = prozent
    return env


def page_path(stage: Stage) -> str:
    """Docs-relative path of a stage's page: stages/<id>.md."""
    return f"{PAGES_DIR}/{stage.id}.md"


def fence(text: str, language: str, title: str = "", block: str = "") -> str:
    """A fenced code block that survives backtick runs inside `text`; with `block`, an id and line
    numbers (pymdownx.highlight anchors line N as `__codelineno-<block>-N`)."""
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    if block:
        attrs = f'{{ .{language} #{block} linenums="1"' + (f' title="{title}"' if title else "") + " }"
        return f"{ticks}{attrs}\n{text.rstrip(chr(10))}\n{ticks}"
    attrs = f' title="{title}"' if title else ""
    return f"{ticks}{language}{attrs}\n{text.rstrip(chr(10))}\n{ticks}"


def block_id(path: str) -> str:
    """Id of a generated file's code block: `datei-cloudrun-staging-web-yaml`."""
    return "datei-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def zip_path(stage: Stage) -> str:
    """Where the site publishes a stage's generated files as one ZIP (docs-relative)."""
    return f"{DOWNLOADS}/{stage.id}-dateien.zip"


def zip_bytes(files: dict[str, str]) -> bytes:
    """A ZIP of `files` (repo path -> text), byte for byte reproducible: fixed timestamps, sorted."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    return buffer.getvalue()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


class Page:
    """Helpers the templates call; every link is relative to the stage's page."""

    def __init__(self, facts: Facts, stage: Stage, files: dict[str, str]):
        self.facts, self.stage, self.files = facts, stage, files
        self.path = page_path(stage)

    def link(self, seite: str, text: str) -> str:
        return f"[{text}]({relative_link(self.facts.matrix.seiten[seite], self.path)})"

    def download(self, path: str, text: str | None = None) -> str:
        target = relative_link(f"{DOWNLOADS}/{path}", self.path)
        name = Path(path).name
        return f'[{text or name}]({target}){{ download="{name}" }}'

    def compose(self, *args: str, v1: bool = False) -> str:
        """The compose command line of the compose stage (compose_file.cli)."""
        assert isinstance(self.stage, ComposeStage)
        return compose_file.cli(self.stage, *args, v1=v1)

    def file_block(self, path: str) -> str:
        """The file folded (collapsible, closed), with line numbers; line N is `#__codelineno-<id>-N`."""
        suffix = Path(path).suffix or Path(path).name
        text = self.files[path]
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        block = fence(text, LANGUAGES.get(suffix, "text"), path, block_id(path))
        body = "\n".join(("    " + line) if line else "" for line in block.split("\n"))
        return f'??? abstract "`{path}` – {lines} Zeilen"\n\n{body}'

    def line_link(self, path: str, number: int) -> str:
        """A link to line `number` of a generated file's block on this page (raw HTML: MkDocs cannot
        see ids inside highlighted code; tests/test_browser.py checks every such target exists)."""
        return f'<a href="#__codelineno-{block_id(path)}-{number}">Zeile {number}</a>'

    def zip_link(self) -> str:
        """Link to all generated files of the stage as one ZIP (repo paths kept: `.env.example` too)."""
        target = relative_link(zip_path(self.stage), self.path)
        name = Path(zip_path(self.stage)).name
        return f'[Alle Dateien als ZIP ({name})]({target}){{ download="{name}" }}'

    def variables_table(self) -> str:
        rows = ["| Variable | Wert | Dienste |", "| --- | --- | --- |"]
        readers: dict[str, list[str]] = {}
        services = self.stage_services()
        for name in self.facts.matrix.variablen:
            names = [s.name for s in services if s.reads(name)]
            if names:
                readers[name] = names
        for name, names in readers.items():
            variable = self.facts.matrix.variablen[name]
            value = "*geheim*" if variable.geheim else f"`{cell(self.stage.values[name])}`"
            rows.append(f"| `{name}` | {value} | {', '.join(names)} |")
        return "\n".join(rows)

    def stage_services(self) -> tuple[Any, ...]:
        if isinstance(self.stage, CloudStage):
            return self.stage.resources
        if isinstance(self.stage, ComposeStage):
            return self.stage.services
        return ()

    # --- cloud stages ---------------------------------------------------------------------------

    def services_table(self) -> str:
        stage = self.stage
        assert isinstance(stage, CloudStage)
        rows = [
            "| Dienst | Art | Instanzen | Ingress | CPU immer | Port | Manifest |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in stage.services:
            queues = " (" + ", ".join(f"`{q}`" for q in s.queues) + ")" if s.queues else ""
            name = f"`{s.name}`" + (" (optional)" if s.optional else "")
            manifest = cloudrun_manifests.manifest_path(stage, s)
            rows.append(
                f"| {name} | {s.display}{queues} | {s.min_instances}–{s.max_instances} | "
                f"`{s.ingress}` | {'ja' if s.background else 'nein'} | {s.container_port or '–'} | "
                f"{self.download(manifest, Path(manifest).name)} |"
            )
        for s in stage.jobs:
            manifest = cloudrun_manifests.manifest_path(stage, s)
            rows.append(
                f"| `{s.name}` (Job) | {s.display} | einmal je Deploy | – | – | – | "
                f"{self.download(manifest, Path(manifest).name)} |"
            )
        return "\n".join(rows)

    def diagram(self) -> str:
        """Mermaid diagram of this stage's services and how they connect."""
        return diagrams.services(self.facts, self.stage)

    def access_table(self) -> str:
        """Who may invoke each service and job (matrix `zugriff`), as a German table."""
        assert isinstance(self.stage, CloudStage)
        rows = ["| Dienst | Ingress | öffentlich | Aufrufer (`roles/run.invoker`) |", "| --- | --- | --- | --- |"]
        for s in self.stage.resources:
            access = s.access
            if not access.authenticated:
                public = "ja, dauerhaft"
            elif access.qa_window is not None:
                public = f"nur im QA-Fenster bis {access.qa_window.bis.strftime('%d.%m.%Y')}"
            else:
                public = "nein"
            callers = "<br>".join(f"{i.display}: `{i.member}`" for i in access.invokers) or "niemand"
            ingress = f"`{s.ingress}`" if s.ingress else "– (Job)"
            rows.append(f"| `{s.name}` | {ingress} | {public} | {cell(callers)} |")
        return "\n".join(rows)

    def deploy_commands(self) -> str:
        assert isinstance(self.stage, CloudStage)
        out = []
        for step in deploy_scripts.steps(self.stage):
            lines: list[str] = []
            for command in step.commands:
                lines += deploy_scripts.step_lines(command, "", deploy_scripts.expandable(self.stage))
            label = f"`{step.target}`" + (" (optional)" if step.optional else "")
            needs = ", ".join(f"`{n}`" for n in step.refs)
            out.append(f"**{label}** – braucht die CI-Variablen {needs}\n\n" + fence("\n".join(lines), "bash"))
        return "\n\n".join(out)

    def ci_variables(self) -> list[str]:
        assert isinstance(self.stage, CloudStage)
        return deploy_scripts.ci_variables(self.stage)

    def generated_files(self) -> list[str]:
        stage = self.stage
        if isinstance(stage, CloudStage):
            return [cloudrun_manifests.manifest_path(stage, s) for s in stage.resources] + [
                deploy_scripts.script_path(stage)
            ]
        return [compose_file.PATH, env_example.path(self.facts)]

    def checklist(self) -> str:
        items = []
        for title, name, command, expected in checklist(self.facts, self.stage):
            note = f" Erwartet: {expected}." if expected else ""
            block = "\n".join("    " + line for line in fence(command, "bash").split("\n"))
            items.append(f"- [ ] **{title}:** `{name}`.{note}\n\n{block}\n")
        return "\n".join(items)


def checklist(facts: Facts, stage: Stage) -> list[tuple[str, str, str, str]]:
    """Cloud resources a stage needs: (title, name, verifying gcloud command, expected output)."""
    if not isinstance(stage, CloudStage):
        return []
    gcp, netz = stage.gcp, stage.network
    p, r = f"--project {gcp.projekt}", f"--region {gcp.region}"
    apis = list(APIS) + (["secretmanager.googleapis.com"] if stage.secret_refs else [])
    registry = facts.platform.artefakte.registry
    host, reg_project, repository = (registry.split("/") + ["", ""])[:3]
    location = host.removesuffix("-docker.pkg.dev")
    sql_fields = (
        "settings.ipConfiguration.ipv4Enabled,settings.ipConfiguration.privateNetwork,"
        "settings.backupConfiguration.pointInTimeRecoveryEnabled"
    )
    private = not stage.public_cloudsql
    out = [
        ("GCP-Projekt", gcp.projekt, f"gcloud projects describe {gcp.projekt}", "lifecycleState: ACTIVE"),
        (
            "APIs aktiviert",
            ", ".join(apis),
            f'gcloud services list --enabled {p} --filter="config.name:({" ".join(apis)})"',
            f"{len(apis)} Zeilen",
        ),
        (
            "Artifact Registry (Images aller Stages)",
            registry,
            f"gcloud artifacts repositories describe {repository} --location {location} --project {reg_project}",
            "format: DOCKER",
        ),
        (
            "Cloud-SQL-Instanz (Postgres)",
            netz.cloudsql_instanz,
            f'gcloud sql instances describe {netz.cloudsql_instanz} {p} --format="value(databaseVersion,{sql_fields})"',
            f"POSTGRES_{facts.platform.postgres.version}; Public IP {'False' if private else 'True'}"
            + ("; privates Netz gesetzt" if private else "")
            + f"; PITR {'True' if stage.model.datenbank.pitr else 'False'}",
        ),
        (
            "Datenbank in der Instanz",
            facts.platform.postgres.datenbank,
            f"gcloud sql databases describe {facts.platform.postgres.datenbank} --instance {netz.cloudsql_instanz} {p}",
            "",
        ),
        (
            "Memorystore (Redis)",
            netz.memorystore_instanz,
            f'gcloud redis instances describe {netz.memorystore_instanz} {r} {p} --format="value(redisVersion,host,state)"',
            f"REDIS_{facts.platform.redis.version}_X, READY",
        ),
        (
            "Serverless-VPC-Access-Connector",
            netz.vpc_connector,
            f'gcloud compute networks vpc-access connectors describe {netz.vpc_connector} {r} {p} --format="value(state)"',
            "READY",
        ),
        (
            "Service Account der Dienste",
            stage.service_account,
            f"gcloud iam service-accounts describe {stage.service_account} {p}",
            "",
        ),
    ]
    for name, ref in stage.secret_refs.items():
        out.append(
            (
                f"Secret {name} (gepinnte Version {ref.version})",
                ref.secret_id,
                f'gcloud secrets versions describe {ref.version} --secret {ref.secret_id} {p} --format="value(state)"',
                "ENABLED",
            )
        )
    for s in stage.services:
        if s.ingress == "internal-and-cloud-load-balancing":
            out.append(
                (
                    f"HTTPS-Load-Balancer vor {s.name} (serverlose NEG)",
                    s.name,
                    f'gcloud compute network-endpoint-groups list {p} --filter="cloudRun.service={s.name}"',
                    "eine NEG in " + gcp.region,
                )
            )
    return out


def render_page(facts: Facts, stage: Stage, files: dict[str, str]) -> str:
    template = "stage_cloudrun.md.j2" if isinstance(stage, CloudStage) else "stage_compose.md.j2"
    page = Page(facts, stage, files)
    front = "---\n" + "".join(f"# {line}\n" for line in HEADER_TEXT) + "render_macros: false\n---\n"
    body = (
        _environment()
        .get_template(template)
        .render(s=stage, m=stage.model, facts=facts, page=page, plattform=facts.platform)
    )
    return front + body.rstrip("\n") + "\n"


def render(facts: Facts) -> dict[str, str]:
    files: dict[str, str] = {}
    for artifact in (compose_file, env_example, cloudrun_manifests, deploy_scripts):
        files.update(rendered(facts, artifact))
    return {f"docs/{page_path(stage)}": render_page(facts, stage, files) for stage in facts.stages}
