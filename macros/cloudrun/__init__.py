"""Cloud Run for the cloud stages: manifests, deploy scripts, offline validation.

- common.py      facts of a cloud service derived from the matrix (image, env, command ...)
- manifests.py   Knative-style Service / Job manifests as dicts and YAML text
- deploy.py      the CI deploy scripts (gcloud commands) per stage
- discovery.py   validation against the Cloud Run Admin API v1 discovery document
- annotations.py where Cloud Run reads which annotation
- resources.py   checklist of cloud resources with verifying gcloud commands
- site_macros.py macros for the stage pages (datei, download, deploy commands ...)
"""
