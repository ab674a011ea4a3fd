"""Real consumers: the artifacts judged by the programs that will consume them.

Self-contained on purpose (plain functions over strings and paths, no imports
from macros/ or the other checks/ modules):

- gcloud.py        – the installed Google Cloud CLI, offline, with a throw-away
                     config: verdicts for commands and deploy scripts, its own
                     parser for ``--set-env-vars``.
- yaml_versions.py – the same YAML text read as YAML 1.1 (PyYAML), YAML 1.2
                     (ruamel) and as gcloud reads it (its bundled ruamel).
- umgebungsmatrix/artifacts/revisions.py – Docker tag -> Cloud Run revision name suffix (Python and
                     the same transform in bash for deploy.sh).
"""
