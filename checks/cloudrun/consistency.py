"""Cloud Run: generated manifests and deploy scripts, their offline validation.

Providers write cloudrun/<stage>/*.yaml and cloudrun/<stage>/deploy.sh.
Checks read the rendered text back and validate it against the Cloud Run
Admin API v1 discovery document, the annotation levels, rules across fields,
and (for stages deployed with flags) that every deploy command sets exactly
what its manifest says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from umgebungsmatrix.artifacts.deploy_scripts import AUTH_FLAGS, ENV_VARS, MANIFEST, script_path
from umgebungsmatrix.artifacts.shell import join_list, split_dict, split_list
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.matrix.rules import RESERVED_ENV

from ..findings import Finding
from . import annotations as ann
from .discovery import DiscoveryMissing, validate
from .parsed import Command, Manifest, commands, containers, get, manifests

Artifacts = Mapping[str, str]

DOC = "stages/leitplanken.md"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _finding(rule: str, manifest: Manifest, path: tuple[Any, ...], message: str, anchor: str) -> Finding:
    return Finding(rule, message, doc=f"{DOC}#{anchor}", **manifest.place(path))


# --- schema ---------------------------------------------------------------------------


def check_schema(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    out = []
    for manifest in manifests(facts, artifacts):
        if manifest.data is None:
            out.append(_finding("cloudrun-schema", manifest, (), "kein gültiges YAML", "cloudrun-schema"))
            continue
        try:
            problems = validate(manifest.data)
        except DiscoveryMissing as exc:
            return [Finding("cloudrun-schema", str(exc), manifest.path, f"{DOC}#cloudrun-schema")]
        out += [_finding("cloudrun-schema", manifest, path, msg, "cloudrun-schema") for path, msg in problems]
    return out


def check_annotations(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    out = []
    for manifest in manifests(facts, artifacts):
        levels = ann.METADATA_LEVELS.get(manifest.kind, {})
        for base, level in levels.items():
            values = get(manifest.data, *base, "annotations", default={}) or {}
            for key, value in values.items() if isinstance(values, dict) else ():
                path = base + ("annotations", key)
                for problem in (
                    ann.level_problem(key, level),
                    ann.value_problem(key, value) if isinstance(value, str) else None,
                ):
                    if problem:
                        out.append(_finding("cloudrun-annotationen", manifest, path, problem, "cloudrun-annotationen"))
        out += _misplaced(manifest, levels)
    return out


def _misplaced(manifest: Manifest, levels: dict[tuple[str, ...], str]) -> Iterator[Finding]:
    """Annotations anywhere else (e.g. a Job's task template) are never read."""
    for path, _value in _annotation_maps(manifest.data, ()):
        if path[:-1] not in levels:
            yield _finding(
                "cloudrun-annotationen",
                manifest,
                path,
                "Annotationen werden hier von Cloud Run nicht gelesen",
                "cloudrun-annotationen",
            )


def _annotation_maps(data: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "annotations" and path and path[-1] == "metadata":
                yield path + (key,), value
            else:
                yield from _annotation_maps(value, path + (key,))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _annotation_maps(item, path + (i,))


# --- rules across fields -----------------------------------------------------------------


def check_field_rules(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    out: list[Finding] = []
    for manifest in manifests(facts, artifacts):
        if not isinstance(manifest.data, dict):
            continue
        out += _scale_rule(manifest)
        out += _traffic_rule(manifest)
        for path, container in containers(manifest):
            out += _env_rule(manifest, path, container)
    return out


def _scale_rule(manifest: Manifest) -> list[Finding]:
    base = ("spec", "template", "metadata", "annotations")
    lo = get(manifest.data, *base, "autoscaling.knative.dev/minScale")
    hi = get(manifest.data, *base, "autoscaling.knative.dev/maxScale")
    if isinstance(lo, str) and isinstance(hi, str) and lo.isdigit() and hi.isdigit() and int(lo) > int(hi):
        return [
            _finding(
                "cloudrun-skalierung",
                manifest,
                base + ("autoscaling.knative.dev/minScale",),
                f"minScale ({lo}) ist größer als maxScale ({hi})",
                "cloudrun-felder",
            )
        ]
    return []


def _traffic_rule(manifest: Manifest) -> list[Finding]:
    traffic = get(manifest.data, "spec", "traffic")
    if not isinstance(traffic, list) or manifest.kind != "Service":
        return []
    out = []
    total = sum(t.get("percent", 0) for t in traffic if isinstance(t, dict) and isinstance(t.get("percent"), int))
    if traffic and total != 100:
        out.append(
            _finding(
                "cloudrun-traffic",
                manifest,
                ("spec", "traffic"),
                f"Traffic-Anteile ergeben {total} %, nicht 100 %",
                "cloudrun-felder",
            )
        )
    for i, target in enumerate(traffic):
        if isinstance(target, dict) and bool(target.get("revisionName")) == bool(target.get("latestRevision")):
            out.append(
                _finding(
                    "cloudrun-traffic",
                    manifest,
                    ("spec", "traffic", i),
                    "ein Traffic-Ziel braucht genau eins von revisionName oder latestRevision: true",
                    "cloudrun-felder",
                )
            )
    return out


def _env_rule(manifest: Manifest, path: tuple[Any, ...], container: dict[str, Any]) -> list[Finding]:
    out = []
    seen: set[str] = set()
    for i, entry in enumerate(container.get("env") or []):
        if not isinstance(entry, dict):
            continue
        name, where = str(entry.get("name", "")), path + ("env", i)
        problem = None
        if name in seen:
            problem = f"Umgebungsvariable „{name}“ ist doppelt"
        elif name in RESERVED_ENV or name.startswith("CLOUD_RUN_"):
            problem = f"„{name}“ ist von Cloud Run reserviert und darf nicht gesetzt werden"
        elif not ENV_NAME.match(name):
            problem = f"„{name}“ ist kein gültiger Variablenname"
        elif ("value" in entry) == ("valueFrom" in entry):
            problem = f"„{name}“ braucht genau eins von value oder valueFrom"
        seen.add(name)
        if problem:
            out.append(_finding("cloudrun-env", manifest, where, problem, "cloudrun-felder"))
    return out


# --- deploy commands versus manifests -----------------------------------------------------

# Settings a `gcloud run deploy` flag can carry: manifest leaf -> flag.
_SERVICE_ANNOTATION_FLAGS = {
    "autoscaling.knative.dev/minScale": "--min-instances",
    "autoscaling.knative.dev/maxScale": "--max-instances",
    "run.googleapis.com/cloudsql-instances": "--set-cloudsql-instances",
    "run.googleapis.com/vpc-access-connector": "--vpc-connector",
    "run.googleapis.com/vpc-access-egress": "--vpc-egress",
}


def expected_flags(manifest: Manifest) -> tuple[dict[str, str], list[tuple[tuple[Any, ...], str]]]:
    """Flags the deploy command needs to reproduce the manifest, and fields no flag can set."""
    data, job = manifest.data, manifest.kind == "Job"
    flags: dict[str, str] = {
        "--region": str(get(data, "metadata", "labels", "cloud.googleapis.com/location", default="")),
        "--project": str(get(data, "metadata", "namespace", default="")),
    }
    unmapped: list[tuple[tuple[Any, ...], str]] = []
    if not job:
        flags["--ingress"] = str(get(data, "metadata", "annotations", "run.googleapis.com/ingress", default=""))
    for key, value in (get(data, "spec", "template", "metadata", "annotations", default={}) or {}).items():
        if key in _SERVICE_ANNOTATION_FLAGS:
            flags[_SERVICE_ANNOTATION_FLAGS[key]] = str(value)
        elif key == "run.googleapis.com/cpu-throttling" and str(value) == "false":
            flags["--no-cpu-throttling"] = ""
        else:
            unmapped.append((("spec", "template", "metadata", "annotations", key), key))
    pod = get(data, *(("spec", "template", "spec", "template", "spec") if job else ("spec", "template", "spec")))
    if job:
        flags["--tasks"] = str(get(data, "spec", "template", "spec", "taskCount", default=""))
    flags["--service-account"] = str(get(pod, "serviceAccountName", default=""))
    for path, container in containers(manifest):
        flags["--image"] = str(container.get("image", ""))
        if container.get("command"):
            flags["--command"] = join_list([str(a) for a in container["command"]])
        if container.get("args"):
            flags["--args"] = join_list([str(a) for a in container["args"]])
        for port in container.get("ports") or []:
            flags["--port"] = str(port.get("containerPort"))
        env = []
        for i, entry in enumerate(container.get("env") or []):
            if "valueFrom" in entry:
                unmapped.append((path + ("env", i, "valueFrom"), f"valueFrom von {entry.get('name')}"))
            env.append(f"{entry.get('name')}={entry.get('value', '')}")
        flags["--set-env-vars"] = "^\0^" + "\0".join(env)  # NUL: occurs in no value, split exactly
        for key in container:
            if key not in ("name", "image", "command", "args", "ports", "env"):
                unmapped.append((path + (key,), key))
    return flags, unmapped


LIST_FLAGS = ("--command", "--args")  # gcloud splits these (and --set-env-vars) like shell.split_list


def _actual_env(command: Command, env_call: Command | None) -> dict[str, str] | None:
    """The variables the command sets: from the env_vars call before it ($ENV_VARS), else its own flag value."""
    values = command.flags.get("--set-env-vars")
    if not values:
        return None
    if values[-1] == ENV_VARS:
        return split_dict("^\0^" + "\0".join(env_call.argv[1:])) if env_call is not None else {}
    return split_dict(values[-1])


def _compare(manifest: Manifest, command: Command, env_call: Command | None = None) -> Iterator[str]:
    expected, unmapped = expected_flags(manifest)
    actual = {k: v[-1] for k, v in command.flags.items()}
    for _path, what in unmapped:
        yield f"„{what}“ steht im Manifest, lässt sich mit gcloud run deploy aber nicht setzen"
    for flag, value in expected.items():
        if flag == "--set-env-vars":
            continue
        if flag not in actual:
            yield f"Befehl setzt {flag} nicht (Manifest: „{value}“)"
        elif flag in LIST_FLAGS and split_list(actual[flag]) != split_list(value):
            yield f"{flag} ergibt für gcloud {split_list(actual[flag])}, im Manifest {split_list(value)}"
        elif flag not in LIST_FLAGS and actual[flag] != value:
            yield f"{flag} ist „{actual[flag]}“, im Manifest „{value}“"
    # who may invoke is IAM, not part of the manifest: the access guardrail checks these flags
    for flag in sorted(set(actual) - set(expected) - {"--set-env-vars", "--wait", *AUTH_FLAGS}):
        yield f"Befehl setzt {flag}, das Manifest nicht"
    want = split_dict(expected.get("--set-env-vars", ""))
    have = _actual_env(command, env_call)
    if have is None:
        yield "Befehl ohne --set-env-vars: die Konfiguration käme nicht an"
        have = {}
    for name in sorted(set(want) - set(have)):
        yield f"--set-env-vars lässt {name} weg (im Manifest gesetzt) – der Dienst verlöre die Variable"
    for name in sorted(set(have) - set(want)):
        yield f"--set-env-vars setzt {name}, das im Manifest fehlt"
    for name in sorted(set(want) & set(have)):
        if want[name] != have[name]:
            yield f"{name} ist im Befehl „{have[name]}“, im Manifest „{want[name]}“"


def check_deploy_commands(facts: Facts, artifacts: Artifacts) -> list[Finding]:
    out: list[Finding] = []
    all_manifests = list(manifests(facts, artifacts))
    for stage in facts.cloud_stages:
        path = script_path(stage)
        text = artifacts.get(path)
        stage_manifests = [m for m in all_manifests if m.stage.id == stage.id and isinstance(m.data, dict)]
        if text is None:
            out.append(Finding("deploy-befehle", "Deploy-Skript fehlt", path, f"{DOC}#deploy-befehle"))
            continue
        cmds = commands(text)
        if stage.deploys_with_flags:
            out += _flag_parity(stage_manifests, cmds, path)
        else:
            out += _replace_coverage(stage_manifests, cmds, path)
    return out


def _flag_parity(stage_manifests: list[Manifest], cmds: list[Command], script_path: str) -> list[Finding]:
    """Each `gcloud run deploy` reproduces its manifest. A target may have several (the two sides of a
    QA-window branch); each takes $ENV_VARS from the env_vars call of its own step."""
    out = []
    deploys: dict[tuple[str, str], list[Command]] = {}
    env_calls: dict[int, Command] = {}  # deploy line -> the env_vars call of its step
    last_env: Command | None = None
    last_target: str | None = None  # the target that used last_env (another target must not reuse it)
    for cmd in cmds:
        if cmd.argv[:1] == ["env_vars"]:
            last_env, last_target = cmd, None
        elif cmd.verb == "deploy":
            deploys.setdefault((cmd.noun, cmd.target), []).append(cmd)
            if last_env is not None and last_target in (None, cmd.target):
                env_calls[cmd.line] = last_env
                last_target = cmd.target
    for manifest in stage_manifests:
        noun = "jobs" if manifest.kind == "Job" else "services"
        found = deploys.pop((noun, manifest.name), None)
        if not found:
            out.append(
                Finding(
                    "deploy-befehle",
                    f"kein Deploy-Befehl für {manifest.name} ({manifest.path})",
                    script_path,
                    f"{DOC}#deploy-befehle",
                )
            )
            continue
        for command in found:
            for message in _compare(manifest, command, env_calls.get(command.line)):
                out.append(
                    Finding(
                        "deploy-befehle",
                        f"{manifest.name}: {message}",
                        f"{script_path}:{command.line}",
                        f"{DOC}#deploy-befehle",
                    )
                )
    for (_noun, name), found in deploys.items():
        for command in found:
            out.append(
                Finding(
                    "deploy-befehle",
                    f"Deploy-Befehl für {name} ohne Manifest",
                    f"{script_path}:{command.line}",
                    f"{DOC}#deploy-befehle",
                )
            )
    return out


def _replace_coverage(stage_manifests: list[Manifest], cmds: list[Command], script_path: str) -> list[Finding]:
    out = []
    applied: dict[str, Command] = {}
    rendered: str | None = None  # file of the render call right before a replace of $MANIFEST
    for cmd in cmds:
        if cmd.argv[:1] == ["render"]:
            rendered = cmd.argv[1] if len(cmd.argv) > 1 else None
        elif cmd.verb == "replace":
            target = rendered if cmd.target == MANIFEST and rendered else cmd.target
            applied[target] = cmd
            rendered = None
    for manifest in stage_manifests:
        file = manifest.path.rsplit("/", 1)[1]
        if applied.pop(file, None) is None:
            out.append(
                Finding(
                    "deploy-befehle",
                    f"{file} wird von keinem „gcloud run … replace“ angewendet",
                    script_path,
                    f"{DOC}#deploy-befehle",
                )
            )
    for file, command in applied.items():
        out.append(
            Finding(
                "deploy-befehle",
                f"„replace“ auf {file}, das es nicht gibt",
                f"{script_path}:{command.line}",
                f"{DOC}#deploy-befehle",
            )
        )
    for cmd in cmds:
        if cmd.verb == "deploy":
            out.append(
                Finding(
                    "deploy-befehle",
                    "in dieser Stage wird nur mit Manifesten ausgerollt, nicht mit „gcloud run deploy“",
                    f"{script_path}:{cmd.line}",
                    f"{DOC}#deploy-befehle",
                )
            )
    return out


CHECKS = (
    ("Cloud Run: Manifeste gegen das Admin-API-v1-Schema", check_schema),
    ("Cloud Run: Annotationen auf der richtigen Ebene", check_annotations),
    ("Cloud Run: Regeln über Felder (Skalierung, Traffic, Umgebungsvariablen)", check_field_rules),
    ("Cloud Run: Deploy-Befehle entsprechen den Manifesten", check_deploy_commands),
)
