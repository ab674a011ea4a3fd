"""`python -m dockerstack`: the Docker engine status, offline images, leftovers.

    python -m dockerstack status   # Engine/Compose da? (REQUIRE_DOCKER=1: Exit 1, wenn nicht)
    python -m dockerstack images   # alle Offline-Images bauen (Cache: Inhalts-Hash)
    python -m dockerstack sweep    # Reste abgebrochener Läufe entfernen

Exit codes: 0 ok, 1 Docker required but missing, 2 an image could not be built.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _status(_args: argparse.Namespace) -> int:
    from . import engine

    reason = engine.unavailable_reason()
    if reason is None:
        print(f"✓ Docker-Stack-Prüfungen laufen: Engine {engine.engine_ok()}, Compose {engine.compose_cli()}")
        return 0
    if os.environ.get("REQUIRE_DOCKER") == "1":
        print(f"✗ REQUIRE_DOCKER=1, aber {reason}", file=sys.stderr)
        return 1
    print(f"⚠ Docker-Stack-Prüfungen übersprungen: {reason}. "
          "(Starten: siehe docs/runbooks/docker-stack.md; CI erzwingt sie mit REQUIRE_DOCKER=1)")
    return 0


def _images(_args: argparse.Namespace) -> int:
    from macros.compose import compose_stage, planned_services
    from macros.matrix import load_matrix

    from . import engine, images

    try:
        engine.engine_ok()
        matrix = load_matrix()
        kinds = [p.art for p in planned_services(matrix, compose_stage(matrix)) if p.profile is None]
        started = time.monotonic()
        tags = images.ensure_all(matrix, images.needed_images(kinds))
        removed = images.prune_stale(tags)
    except (engine.DockerUnavailable, engine.DockerFailed, images.BuildFailed) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    print(f"✓ {len(tags)} Offline-Images bereit in {time.monotonic() - started:.0f} s"
          + (f", {removed} veraltete Tags entfernt" if removed else ""))
    for name, tag in tags.items():
        print(f"    {name:9} {tag}")
    return 0


def _sweep(_args: argparse.Namespace) -> int:
    from . import engine, stack

    try:
        engine.engine_ok()
    except engine.DockerUnavailable as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    removed = stack.sweep()
    if not removed:
        print("✓ keine Reste früherer Läufe")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dockerstack",
                                     description="Docker-Stack der Umgebungsmatrix: Status, Offline-Images, Reste")
    sub = parser.add_subparsers(dest="befehl", metavar="BEFEHL", required=True)
    for name, help_text, run in (
            ("status", "Läuft eine Docker-Engine mit Compose? (REQUIRE_DOCKER=1: Exit 1, wenn nicht)", _status),
            ("images", "alle Offline-Images bauen, soweit nicht im Cache (debootstrap-Basis, ohne Registry)",
             _images),
            ("sweep", "Container/Netze/Volumes abgebrochener Läufe entfernen (Label umgebungsmatrix.run)",
             _sweep)):
        sub.add_parser(name, help=help_text, description=help_text).set_defaults(run=run)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("Abgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
