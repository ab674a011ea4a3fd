"""cloudrun/<stage>/<service>.yaml and <job>-job.yaml: Cloud Run manifests of the cloud stages.

Knative-style Admin API v1 resources: `serving.knative.dev/v1` Service and
`run.googleapis.com/v1` Job (YAML reference:
https://cloud.google.com/run/docs/reference/yaml/v1). Stages that deploy
with flags (Staging) keep them as the reference the deploy commands must
equal; the others apply them with `gcloud run … replace`.
"""

from __future__ import annotations

from typing import Any

from ..facts import CloudService, CloudStage, Facts
from .common import header
from .yamltext import dump

TITLE = "Cloud-Run-Manifeste"
OUT_DIR = "cloudrun"
OUTPUTS = (f"{OUT_DIR}/*/*.yaml",)
SERVICE_API = "serving.knative.dev/v1"
JOB_API = "run.googleapis.com/v1"
LOCATION_LABEL = "cloud.googleapis.com/location"

Manifest = dict[str, Any]


def manifest_path(stage: CloudStage, service: CloudService) -> str:
    return f"{OUT_DIR}/{stage.id}/{service.name}{'-job' if service.is_job else ''}.yaml"


def _env(stage: CloudStage, service: CloudService) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in service.env:
        if not entry.secret:
            out.append({"name": entry.name, "value": entry.value})
        elif entry.name in stage.secret_refs:
            ref = stage.secret_refs[entry.name]
            out.append(
                {"name": entry.name, "valueFrom": {"secretKeyRef": {"name": ref.secret_id, "key": str(ref.version)}}}
            )
        else:  # CI variable, set by `gcloud run deploy --set-env-vars` (see deploy.sh)
            out.append({"name": entry.name, "value": "${" + entry.name + "}"})
    return out


def _container(stage: CloudStage, service: CloudService) -> dict[str, Any]:
    container: dict[str, Any] = {"name": service.name, "image": service.image_ref}
    argv = service.cloud_command
    if argv:
        container["command"] = list(argv[:1])
        if argv[1:]:
            container["args"] = list(argv[1:])
    if service.container_port:
        container["ports"] = [{"name": "http1", "containerPort": service.container_port}]
    container["env"] = _env(stage, service)
    if service.probe_path and service.container_port and not stage.deploys_with_flags:
        # gcloud run deploy has no probe flags: probes only where manifests are applied
        probe = {"httpGet": {"path": service.probe_path, "port": service.container_port}}
        container["startupProbe"] = probe
        container["livenessProbe"] = probe
    return container


def _network_annotations(stage: CloudStage) -> dict[str, str]:
    out = {}
    if stage.cloudsql_connection:
        out["run.googleapis.com/cloudsql-instances"] = stage.cloudsql_connection
    out["run.googleapis.com/vpc-access-connector"] = stage.network.vpc_connector
    out["run.googleapis.com/vpc-access-egress"] = stage.network.vpc_egress
    return out


def _metadata(stage: CloudStage, service: CloudService, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": service.name,
        "namespace": stage.gcp.projekt,
        "labels": {LOCATION_LABEL: stage.gcp.region},
    }
    if annotations:
        meta["annotations"] = annotations
    return meta


def _traffic(stage: CloudStage, service: CloudService) -> list[dict[str, Any]]:
    if not service.canary or stage.canary is None:
        return [{"latestRevision": True, "percent": 100}]
    return [
        {"revisionName": service.stable_revision_name, "percent": stage.canary.stabil_prozent, "tag": "stabil"},
        {"latestRevision": True, "percent": stage.canary.canary_prozent, "tag": "canary"},
    ]


def service_manifest(stage: CloudStage, service: CloudService) -> Manifest:
    revision: dict[str, str] = {
        "autoscaling.knative.dev/minScale": str(service.min_instances),
        "autoscaling.knative.dev/maxScale": str(service.max_instances),
    }
    if service.background:
        revision["run.googleapis.com/cpu-throttling"] = "false"
    revision.update(_network_annotations(stage))
    template_meta: dict[str, Any] = {"annotations": revision}
    if service.revision_name:
        template_meta = {"name": service.revision_name, **template_meta}
    spec: dict[str, Any] = {
        "template": {
            "metadata": template_meta,
            "spec": {"serviceAccountName": stage.service_account, "containers": [_container(stage, service)]},
        }
    }
    if stage.canary is not None:
        spec["traffic"] = _traffic(stage, service)
    assert service.ingress is not None
    return {
        "apiVersion": SERVICE_API,
        "kind": "Service",
        "metadata": _metadata(stage, service, {"run.googleapis.com/ingress": service.ingress}),
        "spec": spec,
    }


def job_manifest(stage: CloudStage, service: CloudService) -> Manifest:
    return {
        "apiVersion": JOB_API,
        "kind": "Job",
        "metadata": _metadata(stage, service),
        "spec": {
            "template": {
                "metadata": {"annotations": _network_annotations(stage)},
                "spec": {
                    "taskCount": 1,  # a migration runs exactly once, never in parallel
                    "template": {
                        "spec": {
                            "serviceAccountName": stage.service_account,
                            "containers": [_container(stage, service)],
                        }
                    },
                },
            }
        },
    }


def manifest(stage: CloudStage, service: CloudService) -> Manifest:
    return job_manifest(stage, service) if service.is_job else service_manifest(stage, service)


def _note(stage: CloudStage) -> tuple[str, ...]:
    if stage.deploys_with_flags:
        return (
            "",
            f"Stage {stage.name}: Referenz der Konfiguration. Ausgerollt wird mit deploy.sh",
            "(gcloud run deploy --set-env-vars …); ${NAME} sind CI-Variablen.",
        )
    names = " ".join("${" + n + "}" for n in stage.manifest_variables)
    return (
        "",
        f"Stage {stage.name}: ausgerollt mit deploy.sh (gcloud run … replace),",
        f"vorher ersetzt envsubst {names}.",
    )


def render(facts: Facts) -> dict[str, str]:
    out = {}
    for stage in facts.cloud_stages:
        note = header("#", _note(stage))
        for service in stage.resources:
            out[manifest_path(stage, service)] = note + dump(manifest(stage, service))
    return out
