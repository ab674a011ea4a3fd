"""The site layer: the mkdocs-macros module (define_env) and the mkdocs hooks.

mkdocs-macros imports this package and calls define_env() on every (re)build;
the work happens in macros/site.py over the facts of `umgebungsmatrix`.
"""


def define_env(env) -> None:
    from .devreload import fresh_site

    fresh_site().define_env(env)


def on_pre_page_macros(env) -> None:
    from .devreload import current_site

    current_site().on_pre_page_macros(env)
