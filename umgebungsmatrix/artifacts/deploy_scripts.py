"""cloudrun/<stage>/deploy.sh: the CI deploy script of each cloud stage.

Stages whose config comes from CI variables (Staging) deploy with
`gcloud run deploy … --set-env-vars`, one flag per manifest setting. That flag
REPLACES every variable of a service, so each command carries the full list:
non-secret values rendered from the matrix, secrets as ${NAME} CI variables.
Other stages (Prod) apply the manifests with `gcloud run … replace` after
envsubst filled in the image tags. gcloud reference:
https://cloud.google.com/sdk/gcloud/reference/run/deploy
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..facts import CloudService, CloudStage, Facts
from .cloudrun_manifests import OUT_DIR, manifest, manifest_path
from .common import header

TITLE = "Cloud-Run-Deploy-Skripte"
OUTPUTS = (f"{OUT_DIR}/*/deploy.sh",)
_REF = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")


@dataclass(frozen=True)
class Step:
    """One deploy target of a stage: the gcloud command lines to run for it."""

    target: str
    optional: bool
    commands: tuple[tuple[str, ...], ...]
    refs: tuple[str, ...]  # CI variables the commands need


def script_path(stage: CloudStage) -> str:
    return f"{OUT_DIR}/{stage.id}/deploy.sh"


def _where(stage: CloudStage) -> list[str]:
    return ["--region", stage.gcp.region, "--project", stage.gcp.projekt]


def env_flag_value(service: CloudService) -> str:
    return ",".join(f"{e.name}={'${' + e.name + '}' if e.secret else e.value}" for e in service.env)


def _network_flags(stage: CloudStage) -> list[str]:
    flags = []
    if stage.cloudsql_connection:
        flags += ["--set-cloudsql-instances", stage.cloudsql_connection]
    return flags + ["--vpc-connector", stage.network.vpc_connector, "--vpc-egress", stage.network.vpc_egress]


def _command_flags(service: CloudService) -> list[str]:
    argv = service.cloud_command
    if not argv:
        return []
    flags = ["--command", argv[0]]
    if argv[1:]:
        flags.append("--args=" + ",".join(argv[1:]))
    return flags


def service_deploy(stage: CloudStage, service: CloudService) -> list[str]:
    assert service.ingress is not None
    argv = ["gcloud", "run", "deploy", service.name, "--image", service.image_ref, *_where(stage),
            "--service-account", stage.service_account, "--ingress", service.ingress,
            "--min-instances", str(service.min_instances), "--max-instances", str(service.max_instances)]
    if service.background:
        argv.append("--no-cpu-throttling")
    if service.container_port:
        argv += ["--port", str(service.container_port)]
    argv += _network_flags(stage) + _command_flags(service)
    return argv + ["--set-env-vars", env_flag_value(service)]


def job_deploy(stage: CloudStage, service: CloudService) -> list[str]:
    argv = ["gcloud", "run", "jobs", "deploy", service.name, "--image", service.image_ref, *_where(stage),
            "--service-account", stage.service_account, "--tasks", "1"]
    argv += _network_flags(stage) + _command_flags(service)
    return argv + ["--set-env-vars", env_flag_value(service)]


def job_execute(stage: CloudStage, service: CloudService) -> list[str]:
    return ["gcloud", "run", "jobs", "execute", service.name, *_where(stage), "--wait"]


def _replace(stage: CloudStage, service: CloudService) -> list[str]:
    noun = "jobs" if service.is_job else "services"
    file = manifest_path(stage, service).rsplit("/", 1)[1]
    return ["gcloud", "run", noun, "replace", f"$(render {file})", *_where(stage)]


def _first_command(stage: CloudStage, service: CloudService) -> list[str]:
    if not stage.deploys_with_flags:
        return _replace(stage, service)
    return job_deploy(stage, service) if service.is_job else service_deploy(stage, service)


def _refs(stage: CloudStage, service: CloudService) -> tuple[str, ...]:
    """CI variables a target needs: ${NAME} references in what it deploys."""
    text = " ".join(_first_command(stage, service)) if stage.deploys_with_flags else repr(manifest(stage, service))
    return tuple(dict.fromkeys(m[2:-1] for m in _REF.findall(text)))


def steps(stage: CloudStage) -> list[Step]:
    """Jobs first (migrations before new code), then the services."""
    out = []
    for service in stage.resources:
        commands = [_first_command(stage, service)]
        if service.is_job:
            commands.append(job_execute(stage, service))
        out.append(Step(service.name, service.optional, tuple(map(tuple, commands)), _refs(stage, service)))
    return out


def ci_variables(stage: CloudStage) -> list[str]:
    """CI variables a stage's deploy script needs (image tags and, for Staging, the secrets)."""
    names: list[str] = []
    for step in steps(stage):
        names += [n for n in step.refs if n not in names]
    return names


