"""cloudrun/<stage>/deploy.sh: the CI deploy script of each cloud stage.

Stages whose config comes from CI variables (Staging) deploy with
`gcloud run deploy … --set-env-vars`, one flag per manifest setting. That flag
REPLACES every variable of a service, so each command carries the full list:
non-secret values rendered from the matrix, secrets as ${NAME} CI variables.
The list is built at run time by `env_vars` (shell.py) with a delimiter that
occurs in no value, so commas, `=`, spaces and `$` in CI values arrive intact.
Other stages (Prod) apply the manifests with `gcloud run … replace` after
`render` filled in the image tags and the revision suffixes derived from them
(revisions.py: valid for every legal Docker tag). gcloud reference:
https://cloud.google.com/sdk/gcloud/reference/run/deploy, `gcloud topic escaping`

Access (matrix `zugriff`, facts `Access`): every `gcloud run deploy` states
`--no-allow-unauthenticated` (or `--allow-unauthenticated` for a service public
for good, or inside its QA window: deploy.sh compares the UTC date at run time,
so the generated file does not change with the calendar). After each deploy or
replace, the invokers the matrix names get roles/run.invoker
(`add-iam-policy-binding`), and `nicht_oeffentlich` removes an allUsers or
allAuthenticatedUsers binding the matrix does not allow (only when present:
`remove-iam-policy-binding` fails on a missing binding). `services replace`
leaves the IAM policy as it is, so the Prod path needs these steps too.
https://cloud.google.com/run/docs/authenticating/public
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..facts import CloudService, CloudStage, Facts
from .cloudrun_manifests import OUT_DIR, manifest, manifest_path
from .common import header
from .revisions import DOCKER_TAG, REVISION_SUFFIX_BASH
from .shell import ENV_VARS_BASH, join_list

TITLE = "Cloud-Run-Deploy-Skripte"
OUTPUTS = (f"{OUT_DIR}/*/deploy.sh",)
_REF = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")
ENV_VARS = "$ENV_VARS"  # set by env_vars() right before each deploy command
MANIFEST = "$MANIFEST"  # set by render() right before each replace command


INVOKER_ROLE = "roles/run.invoker"
PUBLIC_MEMBER = "allUsers"  # what --allow-unauthenticated grants
AUTH_FLAGS = ("--allow-unauthenticated", "--no-allow-unauthenticated")  # public, not public


@dataclass(frozen=True)
class Branch:
    """`if TEST; then THEN; else OTHERWISE; fi` in deploy.sh (TEST is a helper call such as qa_offen)."""

    test: tuple[str, ...]
    then: tuple[tuple[str, ...], ...]
    otherwise: tuple[tuple[str, ...], ...]


Command = tuple[str, ...] | Branch


@dataclass(frozen=True)
class Step:
    """One deploy target of a stage: the gcloud command lines to run for it."""

    target: str
    optional: bool
    commands: tuple[Command, ...]
    refs: tuple[str, ...]  # CI variables the commands need

    def argvs(self) -> list[tuple[str, ...]]:
        """Every command of the step, both sides of a branch included."""
        out: list[tuple[str, ...]] = []
        for command in self.commands:
            if isinstance(command, Branch):
                out += [command.test, *command.then, *command.otherwise]
            else:
                out.append(command)
        return out


def script_path(stage: CloudStage) -> str:
    return f"{OUT_DIR}/{stage.id}/deploy.sh"


def _where(stage: CloudStage) -> list[str]:
    return ["--region", stage.gcp.region, "--project", stage.gcp.projekt]


def env_pairs(service: CloudService) -> list[str]:
    """NAME=VALUE per variable: non-secret values from the matrix, secrets as ${NAME} CI variables."""
    return [f"{e.name}={'${' + e.name + '}' if e.secret else e.value}" for e in service.env]


def env_vars(service: CloudService) -> list[str]:
    """The `env_vars` call that builds $ENV_VARS for one deploy command."""
    return ["env_vars", *env_pairs(service)]


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
        flags.append("--args=" + join_list(argv[1:]))  # ^D^ when an argument contains a comma
    return flags


def service_deploy(stage: CloudStage, service: CloudService, public: bool = False) -> list[str]:
    """`gcloud run deploy`, authentication explicit: --allow-unauthenticated only if `public`."""
    assert service.ingress is not None
    argv = [
        "gcloud",
        "run",
        "deploy",
        service.name,
        "--image",
        service.image_ref,
        *_where(stage),
        "--service-account",
        stage.service_account,
        "--ingress",
        service.ingress,
        AUTH_FLAGS[0] if public else AUTH_FLAGS[1],
        "--min-instances",
        str(service.min_instances),
        "--max-instances",
        str(service.max_instances),
    ]
    if service.background:
        argv.append("--no-cpu-throttling")
    if service.container_port:
        argv += ["--port", str(service.container_port)]
    argv += _network_flags(stage) + _command_flags(service)
    return argv + ["--set-env-vars", ENV_VARS]


def job_deploy(stage: CloudStage, service: CloudService) -> list[str]:
    argv = [
        "gcloud",
        "run",
        "jobs",
        "deploy",
        service.name,
        "--image",
        service.image_ref,
        *_where(stage),
        "--service-account",
        stage.service_account,
        "--tasks",
        "1",
    ]
    argv += _network_flags(stage) + _command_flags(service)
    return argv + ["--set-env-vars", ENV_VARS]


def job_execute(stage: CloudStage, service: CloudService) -> list[str]:
    return ["gcloud", "run", "jobs", "execute", service.name, *_where(stage), "--wait"]


def render_call(stage: CloudStage, service: CloudService) -> tuple[str, ...]:
    """`render FILE SERVICE`: sets $MANIFEST to a copy with tags and revision suffixes filled in."""
    return ("render", manifest_path(stage, service).rsplit("/", 1)[1], service.name)


def replace(stage: CloudStage, service: CloudService) -> list[str]:
    noun = "jobs" if service.is_job else "services"
    return ["gcloud", "run", noun, "replace", MANIFEST, *_where(stage)]


def add_invoker(stage: CloudStage, service: CloudService, member: str) -> tuple[str, ...]:
    noun = "jobs" if service.is_job else "services"
    return (
        "gcloud", "run", noun, "add-iam-policy-binding", service.name,
        "--member", member, "--role", INVOKER_ROLE, *_where(stage),
    )  # fmt: skip


def not_public(service: CloudService) -> tuple[str, ...]:
    """`nicht_oeffentlich ART NAME` (helper in deploy.sh): drops allUsers/allAuthenticatedUsers if present."""
    return ("nicht_oeffentlich", "jobs" if service.is_job else "services", service.name)


def qa_open(service: CloudService) -> tuple[str, ...]:
    window = service.access.qa_window
    assert window is not None
    return ("qa_offen", window.von.isoformat(), window.bis.isoformat())


def _access(stage: CloudStage, service: CloudService) -> list[Command]:
    """After deploy/replace: the matrix's invokers, then public only as the matrix allows."""
    access = service.access
    out: list[Command] = [add_invoker(stage, service, i.member) for i in access.invokers]
    grant_public = add_invoker(stage, service, PUBLIC_MEMBER)
    if not access.authenticated:
        if not stage.deploys_with_flags:  # the deploy flag granted it already
            out.append(grant_public)
    elif access.qa_window is not None:
        then = () if stage.deploys_with_flags else (grant_public,)
        out.append(Branch(qa_open(service), then, (not_public(service),)))
    else:
        out.append(not_public(service))
    return out


