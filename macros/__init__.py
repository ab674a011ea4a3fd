"""Umgebungsmatrix: loading, validation and rendering of matrix/umgebungen.yaml.

Also the mkdocs-macros module (see define_env in macros/site.py).
"""

from .site import define_env  # noqa: F401  (entry point for mkdocs-macros)
