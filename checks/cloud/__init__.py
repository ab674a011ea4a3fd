"""Read-only audits of the cloud stages against the matrix (the seed's second step).

- diff.py  – `cloud-diff`: live Cloud Run services and jobs against the generated manifests.
- audit.py – `cloud-check`: the stage page's checklist resources (Cloud SQL, Memorystore, VPC
             connector, secrets, service account, Artifact Registry, invokers) against the matrix.
- gcloud.py – the one way both reach the cloud: `gcloud` with read-only verbs only.
"""
