"""The CI deploy scripts: cloudrun/<stage>/deploy.sh.

Stages whose config comes from CI variables (Staging) deploy with
`gcloud run deploy … --set-env-vars`, one flag per manifest setting. That flag
REPLACES every variable of a service, so each command carries the full list:
non-secret values rendered from the matrix, secrets as ${NAME} CI variables.
Other stages (Prod) apply the manifests with `gcloud run … replace` after
envsubst filled in the image tags.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from macros.model import Matrix, Stage
from macros.render import ServiceView

from . import common as c
from .manifests import header, job_manifest, service_manifest

_REF = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")


@dataclass(frozen=True)
class Step:
    """One deploy target of a stage: the gcloud command lines to run for it."""

    target: str
    optional: bool
    commands: list[list[str]] = field(default_factory=list)
    refs: tuple[str, ...] = ()  # CI variables the commands need


def _where(stage: Stage) -> list[str]:
    gcp = stage.gcp
    assert gcp is not None
    return ["--region", gcp.region, "--project", gcp.projekt]


def env_flag_value(matrix: Matrix, stage: Stage, view: ServiceView) -> str:
    parts = []
    for entry in c.env_entries(matrix, stage, view):
        parts.append(f"{entry.name}={'${' + entry.name + '}' if entry.secret else entry.value}")
    return ",".join(parts)


def _network_flags(stage: Stage) -> list[str]:
    netz = stage.netz
    flags = []
    if c.public_cloudsql(stage):
        flags += ["--set-cloudsql-instances", c.cloudsql_connection(stage)]
    flags += ["--vpc-connector", netz.vpc_connector, "--vpc-egress", netz.vpc_egress]  # type: ignore[union-attr]
    return flags


def _command_flags(matrix: Matrix, stage: Stage, view: ServiceView) -> list[str]:
    argv = c.command(matrix, stage, view)
    if not argv:
        return []
    flags = ["--command", argv[0]]
    if argv[1:]:
        flags.append("--args=" + ",".join(argv[1:]))
    return flags


def service_deploy(matrix: Matrix, stage: Stage, view: ServiceView) -> list[str]:
    argv = ["gcloud", "run", "deploy", view.name, "--image", c.image(matrix, view), *_where(stage),
            "--service-account", c.service_account(stage), "--ingress", c.ingress(stage, view),
            "--min-instances", str(view.min), "--max-instances", str(view.max)]
    if c.is_queue_consumer(matrix, view):
        argv.append("--no-cpu-throttling")
    port = c.container_port(matrix, view)
    if port:
        argv += ["--port", str(port)]
    argv += _network_flags(stage) + _command_flags(matrix, stage, view)
    return argv + ["--set-env-vars", env_flag_value(matrix, stage, view)]


def job_deploy(matrix: Matrix, stage: Stage, view: ServiceView) -> list[str]:
    argv = ["gcloud", "run", "jobs", "deploy", view.name, "--image", c.image(matrix, view), *_where(stage),
            "--service-account", c.service_account(stage), "--tasks", "1"]
    argv += _network_flags(stage) + _command_flags(matrix, stage, view)
    return argv + ["--set-env-vars", env_flag_value(matrix, stage, view)]


def job_execute(stage: Stage, view: ServiceView) -> list[str]:
    return ["gcloud", "run", "jobs", "execute", view.name, *_where(stage), "--wait"]


def _replace(stage: Stage, view: ServiceView) -> list[str]:
    noun = "jobs" if view.is_job else "services"
    file = c.manifest_path(stage, view).rsplit("/", 1)[1]
    return ["gcloud", "run", noun, "replace", f"$(render {file})", *_where(stage)]


def _refs(matrix: Matrix, stage: Stage, view: ServiceView) -> tuple[str, ...]:
    """CI variables a target needs: ${NAME} references in what it deploys."""
    if c.deploys_with_flags(stage):
        text = " ".join(job_deploy(matrix, stage, view) if view.is_job else service_deploy(matrix, stage, view))
    else:
        build = job_manifest if view.is_job else service_manifest
        text = repr(build(matrix, stage, view))
    return tuple(dict.fromkeys(m[2:-1] for m in _REF.findall(text)))


def steps(matrix: Matrix, stage: Stage) -> list[Step]:
    """Jobs first (migrations before new code), then the services."""
    flags = c.deploys_with_flags(stage)
    out = []
    for view in c.cloud_jobs(matrix, stage):
        first = job_deploy(matrix, stage, view) if flags else _replace(stage, view)
        out.append(Step(view.name, view.optional, [first, job_execute(stage, view)], _refs(matrix, stage, view)))
    for view in c.cloud_services(matrix, stage):
        command = service_deploy(matrix, stage, view) if flags else _replace(stage, view)
        out.append(Step(view.name, view.optional, [command], _refs(matrix, stage, view)))
    return out


# --- shell rendering ---------------------------------------------------------

def _quote(arg: str) -> str:
    if arg.startswith("$(render "):
        return f'"{arg}"'
    if "${" not in arg:
        return shlex.quote(arg)
    escaped = re.sub(r'(["\\`])', r"\\\1", arg)
    escaped = re.sub(r"\$(?!\{[A-Z_][A-Z0-9_]*\})", r"\\$", escaped)
    return f'"{escaped}"'


def _command_lines(argv: list[str], indent: str) -> list[str]:
    """Break a gcloud command before each --flag, with trailing backslashes."""
    groups: list[list[str]] = [[]]
    for arg in argv:
        if arg.startswith("--") and groups[-1]:
            groups.append([])
        groups[-1].append(_quote(arg))
    lines = [" ".join(g) for g in groups]
    cont = " \\"
    return [indent + ("" if i == 0 else "  ") + line + (cont if i < len(lines) - 1 else "")
            for i, line in enumerate(lines)]


def script(matrix: Matrix, stage: Stage) -> str:
    all_steps = steps(matrix, stage)
    default = [s.target for s in all_steps if not s.optional]
    optional = [s.target for s in all_steps if s.optional]
    flags = c.deploys_with_flags(stage)
    intro = [
        "#!/usr/bin/env bash",
        *header("#").rstrip("\n").split("\n"),
        "#",
        f"# Deploy der Stage {stage.name} (läuft in der CI).",
        f"# Aufruf: cloudrun/{stage.id}/deploy.sh [ZIEL ...]",
        f"#   ohne ZIEL: {' '.join(default)}",
    ]
    if optional:
        intro.append(f"#   optional, nur wenn genannt: {' '.join(optional)}")
    if flags:
        intro += [f"# {stage.secrets.gcloud_flag} ERSETZT alle Variablen eines Dienstes: jeder Befehl",  # type: ignore[union-attr]
                  "# enthält die vollständige Liste; Geheimnisse sind ${NAME}-Verweise auf CI-Variablen."]
    else:
        names = " ".join("${" + n + "}" for n in c.placeholders(matrix, stage))
        intro += [f"# Wendet die Manifeste dieses Ordners an; envsubst ersetzt nur {names}."]
    body = ["set -euo pipefail", "", *_helpers(matrix, stage, flags), ""]
    body += [f"standard=({' '.join(default)})", f"bekannt=({' '.join(s.target for s in all_steps)})",
             'if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then',
             '  sed -n \'2,/^$/s/^# \\{0,1\\}//p\' "${BASH_SOURCE[0]}"',
             "  exit 0",
             "fi",
             'ziele=("$@")', 'if [ ${#ziele[@]} -eq 0 ]; then ziele=("${standard[@]}"); fi', "",
             'for ziel in "${ziele[@]}"; do', '  case "$ziel" in']
    for step in all_steps:
        body.append(f"    {step.target})")
        body.append(f"      benoetigt {' '.join(step.refs)}")
        for argv in step.commands:
            body += _command_lines(argv, "      ")
        body.append("      ;;")
    body += ['    *)', '      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2', "      exit 2",
             "      ;;", "  esac", f'  echo "✓ $ziel ausgerollt ({stage.name})"', "done"]
    return "\n".join(intro + [""] + body) + "\n"


def _helpers(matrix: Matrix, stage: Stage, flags: bool) -> list[str]:
    lines = [
        "# Bricht ab, wenn eine benötigte CI-Variable fehlt oder leer ist.",
        "benoetigt() {",
        '  local name',
        '  for name in "$@"; do',
        '    if [ -z "${!name:-}" ]; then echo "CI-Variable $name fehlt" >&2; exit 2; fi',
        "  done",
        "}",
    ]
    if not flags:
        names = " ".join("${" + n + "}" for n in c.placeholders(matrix, stage))
        lines += [
            "",
            'hier="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
            'arbeit="$(mktemp -d)"',
            "trap 'rm -rf \"$arbeit\"' EXIT",
            "# Manifest mit eingesetzten Image-Tags; gibt den Pfad der Kopie aus.",
            "render() {",
            f"  envsubst '{names}' < \"$hier/$1\" > \"$arbeit/$1\"",
            '  echo "$arbeit/$1"',
            "}",
        ]
    return lines


def scripts(matrix: Matrix) -> dict[str, str]:
    return {c.deploy_script_path(stage): script(matrix, stage) for stage in c.cloud_stages(matrix)}
