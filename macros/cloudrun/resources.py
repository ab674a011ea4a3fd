"""Checklist of the cloud resources a stage needs, each with the gcloud command that verifies it."""

from __future__ import annotations

from dataclasses import dataclass

from macros.model import Matrix, Stage

from . import common as c

APIS = ("run.googleapis.com", "sqladmin.googleapis.com", "vpcaccess.googleapis.com", "redis.googleapis.com",
        "artifactregistry.googleapis.com")


@dataclass(frozen=True)
class Resource:
    titel: str
    name: str
    befehl: str
    erwartet: str = ""


def _registry_parts(matrix: Matrix) -> tuple[str, str, str]:
    """europe-west3-docker.pkg.dev/PROJECT/REPO -> (location, project, repository)."""
    host, project, repository = matrix.plattform.artefakte.registry.split("/")[:3]
    return host.removesuffix("-docker.pkg.dev"), project, repository


def checklist(matrix: Matrix, stage: Stage) -> list[Resource]:
    gcp, netz = stage.gcp, stage.netz
    assert gcp is not None
    p, r = f"--project {gcp.projekt}", f"--region {gcp.region}"
    apis = list(APIS) + (["secretmanager.googleapis.com"] if stage.secrets.quelle == "secret_manager" else [])
    location, reg_project, repository = _registry_parts(matrix)
    sql_fields = "settings.ipConfiguration.ipv4Enabled,settings.ipConfiguration.privateNetwork," \
                 "settings.backupConfiguration.pointInTimeRecoveryEnabled"
    private = not c.public_cloudsql(stage)
    out = [
        Resource("GCP-Projekt", gcp.projekt, f"gcloud projects describe {gcp.projekt}", "lifecycleState: ACTIVE"),
        Resource("APIs aktiviert", ", ".join(apis),
                 f"gcloud services list --enabled {p} --filter=\"config.name:({' '.join(apis)})\"",
                 f"{len(apis)} Zeilen"),
        Resource("Artifact Registry (Images aller Stages)", matrix.plattform.artefakte.registry,
                 f"gcloud artifacts repositories describe {repository} --location {location} --project {reg_project}",
                 "format: DOCKER"),
        Resource("Cloud-SQL-Instanz (Postgres)", netz.cloudsql_instanz,  # type: ignore[union-attr]
                 f"gcloud sql instances describe {netz.cloudsql_instanz} {p} "  # type: ignore[union-attr]
                 f"--format=\"value(databaseVersion,{sql_fields})\"",
                 f"POSTGRES_{matrix.plattform.postgres.version}; Public IP "
                 f"{'False' if private else 'True'}"
                 + ("; privates Netz gesetzt" if private else "")
                 + f"; PITR {'True' if stage.datenbank.pitr else 'False'}"),
        Resource("Datenbank in der Instanz", matrix.plattform.postgres.datenbank,
                 f"gcloud sql databases describe {matrix.plattform.postgres.datenbank} "
                 f"--instance {netz.cloudsql_instanz} {p}"),  # type: ignore[union-attr]
        Resource("Memorystore (Redis)", netz.memorystore_instanz,  # type: ignore[union-attr]
                 f"gcloud redis instances describe {netz.memorystore_instanz} {r} {p} "  # type: ignore[union-attr]
                 "--format=\"value(redisVersion,host,state)\"",
                 f"REDIS_{matrix.plattform.redis.version}_X, READY"),
        Resource("Serverless-VPC-Access-Connector", netz.vpc_connector,  # type: ignore[union-attr]
                 f"gcloud compute networks vpc-access connectors describe {netz.vpc_connector} "  # type: ignore[union-attr]
                 f"{r} {p} --format=\"value(state)\"", "READY"),
        Resource("Service Account der Dienste", c.service_account(stage),
                 f"gcloud iam service-accounts describe {c.service_account(stage)} {p}"),
    ]
    if stage.secrets.quelle == "secret_manager":
        for name, version in stage.secrets.versionen.items():  # type: ignore[union-attr]
            out.append(Resource(f"Secret {name} (gepinnte Version {version})", c.secret_id(name),
                                f"gcloud secrets versions describe {version} --secret {c.secret_id(name)} {p} "
                                "--format=\"value(state)\"", "ENABLED"))
    web = [v for v in c.cloud_services(matrix, stage) if c.ingress(stage, v) == "internal-and-cloud-load-balancing"]
    for view in web:
        out.append(Resource(f"HTTPS-Load-Balancer vor {view.name} (serverlose NEG)", view.name,
                            f"gcloud compute network-endpoint-groups list {p} "
                            f"--filter=\"cloudRun.service={view.name}\"", "eine NEG in " + gcp.region))
    return out


def ci_variables(matrix: Matrix, stage: Stage) -> list[str]:
    """CI variables a stage's deploy script needs (image tags and, for Staging, the secrets)."""
    from .deploy import steps

    names: list[str] = []
    for step in steps(matrix, stage):
        names += [n for n in step.refs if n not in names]
    return names