def _deploy(stage: CloudStage, service: CloudService) -> list[Command]:
    if not stage.deploys_with_flags:
        return [render_call(stage, service), tuple(replace(stage, service))]
    if service.is_job:
        return [tuple(env_vars(service)), tuple(job_deploy(stage, service))]
    access = service.access
    if access.qa_window is not None and access.authenticated:
        public, private = tuple(service_deploy(stage, service, True)), tuple(service_deploy(stage, service, False))
        return [tuple(env_vars(service)), Branch(qa_open(service), (public,), (private,))]
    return [tuple(env_vars(service)), tuple(service_deploy(stage, service, not access.authenticated))]


def _commands(stage: CloudStage, service: CloudService) -> list[Command]:
    execute = [tuple(job_execute(stage, service))] if service.is_job else []
    return _deploy(stage, service) + _access(stage, service) + execute


def _refs(stage: CloudStage, service: CloudService) -> tuple[str, ...]:
    """CI variables a target needs: ${NAME} references in what it deploys (not the variables deploy.sh sets)."""
    probe = Step(service.name, service.optional, tuple(_commands(stage, service)), ())
    text = " ".join(a for argv in probe.argvs() for a in argv)
    if not stage.deploys_with_flags:
        text += repr(manifest(stage, service))
    derived = {name for name, _tag in stage.revision_variables}
    tags = [tag for name, tag in stage.revision_variables if "${" + name + "}" in text]
    found = [m[2:-1] for m in _REF.findall(text)] + tags
    return tuple(n for n in dict.fromkeys(found) if n not in derived)


def steps(stage: CloudStage) -> list[Step]:
    """Jobs first (migrations before new code), then the services."""
    out = []
    for service in stage.resources:
        commands = _commands(stage, service)
        out.append(Step(service.name, service.optional, tuple(commands), _refs(stage, service)))
    return out


