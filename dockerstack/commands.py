"""`umgebungsmatrix docker …`: the Docker engine status, offline images, leftovers.

    umgebungsmatrix docker status   # Engine/Compose da? (REQUIRE_DOCKER=1: Exit 2, wenn nicht)
    umgebungsmatrix docker images   # alle Offline-Images bauen (Cache: Inhalts-Hash)
    umgebungsmatrix docker sweep    # Reste abgebrochener Läufe entfernen

Errors are InputError subclasses (exit 2: Docker missing, an image could not be built).
"""

from __future__ import annotations

import argparse
import os
import time

from umgebungsmatrix.errors import InputError
from umgebungsmatrix.facts import Facts


def status(_args: argparse.Namespace, _facts: Facts) -> int:
    from . import engine

    reason = engine.unavailable_reason()
    if reason is None:
        print(f"✓ Docker-Stack-Prüfungen laufen: Engine {engine.engine_ok()}, Compose {engine.compose_cli()}")
        return 0
    if os.environ.get("REQUIRE_DOCKER") == "1":
        raise engine.DockerUnavailable(f"✗ REQUIRE_DOCKER=1, aber {reason}")
    print(
        f"⚠ Docker-Stack-Prüfungen übersprungen: {reason}. "
        "(siehe docs/runbooks/docker-stack.md; CI erzwingt sie mit REQUIRE_DOCKER=1)"
    )
    return 0


def images(_args: argparse.Namespace, facts: Facts) -> int:
    from . import engine
    from . import images as offline

    engine.engine_ok()
    started = time.monotonic()
    tags = offline.ensure_all(facts)
    removed = offline.prune_stale(tags)
    print(
        f"✓ {len(tags)} Offline-Images bereit in {time.monotonic() - started:.0f} s"
        + (f", {removed} veraltete Tags entfernt" if removed else "")
    )
    for name, tag in tags.items():
        print(f"    {name:9} {tag}")
    return 0


def sweep(_args: argparse.Namespace, _facts: Facts) -> int:
    from . import engine, stack

    engine.engine_ok()
    removed = stack.sweep()
    if not removed:
        print("✓ keine Reste früherer Läufe")
    return 0


SUBCOMMANDS = (
    ("status", "Läuft eine Docker-Engine mit Compose? (REQUIRE_DOCKER=1: Exit 2, wenn nicht)", status),
    ("images", "alle Offline-Images bauen, soweit nicht im Cache (debootstrap-Basis, ohne Registry)", images),
    ("sweep", "Container/Netze/Volumes abgebrochener Läufe entfernen (Label umgebungsmatrix.run)", sweep),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="docker_befehl", metavar="BEFEHL", required=True)
    for name, help_text, fn in SUBCOMMANDS:
        sub.add_parser(name, help=help_text, description=help_text).set_defaults(docker_run=fn)


def run(args: argparse.Namespace, facts: Facts) -> int:
    try:
        return int(args.docker_run(args, facts))
    except InputError as exc:  # cli.main prints the message as it is
        if str(exc).startswith("✗"):
            raise
        raise type(exc)(f"✗ {exc}") from None
