"""The stack providers by name: the one place that knows the implementations.

    with provider_for("embedded", plan, progress) as endpoints:
        results = run_checks(matrix, plan, endpoints)

The interface (`provider.Provider`) knows none of them, so there is no import loop.
"""

from __future__ import annotations

from typing import Any

from .plan import StackPlan
from .provider import Progress, Provider, StackError

PROVIDERS = ("embedded", "docker", "external")


def provider_for(name: str, plan: StackPlan, progress: Progress, **options: Any) -> Provider:
    """A provider instance; StackError (exit 2) for an unknown name."""
    if name == "embedded":
        from .embedded import EmbeddedProvider

        return EmbeddedProvider(plan, progress, **options)
    if name == "external":
        from .external import ExternalProvider

        return ExternalProvider(plan, progress, **options)
    if name == "docker":
        from .docker import DockerProvider

        return DockerProvider(plan, progress, **options)
    raise StackError(f"unbekannter Provider „{name}“ (möglich: {', '.join(PROVIDERS)})")