def ci_variables(stage: CloudStage) -> list[str]:
    """CI variables a stage's deploy script needs (image tags and, for Staging, the secrets)."""
    names: list[str] = []
    for step in steps(stage):
        names += [n for n in step.refs if n not in names]
    return names


# --- shell rendering ---------------------------------------------------------


def quote(arg: str, expand: frozenset[str] = frozenset()) -> str:
    """Shell word for an argument: ${NAME} stays expandable only for the CI variables in `expand`
    (and $ENV_VARS/$MANIFEST); everything else, `$` included, is literal."""
    if arg in (ENV_VARS, MANIFEST):
        return f'"{arg}"'
    refs = {m[2:-1] for m in _REF.findall(arg)} & expand
    if not refs:
        return shlex.quote(arg)
    escaped = re.sub(r'(["\\`])', r"\\\1", arg)
    names = "|".join(map(re.escape, sorted(refs)))
    escaped = re.sub(rf"\$(?!\{{(?:{names})\}})", r"\\$", escaped)
    return f'"{escaped}"'


def expandable(stage: CloudStage) -> frozenset[str]:
    """CI variables deploy.sh may expand: the secrets of a flags stage and the image tags."""
    return frozenset(stage.tag_variables) | (
        frozenset(stage.secret_variables) if stage.deploys_with_flags else frozenset()
    )


def command_lines(
    argv: tuple[str, ...] | list[str], indent: str = "", expand: frozenset[str] = frozenset()
) -> list[str]:
    """Break a gcloud command before each --flag (env_vars: one pair per line), with trailing backslashes."""
    groups: list[list[str]] = [[]]
    for arg in argv:
        if groups[-1] and (arg.startswith("--") or argv[0] == "env_vars"):
            groups.append([])
        groups[-1].append(quote(arg, expand))
    lines = [" ".join(g) for g in groups]
    return [
        indent + ("" if i == 0 else "  ") + line + (" \\" if i < len(lines) - 1 else "") for i, line in enumerate(lines)
    ]


def step_lines(command: Command, indent: str = "", expand: frozenset[str] = frozenset()) -> list[str]:
    """Shell lines of one command of a step: a command, or an if/else over two lists of commands."""
    if not isinstance(command, Branch):
        return command_lines(command, indent, expand)
    inner = indent + "  "
    test = " ".join(quote(a) for a in command.test)
    if not command.then:
        lines = [f"{indent}if ! {test}; then"]
        for argv in command.otherwise:
            lines += command_lines(argv, inner, expand)
        return lines + [f"{indent}fi"]
    lines = [f"{indent}if {test}; then"]
    for argv in command.then:
        lines += command_lines(argv, inner, expand)
    if command.otherwise:
        lines.append(f"{indent}else")
        for argv in command.otherwise:
            lines += command_lines(argv, inner, expand)
    return lines + [f"{indent}fi"]


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
        intro += [
            "# --set-env-vars ERSETZT alle Variablen eines Dienstes: jeder Befehl",
            "# enthält die vollständige Liste; Geheimnisse sind ${NAME}-Verweise auf CI-Variablen.",
            "# env_vars wählt ein Trennzeichen, das in keinem Wert vorkommt: Kommas, =, Leerzeichen",
            "# und $ in CI-Werten kommen unverändert an.",
        ]
    else:
        names = " ".join("${" + n + "}" for n in stage.manifest_variables)
        intro += [
            f"# Wendet die Manifeste dieses Ordners an; envsubst ersetzt nur {names}.",
            "# Revisionsnamen: <dienst>-<Suffix aus dem Tag> (für jeden gültigen Docker-Tag zulässig).",
        ]
    body = [
        "set -euo pipefail",
        "# gcloud schreibt sonst die Werte der Variablen in seine Logdatei",
        "export CLOUDSDK_CORE_DISABLE_FILE_LOGGING=1",
        "",
        *_helpers(stage),
        "",
    ]
    body += [
        f"standard=({' '.join(default)})",
        f"bekannt=({' '.join(s.target for s in all_steps)})",
        'if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then',
        "  sed -n '2,/^$/s/^# \\{0,1\\}//p' \"${BASH_SOURCE[0]}\"",
        "  exit 0",
        "fi",
        'ziele=("$@")',
        'if [ ${#ziele[@]} -eq 0 ]; then ziele=("${standard[@]}"); fi',
        "",
        'for ziel in "${ziele[@]}"; do',
        '  case "$ziel" in',
    ]
    for step in all_steps:
        body.append(f"    {step.target})")
        body.append(f"      benoetigt {' '.join(step.refs)}")
        tags = [n for n in step.refs if n in stage.tag_variables]
        if tags:
            body.append(f"      tag_gueltig {' '.join(tags)}")
        for command in step.commands:
            body += step_lines(command, "      ", expandable(stage))
        body.append("      ;;")
    body += [
        "    *)",
        '      echo "Unbekanntes Ziel „$ziel“ (bekannt: ${bekannt[*]})" >&2',
        "      exit 2",
        "      ;;",
        "  esac",
        f'  echo "✓ $ziel ausgerollt ({stage.name})"',
        "done",
    ]
    return "\n".join(intro + [""] + body) + "\n"


