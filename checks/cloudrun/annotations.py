"""Where Cloud Run reads which annotation (Admin API v1, YAML reference).

An annotation of a Cloud Run namespace at another level is silently ignored
by Cloud Run, so the checks treat it as an error.
"""

from __future__ import annotations

SERVICE = "Service-Metadaten"
REVISION = "Revisionsvorlage (spec.template.metadata)"
JOB = "Job-Metadaten"
EXECUTION = "Execution-Vorlage (spec.template.metadata)"

# Namespaces that belong to Cloud Run/Knative: unknown keys there are errors.
OWNED_PREFIXES = ("run.googleapis.com/", "autoscaling.knative.dev/", "serving.knative.dev/")

LEVELS: dict[str, frozenset[str]] = {
    "run.googleapis.com/ingress": frozenset({SERVICE}),
    "run.googleapis.com/ingress-status": frozenset({SERVICE}),
    "run.googleapis.com/launch-stage": frozenset({SERVICE, JOB}),
    "run.googleapis.com/description": frozenset({SERVICE, JOB}),
    "run.googleapis.com/binary-authorization": frozenset({SERVICE, JOB}),
    "run.googleapis.com/binary-authorization-breakglass": frozenset({SERVICE, JOB}),
    "run.googleapis.com/minScale": frozenset({SERVICE}),
    "run.googleapis.com/maxScale": frozenset({SERVICE}),
    "run.googleapis.com/invoker-iam-disabled": frozenset({SERVICE}),
    "run.googleapis.com/custom-audiences": frozenset({SERVICE}),
    "autoscaling.knative.dev/minScale": frozenset({REVISION}),
    "autoscaling.knative.dev/maxScale": frozenset({REVISION}),
    "run.googleapis.com/cpu-throttling": frozenset({REVISION}),
    "run.googleapis.com/startup-cpu-boost": frozenset({REVISION}),
    "run.googleapis.com/sessionAffinity": frozenset({REVISION}),
    "run.googleapis.com/container-dependencies": frozenset({REVISION}),
    "run.googleapis.com/cloudsql-instances": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/execution-environment": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/vpc-access-connector": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/vpc-access-egress": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/network-interfaces": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/encryption-key": frozenset({REVISION, EXECUTION}),
    "run.googleapis.com/secrets": frozenset({REVISION, EXECUTION}),
}

# Allowed values where Cloud Run accepts only a few.
VALUES: dict[str, frozenset[str]] = {
    "run.googleapis.com/ingress": frozenset({"all", "internal", "internal-and-cloud-load-balancing"}),
    "run.googleapis.com/vpc-access-egress": frozenset({"all-traffic", "private-ranges-only", "all"}),
    "run.googleapis.com/cpu-throttling": frozenset({"true", "false"}),
    "run.googleapis.com/startup-cpu-boost": frozenset({"true", "false"}),
    "run.googleapis.com/execution-environment": frozenset({"gen1", "gen2"}),
}
INTEGER_VALUED = frozenset(
    {
        "autoscaling.knative.dev/minScale",
        "autoscaling.knative.dev/maxScale",
        "run.googleapis.com/minScale",
        "run.googleapis.com/maxScale",
    }
)

# Metadata paths of a manifest and the level they stand for, by kind.
METADATA_LEVELS: dict[str, dict[tuple[str, ...], str]] = {
    "Service": {("metadata",): SERVICE, ("spec", "template", "metadata"): REVISION},
    "Job": {("metadata",): JOB, ("spec", "template", "metadata"): EXECUTION},
}


def level_problem(key: str, level: str) -> str | None:
    """German problem text if `key` does not belong at `level`, else None."""
    levels = LEVELS.get(key)
    if levels is None:
        if key.startswith(OWNED_PREFIXES):
            return f"unbekannte Cloud-Run-Annotation „{key}“"
        return None
    if level not in levels:
        where = " oder ".join(sorted(levels))
        return f"Annotation „{key}“ steht in den {level}, Cloud Run liest sie nur in: {where}"
    return None


def value_problem(key: str, value: str) -> str | None:
    if key in VALUES and value not in VALUES[key]:
        return f"„{key}: {value}“ ist ungültig (erlaubt: {', '.join(sorted(VALUES[key]))})"
    if key in INTEGER_VALUED and not value.isdigit():
        return f"„{key}“ braucht eine ganze Zahl als Text, nicht „{value}“"
    return None
