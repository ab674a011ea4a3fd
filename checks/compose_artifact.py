"""compose/docker-compose.yml and .env.example are generated artifacts."""

from __future__ import annotations

from macros.compose import artifacts
from macros.model import Matrix

from .registry import artifact_provider


@artifact_provider("Compose-Datei und .env.example (Dev lokal)")
def compose_artifacts(matrix: Matrix) -> dict[str, str]:
    return artifacts(matrix)
