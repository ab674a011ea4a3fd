"""Knative-style Cloud Run manifests (Admin API v1) for the cloud stages.

One file per resource: cloudrun/<stage>/<service>.yaml (serving.knative.dev/v1
Service) and cloudrun/<stage>/<job>-job.yaml (run.googleapis.com/v1 Job).
"""

from __future__ import annotations

from typing import Any

import yaml

from macros.model import Matrix, Stage
from macros.render import ServiceView

from . import common as c

SERVICE_API = "serving.knative.dev/v1"
JOB_API = "run.googleapis.com/v1"
LOCATION_LABEL = "cloud.googleapis.com/location"

Manifest = dict[str, Any]


def _env(matrix: Matrix, stage: Stage, view: ServiceView) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in c.env_entries(matrix, stage, view):
        if not entry.secret:
            out.append({"name": entry.name, "value": entry.value})
        elif stage.secrets.quelle == "secret_manager":
            version = stage.secrets.versionen[entry.name]  # type: ignore[union-attr]
            out.append({"name": entry.name, "valueFrom": {"secretKeyRef": {
                "name": c.secret_id(entry.name), "key": str(version)}}})
        else:  # CI variable, set by `gcloud run deploy --set-env-vars` (see deploy.sh)
            out.append({"name": entry.name, "value": "${" + entry.name + "}"})
    return out


def _container(matrix: Matrix, stage: Stage, view: ServiceView) -> dict[str, Any]:
    container: dict[str, Any] = {"name": view.name, "image": c.image(matrix, view)}
    argv = c.command(matrix, stage, view)
    if argv:
        container["command"] = argv[:1]
        if argv[1:]:
            container["args"] = argv[1:]
    port = c.container_port(matrix, view)
    if port and not view.is_job:
        container["ports"] = [{"name": "http1", "containerPort": port}]
    container["env"] = _env(matrix, stage, view)
    path = c.health_path(matrix, view)
    if path and port and not view.is_job and not c.deploys_with_flags(stage):
        # gcloud run deploy has no probe flags: probes only where manifests are applied
        container["startupProbe"] = {"httpGet": {"path": path, "port": port}}
        container["livenessProbe"] = {"httpGet": {"path": path, "port": port}}
    return container


def _network_annotations(stage: Stage) -> dict[str, str]:
    netz = stage.netz
    out = {}
    if c.public_cloudsql(stage):
        out["run.googleapis.com/cloudsql-instances"] = c.cloudsql_connection(stage)
    out["run.googleapis.com/vpc-access-connector"] = netz.vpc_connector  # type: ignore[union-attr]
    out["run.googleapis.com/vpc-access-egress"] = netz.vpc_egress  # type: ignore[union-attr]
    return out


def _metadata(stage: Stage, view: ServiceView, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    gcp = stage.gcp
    assert gcp is not None
    meta: dict[str, Any] = {"name": view.name, "namespace": gcp.projekt,
                            "labels": {LOCATION_LABEL: gcp.region}}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _traffic(matrix: Matrix, stage: Stage, view: ServiceView) -> list[dict[str, Any]]:
    if not c.uses_canary(stage, view):
        return [{"latestRevision": True, "percent": 100}]
    canary = stage.canary
    assert canary is not None
    return [
        {"revisionName": c.revision_name(matrix, view, canary.stabil_tag_variable),
         "percent": canary.stabil_prozent, "tag": "stabil"},
        {"latestRevision": True, "percent": canary.canary_prozent, "tag": "canary"},
    ]


def service_manifest(matrix: Matrix, stage: Stage, view: ServiceView) -> Manifest:
    revision_annotations = {
        "autoscaling.knative.dev/minScale": str(view.min),
        "autoscaling.knative.dev/maxScale": str(view.max),
    }
    if c.is_queue_consumer(matrix, view):
        revision_annotations["run.googleapis.com/cpu-throttling"] = "false"
    revision_annotations.update(_network_annotations(stage))
    template_meta: dict[str, Any] = {"annotations": revision_annotations}
    if c.uses_canary(stage, view):
        template_meta = {"name": c.revision_name(matrix, view), **template_meta}
    spec: dict[str, Any] = {
        "template": {
            "metadata": template_meta,
            "spec": {"serviceAccountName": c.service_account(stage),
                     "containers": [_container(matrix, stage, view)]},
        },
    }
    if stage.canary is not None:
        spec["traffic"] = _traffic(matrix, stage, view)
    return {
        "apiVersion": SERVICE_API,
        "kind": "Service",
        "metadata": _metadata(stage, view, {"run.googleapis.com/ingress": c.ingress(stage, view)}),
        "spec": spec,
    }


def job_manifest(matrix: Matrix, stage: Stage, view: ServiceView) -> Manifest:
    return {
        "apiVersion": JOB_API,
        "kind": "Job",
        "metadata": _metadata(stage, view),
        "spec": {"template": {
            "metadata": {"annotations": _network_annotations(stage)},
            "spec": {
                "taskCount": 1,  # a migration runs exactly once, never in parallel
                "template": {"spec": {
                    "serviceAccountName": c.service_account(stage),
                    "containers": [_container(matrix, stage, view)],
                }},
            },
        }},
    }


def stage_manifests(matrix: Matrix, stage: Stage) -> dict[str, Manifest]:
    out = {c.manifest_path(stage, v): service_manifest(matrix, stage, v) for v in c.cloud_services(matrix, stage)}
    out.update({c.manifest_path(stage, v): job_manifest(matrix, stage, v) for v in c.cloud_jobs(matrix, stage)})
    return out


def all_manifests(matrix: Matrix) -> dict[str, Manifest]:
    out: dict[str, Manifest] = {}
    for stage in c.cloud_stages(matrix):
        out.update(stage_manifests(matrix, stage))
    return out


def header(comment: str = "#", extra: tuple[str, ...] = ()) -> str:
    return "".join(f"{comment} {line}\n" if line else f"{comment}\n" for line in (*c.HEADER_LINES, *extra))


def to_yaml(manifest: Manifest, extra_header: tuple[str, ...] = ()) -> str:
    body = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=10_000)
    return header("#", extra_header) + body


class _Dumper(yaml.SafeDumper):
    """Indent sequences inside mappings (the style of the Cloud Run docs)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        return super().increase_indent(flow, False)


def manifest_texts(matrix: Matrix) -> dict[str, str]:
    out = {}
    for stage in c.cloud_stages(matrix):
        note = _note(matrix, stage)
        for path, manifest in stage_manifests(matrix, stage).items():
            out[path] = to_yaml(manifest, note)
    return out


def _note(matrix: Matrix, stage: Stage) -> tuple[str, ...]:
    names = " ".join("${" + n + "}" for n in c.placeholders(matrix, stage))
    if stage.secrets.quelle == "ci_variablen":
        return ("", f"Stage {stage.name}: Referenz der Konfiguration. Ausgerollt wird mit deploy.sh",
                f"(gcloud run deploy {stage.secrets.gcloud_flag} …); ${{NAME}} sind CI-Variablen.")
    return ("", f"Stage {stage.name}: ausgerollt mit deploy.sh (gcloud run … replace),",
            f"vorher ersetzt envsubst {names}.")