# --- shell rendering ---------------------------------------------------------

def quote(arg: str) -> str:
    """Shell word for an argument; ${NAME} references stay expandable, everything else is literal."""
    if arg.startswith("$(render "):
        return f'"{arg}"'
    if "${" not in arg:
        return shlex.quote(arg)
    escaped = re.sub(r'(["\\`])', r"\\\1", arg)
    escaped = re.sub(r"\$(?!\{[A-Z_][A-Z0-9_]*\})", r"\\$", escaped)
    return f'"{escaped}"'


def command_lines(argv: tuple[str, ...] | list[str], indent: str = "") -> list[str]:
    """Break a gcloud command before each --flag, with trailing backslashes."""
    groups: list[list[str]] = [[]]
    for arg in argv:
        if arg.startswith("--") and groups[-1]:
            groups.append([])
        groups[-1].append(quote(arg))
    lines = [" ".join(g) for g in groups]
    return [indent + ("" if i == 0 else "  ") + line + (" \\" if i < len(lines) - 1 else "")
            for i, line in enumerate(lines)]


def script(stage: CloudStage) -> str:
    all_steps = steps(stage)
    default = [s.target for s in all_steps if not s.optional]
    optional = [s.target for s in all_steps if s.optional]
    intro = [
        "#!/usr/bin/env bash",
        *header("#").rstrip("\n").split("\n"),
        "#",
        f"# Deploy der Stage {stage.name} (läuft in der CI).",
        f"# Aufruf: {script_path(stage)} [ZIEL ...]",
        f"#   ohne ZIEL: {' '.join(default)}",
    ]
    if optional:
        intro.append(f"#   optional, nur wenn genannt: {' '.join(optional)}")
    if stage.deploys_with_flags:
        intro += ["# --set-env-vars ERSETZT alle Variablen eines Dienstes: jeder Befehl",
                  "# enthält die vollständige Liste; Geheimnisse sind ${NAME}-Verweise auf CI-Variablen."]
    else:
        names = " ".join("${" + n + "}" for n in stage.tag_variables)
        intro += [f"# Wendet die Manifeste dieses Ordners an; envsubst ersetzt nur {names}."]
    body = ["set -euo pipefail", "", *_helpers(stage), ""]
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
            body += command_lines(argv, "      ")
        body.append("      ;;")
    body += ['    *)', '      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2', "      exit 2",
             "      ;;", "  esac", f'  echo "✓ $ziel ausgerollt ({stage.name})"', "done"]
    return "\n".join(intro + [""] + body) + "\n"


def _helpers(stage: CloudStage) -> list[str]:
    lines = [
        "# Bricht ab, wenn eine benötigte CI-Variable fehlt oder leer ist.",
        "benoetigt() {",
        '  local name',
        '  for name in "$@"; do',
        '    if [ -z "${!name:-}" ]; then echo "CI-Variable $name fehlt" >&2; exit 2; fi',
        "  done",
        "}",
    ]
    if not stage.deploys_with_flags:
        names = " ".join("${" + n + "}" for n in stage.tag_variables)
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


def render(facts: Facts) -> dict[str, str]:
    return {script_path(stage): script(stage) for stage in facts.cloud_stages}
