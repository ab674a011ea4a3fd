"""Command line of the Umgebungsmatrix: `umgebungsmatrix --help`.

Exit codes: 0 ok, 1 a check found drift or a broken rule, 2 bad input
(the matrix or a file given by the user is invalid).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .matrix import MATRIX_FILE, MatrixError, display_path, load_matrix

EXIT_OK, EXIT_DRIFT, EXIT_INPUT = 0, 1, 2

# Subcommands register here: name -> (help, add_arguments, run). Other
# packages (checks, generators) add theirs in register_commands().
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _validate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("datei", nargs="?", type=Path, default=MATRIX_FILE,
                        help="Matrix-Datei (Standard: matrix/umgebungen.yaml)")
    parser.add_argument("--ohne-seiten", action="store_true",
                        help="nicht prüfen, ob verlinkte Seiten in docs/ existieren")


def _validate_run(args: argparse.Namespace) -> int:
    from .matrix import DOCS_DIR

    matrix = load_matrix(args.datei, docs_dir=None if args.ohne_seiten else DOCS_DIR)
    print(f"✓ {display_path(args.datei)} ist gültig: {len(matrix.stages)} Stages, "
          f"{len(matrix.spalten)} Spalten, {len(matrix.variablen)} Variablen.")
    return EXIT_OK


COMMANDS: dict[str, Command] = {
    "validate": ("Matrix laden und prüfen (Exit 2 bei Fehlern)", _validate_args, _validate_run),
}


def register(name: str, help_text: str, add_arguments: Callable[[argparse.ArgumentParser], None],
             run: Callable[[argparse.Namespace], int]) -> None:
    COMMANDS[name] = (help_text, add_arguments, run)


def _load_plugins() -> None:
    """Import modules that register further subcommands, if they exist."""
    import importlib

    for module in ("checks.commands",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    # Modules listed in checks.registry.MODULES may register subcommands too.
    registry = sys.modules.get("checks.registry")
    if registry is not None:
        registry.load_modules()


def _needs_plugins(argv: list[str] | None) -> bool:
    """`validate` lives here: checking the matrix must not depend on any plugin module."""
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    return first != "validate"


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    if _needs_plugins(argv):
        _load_plugins()
    parser = argparse.ArgumentParser(
        prog="umgebungsmatrix",
        description="Umgebungsmatrix: eine Datenquelle für Tabelle, Runbooks, Compose und Cloud Run.",
    )
    sub = parser.add_subparsers(dest="befehl", metavar="BEFEHL", required=True)
    for name, (help_text, add_arguments, _run) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.befehl][2](args)
    except MatrixError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("Abgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
