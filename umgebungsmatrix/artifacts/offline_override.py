"""compose/offline/docker-compose.offline.yml: the compose stage with locally built images.

The Docker stack check runs without a registry: every service of the compose
stage gets an offline image built from compose/offline/*/Dockerfile
(dockerstack.images builds them). Exact tags come from environment variables
the stack run sets; by hand the `:latest` tags of the last build are used.
A service without an offline image (a profile service, a third-party image
without stand-in) is listed in the header and keeps its upstream image.
"""

from __future__ import annotations

from typing import Any

from ..facts import ComposeService, Facts
from .common import header
from .compose_file import PATH as COMPOSE_PATH
from .yamltext import dump

TITLE = "Offline-Override der Compose-Datei (Docker-Stack ohne Registry)"
PATH = "compose/offline/docker-compose.offline.yml"
OUTPUTS = (PATH,)
REPOSITORY = "umgebungsmatrix-offline"
APP_IMAGE = "app"  # one image with the reference app serves every own artifact
# Third-party images with an offline stand-in (repository without tag -> offline image).
STANDINS = {"ghcr.io/berriai/litellm": "litellm"}
STANDIN_HEALTH_ENV = "LITELLM_STANDIN_HEALTH"  # read by compose/offline/litellm/standin.py


def image_env(image: str) -> str:
    """Environment variable that pins the offline image `image` (exact tag)."""
    return f"UMGEBUNGSMATRIX_OFFLINE_{image.upper()}"


def latest_of(image: str) -> str:
    return f"{REPOSITORY}/{image}:latest"


def offline_image(service: ComposeService) -> str | None:
    """Name of the offline image that runs `service`, or None if there is none."""
    if service.artifact is not None:
        return APP_IMAGE
    if service.role in ("postgres", "redis"):
        return service.role
    return STANDINS.get(repository(service.image or ""))


def repository(image: str) -> str:
    """`ghcr.io/x/y:tag` -> `ghcr.io/x/y` (a registry port `host:5000/y` stays)."""
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


def offline_services(facts: Facts) -> dict[str, str]:
    """Compose service name -> offline image, for the services started by default."""
    out = {}
    for service in facts.compose_stage.services:
        image = offline_image(service)
        if service.profile is None and image is not None:
            out[service.name] = image
    return out


def document(facts: Facts) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for name, image in offline_services(facts).items():
        service = facts.compose_stage.service(name)
        entry: dict[str, Any] = {"image": f"${{{image_env(image)}:-{latest_of(image)}}}"}
        if image in STANDINS.values():
            entry["command"] = ["--port", str(service.port)]
            entry["environment"] = {STANDIN_HEALTH_ENV: service.health_path or "/"}
        services[name] = entry
    return {"services": services}


def render(facts: Facts) -> dict[str, str]:
    stage = facts.compose_stage
    skipped = [s.name for s in stage.services if s.name not in offline_services(facts)]
    intro = [
        "",
        f"Offline-Override für {COMPOSE_PATH} ({stage.name}): alle Dienste laufen mit lokal",
        "gebauten Images (compose/offline/*/Dockerfile), ohne Registry. LiteLLM ist dabei nur ein",
        "OFFLINE-ERSATZ, der seinen Health-Pfad beantwortet – kein echtes LiteLLM.",
        "Images bauen und den Stack prüfen: make check-stack STACK=docker",
        f"Von Hand: docker compose -f {COMPOSE_PATH} -f {PATH} up -d",
    ]
    if skipped:
        intro.append(f"Nicht offline verfügbar: {', '.join(skipped)}.")
    return {PATH: header("#", tuple(intro)) + "\n" + dump(document(facts))}
