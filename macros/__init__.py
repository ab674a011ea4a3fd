"""Umgebungsmatrix: loading, validation and rendering of matrix/umgebungen.yaml.

Also the mkdocs-macros module: mkdocs-macros calls define_env() on every
(re)build; the work happens in macros/site.py.
"""


def define_env(env) -> None:  # noqa: ANN001 (mkdocs-macros passes its env)
    from .devreload import fresh_site

    fresh_site().define_env(env)
