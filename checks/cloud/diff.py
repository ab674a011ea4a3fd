"""`umgebungsmatrix cloud-diff --stage STAGE`: the live Cloud Run services and jobs of a stage
against its generated manifests, read-only.

Live state comes from `gcloud run services|jobs describe NAME --format export` (and `list` to
find services the matrix does not know), or from `--export-dir DIR` with one such export per
resource, named `<name>.yaml`.

Rule: every field the manifest declares must be present and equal in the live resource. Fields
the server adds (generation, uid, creationTimestamp, creator/operation-id/client annotations,
status) and the defaults it fills in (containerConcurrency, timeoutSeconds, resources …) are not
declared, so they are not drift. Named lists (containers, env, ports) are matched by name, and a
name only live is drift too (an env var added in the console). `${NAME}` values of CI variables
(secrets on stages without Secret Manager) must be present; their value is not known here.
Image tags and revision names are filled from IMAGE_TAG (and the stable tag of a canary stage)
exactly as deploy.sh does (umgebungsmatrix.artifacts.revisions).

Output: `SERVICE: FIELD.PATH: Soll X, Ist Y` per difference, German; exit 0 equal, 1 drift,
2 bad input or no access. Source: Cloud Run Admin API v1 (Knative serving) resources,
https://cloud.google.com/run/docs/reference/rest/v1/namespaces.services
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from umgebungsmatrix.artifacts.cloudrun_manifests import JOB_API, SERVICE_API, manifest
from umgebungsmatrix.artifacts.revisions import revision_suffix, tag_problems
from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK, InputError, file_reason
from umgebungsmatrix.facts import CloudStage, Facts
from umgebungsmatrix.matrix.yamlload import german_yaml
from umgebungsmatrix.paths import display_path

from . import gcloud

PLACEHOLDER = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
KINDS = {"Service": SERVICE_API, "Job": JOB_API}
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Difference:
    resource: str
    path: str  # e.g. spec.template.metadata.annotations[autoscaling.knative.dev/maxScale]
    soll: str
    ist: str

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.resource}: {where}Soll {self.soll}, Ist {self.ist}"


@dataclass(frozen=True)
class Live:
    """Live resources by name: (kind, data), and where they were read."""

    resources: dict[str, tuple[str, dict[str, Any]]]
    source: str


# --- expected -----------------------------------------------------------------------------------


def cloud_stage(facts: Facts, stage_id: str) -> CloudStage:
    known = [s.id for s in facts.stages]
    if stage_id not in known:
        raise InputError(f"unbekannte Stage „{stage_id}“ (bekannt: {', '.join(known)})")
    stage = facts.stage(stage_id)
    if not isinstance(stage, CloudStage):
        clouds = ", ".join(s.id for s in facts.cloud_stages)
        raise InputError(f"Stage „{stage_id}“ läuft nicht in Cloud Run (Cloud-Stages: {clouds})")
    return stage


def tag_values(stage: CloudStage, image_tag: str, stable_tag: str | None) -> dict[str, str]:
    """The values deploy.sh gives the tag variables (IMAGE_TAG, the canary's stable tag)."""
    values = {}
    for i, name in enumerate(stage.tag_variables):
        value = image_tag if i == 0 else (stable_tag or image_tag)
        problems = tag_problems(value)
        if problems:
            raise InputError(f"{name}: {problems[0]}")
        values[name] = value
    return values


def expected(stage: CloudStage, tags: Mapping[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every service and job of the stage as the manifest declares it, tags and revision names filled."""
    out = {}
    for service in stage.resources:
        values = dict(tags)
        for variable, tag_variable in stage.revision_variables:
            values[variable] = revision_suffix(tags[tag_variable], service.name)
        data = _fill(manifest(stage, service), values)
        out[service.name] = ("Job" if service.is_job else "Service", data)
    return out


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str):
        return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", lambda m: values.get(m.group(1), m.group(0)), value)
    return value


# --- compare ------------------------------------------------------------------------------------


def _join(path: str, key: Any) -> str:
    key = str(key)
    if PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key}]"


def _show(value: Any, limit: int = 160) -> str:
    if value is None:
        return "–"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same(want: Any, have: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return str(want).lower() == str(have).lower()
    return str(want) == str(have)


def _named(items: list[Any], key: str = "name") -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items)


def compare(want: Any, have: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, soll, ist) for each declared field that is missing or different live."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            yield path, _show(want), _show(have)
            return
        for key, value in want.items():
            sub = _join(path, key)
            if key not in have:
                yield sub, _show(value), "fehlt"
            else:
                yield from compare(value, have[key], sub)
    elif isinstance(want, list):
        if not isinstance(have, list):
            yield path, _show(want), _show(have)
        elif (key := next((k for k in ("name", "tag") if _named(want, k)), "")) and (not have or _named(have, key)):
            # matched by name (containers, env, ports) or by tag (traffic): order is not drift
            live = {item[key]: item for item in have}
            for item in want:
                sub = f"{path}[{item[key]}]"
                if item[key] not in live:
                    yield sub, _show(item), "fehlt"
                else:
                    yield from compare(item, live.pop(item[key]), sub)
            for name, item in live.items():
                yield f"{path}[{name}]", "fehlt", _show(item)
        elif want and all(isinstance(i, dict) for i in want):
            for i, item in enumerate(want):
                if i >= len(have):
                    yield f"{path}[{i}]", _show(item), "fehlt"
                else:
                    yield from compare(item, have[i], f"{path}[{i}]")
            for i in range(len(want), len(have)):
                yield f"{path}[{i}]", "fehlt", _show(have[i])
        elif [str(v) for v in want] != [str(v) for v in have]:
            yield path, _show(want), _show(have)
    elif isinstance(want, str) and PLACEHOLDER.match(want):
        if have is None:
            yield path, want, "fehlt"
    elif not _same(want, have):
        yield path, _show(want), _show(have)


def _namespace_as_project(stage: CloudStage, data: dict[str, Any]) -> dict[str, Any]:
    """Cloud Run exports name the namespace by project NUMBER; the manifests by project id. A number
    counts as the project when it is the matrix's `gcp.projektnummer`, or any number when none is given."""
    namespace = str(data["metadata"].get("namespace", ""))
    number = stage.gcp.projektnummer
    if namespace.isdigit() and (number is None or namespace == number):
        return {**data, "metadata": {**data["metadata"], "namespace": stage.gcp.projekt}}
    return data


def differences(stage: CloudStage, want: dict[str, tuple[str, dict[str, Any]]], live: Live) -> list[Difference]:
    out: list[Difference] = []
    optional = {s.name for s in stage.resources if s.optional}
    for name, (kind, data) in want.items():
        found = live.resources.get(name)
        if found is None:
            if name not in optional:
                out.append(Difference(name, "", f"{kind} ausgerollt", "fehlt live"))
            continue
        live_kind, live_data = found
        if live_kind != kind:
            raise InputError(f"{name}: live ein {live_kind}, laut Matrix ein {kind} ({live.source})")
        live_data = _namespace_as_project(stage, live_data)
        out += [Difference(name, path, soll, ist) for path, soll, ist in compare(data, live_data)]
    for name in sorted(set(live.resources) - set(want)):
        out.append(Difference(name, "", "nicht in der Matrix", f"live ein {live.resources[name][0]}"))
    return out


# --- live ---------------------------------------------------------------------------------------


class _ExportLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key twice in one mapping (the later one would hide drift)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"Schlüssel „{key}“ steht doppelt in derselben Abbildung", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_export(text: str, where: str) -> Any:
    """An export's YAML; InputError (German, with line) for anything PyYAML refuses or a duplicate key."""
    try:
        return yaml.load(text, Loader=_ExportLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{where}{line}: kein gültiges YAML ({german_yaml(exc)})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: kein gültiges YAML ({exc})") from None


def resource_of(data: Any, where: str) -> tuple[str, dict[str, Any]]:
    """(kind, data) of a Cloud Run export; InputError for anything else."""
    if not isinstance(data, dict) or "kind" not in data or "apiVersion" not in data:
        raise InputError(f"{where}: keine Cloud-Run-Ressource (apiVersion und kind fehlen)")
    if not isinstance(data.get("metadata"), dict) or not isinstance(data["metadata"].get("name"), str):
        raise InputError(f"{where}: metadata.name fehlt oder ist kein Name")
    kind, api = str(data["kind"]), str(data["apiVersion"])
    if KINDS.get(kind) != api:
        wanted = ", ".join(f"{k} ({a})" for k, a in KINDS.items())
        raise InputError(f"{where}: {kind} ({api}) ist keine Cloud-Run-Ressource; erwartet: {wanted}")
    return kind, data


def from_export_dir(folder: Path) -> Live:
    if not folder.is_dir():
        raise InputError(f"{display_path(folder)}: kein Ordner")
    others = sorted(p.name for p in folder.iterdir() if p.suffix in (".yml", ".json") and p.is_file())
    if others:
        raise InputError(
            f"{display_path(folder)}: {', '.join(others)} – Exporte heißen <name>.yaml "
            "(gcloud run services describe NAME --format export > NAME.yaml)"
        )
    resources: dict[str, tuple[str, dict[str, Any]]] = {}
    for file in sorted(folder.glob("*.yaml")):
        where = display_path(file)
        if not file.is_file():  # a folder, a FIFO, a broken link
            raise InputError(f"{where}: keine lesbare Datei")
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: nicht lesbar ({file_reason(exc)})") from None
        kind, data = resource_of(load_export(text, where), where)
        name = data["metadata"]["name"]
        if name != file.stem:
            raise InputError(f"{where}: metadata.name ist „{name}“, die Datei muss <name>.yaml heißen")
        resources[name] = (kind, data)
    if not resources:
        raise InputError(f"{display_path(folder)}: keine Exporte (<name>.yaml) gefunden")
    return Live(resources, display_path(folder))


def gcloud_calls(stage: CloudStage) -> list[list[str]]:
    """The read-only calls that list a stage's live services and jobs (describe follows per name)."""
    where = ["--region", stage.gcp.region, "--project", stage.gcp.projekt]
    return [
        ["gcloud", "run", noun, "list", *where, "--format", "value(metadata.name)"] for noun in ("services", "jobs")
    ]


def describe_call(stage: CloudStage, noun: str, name: str) -> list[str]:
    where = ["--region", stage.gcp.region, "--project", stage.gcp.projekt]
    return ["gcloud", "run", noun, "describe", name, *where, "--format", "export"]


def from_gcloud(stage: CloudStage, run: gcloud.Runner = gcloud.run) -> Live:
    resources: dict[str, tuple[str, dict[str, Any]]] = {}
    for noun, call in zip(("services", "jobs"), gcloud_calls(stage), strict=True):
        for name in run(call).split():
            argv = describe_call(stage, noun, name)
            where = " ".join(argv[:5])
            resources[name] = resource_of(load_export(run(argv), where), where)
    return Live(resources, f"gcloud (Projekt {stage.gcp.projekt})")


# --- command ------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="Cloud-Stage (id aus der Matrix), z. B. prod")
    parser.add_argument(
        "--export-dir",
        type=Path,
        help="Ordner mit Exporten (<name>.yaml, wie `gcloud run services describe NAME --format export`) "
        "statt der Live-Abfrage",
    )
    parser.add_argument("--image-tag", help="Image-Tag, der live laufen soll (Standard: Umgebungsvariable IMAGE_TAG)")
    parser.add_argument(
        "--stabil-tag",
        help="Tag der stabilen Canary-Revision (Standard: Umgebungsvariable der Matrix, sonst --image-tag)",
    )
    parser.add_argument("--json", action="store_true", help="Ergebnis als JSON")


def run(args: argparse.Namespace, facts: Facts) -> int:
    stage = cloud_stage(facts, args.stage)
    tag_name = stage.tag_variables[0]
    image_tag = args.image_tag or os.environ.get(tag_name, "")
    if not image_tag:
        raise InputError(f"welcher Tag soll live laufen? --image-tag TAG oder Umgebungsvariable {tag_name}")
    stable = args.stabil_tag or (os.environ.get(stage.tag_variables[1], "") if len(stage.tag_variables) > 1 else "")
    want = expected(stage, tag_values(stage, image_tag, stable or None))
    live = from_export_dir(args.export_dir) if args.export_dir else from_gcloud(stage)
    found = differences(stage, want, live)
    if args.json:
        print(json.dumps([f.__dict__ for f in found], ensure_ascii=False, indent=2))
    elif found:
        for difference in found:
            print(difference.format())
        print(f"{len(found)} Abweichung(en) zwischen {live.source} und den Manifesten von {stage.name}.")
    else:
        print(f"✓ {stage.name}: {len(want)} Dienste und Jobs wie in den Manifesten ({live.source}).")
    return EXIT_FINDINGS if found else EXIT_OK