def _access_helpers(stage: CloudStage) -> list[str]:
    where = " ".join(_where(stage))
    lines = [
        "# nicht_oeffentlich ART NAME: entfernt allUsers und allAuthenticatedUsers als Aufrufer",
        f"# ({INVOKER_ROLE}), falls die Richtlinie sie enthält (remove schlägt sonst fehl).",
        "nicht_oeffentlich() {",
        "  local mitglieder mitglied",
        f'  mitglieder="$(gcloud run "$1" get-iam-policy "$2" {where} \\',
        f"    --flatten 'bindings[].members' --filter 'bindings.role={INVOKER_ROLE}' \\",
        "    --format 'value(bindings.members)')\"",
        "  for mitglied in allUsers allAuthenticatedUsers; do",
        '    if grep -qx "$mitglied" <<<"$mitglieder"; then',
        f'      gcloud run "$1" remove-iam-policy-binding "$2" --member "$mitglied" --role {INVOKER_ROLE} {where}',
        '      echo "Öffentlicher Aufrufer $mitglied von $2 entfernt" >&2',
        "    fi",
        "  done",
        "}",
    ]
    if any(s.access.qa_window is not None for s in stage.resources):
        lines += [
            "",
            "# qa_offen VON BIS: wahr, solange heute (UTC) im QA-Fenster liegt (beide Tage eingeschlossen).",
            "qa_offen() {",
            "  local heute",
            '  heute="$(date -u +%F)"',
            '  [[ ! "$heute" < "$1" && ! "$heute" > "$2" ]]',
            "}",
        ]
    return lines


def _helpers(stage: CloudStage) -> list[str]:
    lines = [
        "# Bricht ab, wenn eine benötigte CI-Variable fehlt oder leer ist.",
        "benoetigt() {",
        "  local name",
        '  for name in "$@"; do',
        '    if [ -z "${!name:-}" ]; then echo "CI-Variable $name fehlt" >&2; exit 2; fi',
        "  done",
        "}",
        "",
        "# Bricht ab, wenn ein Image-Tag kein gültiger Docker-Tag ist (bevor gcloud etwas ändert).",
        "tag_gueltig() {",
        "  local name",
        '  for name in "$@"; do',
        f"    if [[ ! ${{!name}} =~ ^{DOCKER_TAG.pattern}$ ]]; then",
        f'      echo "CI-Variable $name ist kein gültiger Docker-Tag (erlaubt: {DOCKER_TAG.pattern})" >&2',
        "      exit 2",
        "    fi",
        "  done",
        "}",
    ]
    lines += ["", *_access_helpers(stage)]
    if stage.deploys_with_flags:
        lines += ["", *ENV_VARS_BASH.rstrip("\n").split("\n")]
    else:
        names = " ".join("${" + n + "}" for n in stage.manifest_variables)
        lines += ["", *REVISION_SUFFIX_BASH.rstrip("\n").split("\n")] if stage.revision_variables else []
        suffixes = (
            ["  local " + " ".join(f"{name}=" for name, _tag in stage.revision_variables)]
            if stage.revision_variables
            else []
        )
        for name, tag in stage.revision_variables:  # a tag that is not needed for this file may be unset
            suffixes.append(
                f'  if [ -n "${{{tag}:-}}" ]; then revision_suffix "$2" "${{{tag}}}"; {name}=$REVISION_SUFFIX; fi'
            )
        assigned = " ".join(f'{name}="${name}"' for name, _tag in stage.revision_variables)
        lines += [
            "",
            'hier="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
            'arbeit="$(mktemp -d)"',
            "trap 'rm -rf \"$arbeit\"' EXIT",
            "# render DATEI DIENST: setzt MANIFEST auf eine Kopie mit eingesetzten Tags und Revisionsnamen.",
            "render() {",
            *suffixes,
            f'  {assigned + " " if assigned else ""}envsubst \'{names}\' < "$hier/$1" > "$arbeit/$1"',
            '  MANIFEST="$arbeit/$1"',
            "}",
        ]
    return lines


def render(facts: Facts) -> dict[str, str]:
    return {script_path(stage): script(stage) for stage in facts.cloud_stages}
