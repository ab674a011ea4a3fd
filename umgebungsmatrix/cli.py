"""The command line, assembled in one place: `umgebungsmatrix --help` (also `python -m umgebungsmatrix`).

Exit codes: 0 ok, 1 a check found drift or a broken rule, 2 bad input (the
matrix, a file given, the environment). The mapping lives on the exception
classes (umgebungsmatrix.errors); `main` is the one place that catches them.
Commands import their module only when they run: `validate` never loads a check.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import EXIT_INTERRUPTED, EXIT_OK, UmxError
from .paths import DOCS_DIR, MATRIX_FILE, display_path


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str  # module with the argument and run functions (imported when chosen)
    arguments: str = "add_arguments"  # fn(parser)
    run: str = "run"  # fn(args, facts) -> exit code


COMMANDS = (
    Command("validate", "Matrix laden und prüfen (Exit 2 bei Fehlern)", "umgebungsmatrix.cli"),
    Command(
        "generate",
        "Alle erzeugten Dateien aus der Matrix schreiben (nur geänderte, atomar; verwaiste löschen)",
        "checks.gate",
        "no_arguments",
        "generate",
    ),
    Command(
        "check",
        "Drift und Leitplanken prüfen, nichts schreiben (Exit 1 bei Abweichung)",
        "checks.gate",
        "no_arguments",
        "check",
    ),
    Command(
        "secret-scan",
        "Nach geheimen Werten suchen: erzeugte Dateien, docs/, site/ und genannte Ordner "
        "(Exit 1 bei Fund; Werte werden nie angezeigt)",
        "checks.secret_scan",
    ),
    Command(
        "schema-check",
        "RAG-Schema (SQL) gegen die Matrix prüfen (Exit 1 bei Verstößen, 2 bei unlesbarer Datei)",
        "checks.schema_sql.register",
    ),
    Command(
        "check-stack",
        "Dev-Stack starten und die Aussagen der Doku live prüfen (Postgres, pgvector, "
        "Queues; STACK=embedded|docker|external)",
        "checks.stack.command",
    ),
    Command(
        "cloud-diff",
        "Live-Dienste und -Jobs einer Cloud-Stage mit den Manifesten vergleichen, nur lesend "
        "(Exit 1 bei Abweichung, 2 ohne Zugriff oder bei falscher Eingabe)",
        "checks.cloud.diff",
    ),
    Command(
        "cloud-check",
        "Ressourcen einer Cloud-Stage (Cloud SQL, Memorystore, Connector, Secrets, Dienstkonto, "
        "Registry, Aufrufer) lesend gegen die Matrix prüfen (Exit 1 bei Abweichung)",
        "checks.cloud.audit",
    ),
    Command(
        "docker",
        "Docker-Stack: Engine-Status, Offline-Images, Reste abgebrochener Läufe",
        "dockerstack.commands",
        "add_arguments",
        "run",
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "datei", nargs="?", type=Path, default=MATRIX_FILE, help="Matrix-Datei (Standard: matrix/umgebungen.yaml)"
    )
    parser.add_argument(
        "--ohne-seiten", action="store_true", help="nicht prüfen, ob verlinkte Seiten in docs/ existieren"
    )


def run(args: argparse.Namespace, facts: object) -> int:
    from .facts import Facts

    assert isinstance(facts, Facts)
    print(
        f"✓ {display_path(args.datei)} ist gültig: {len(facts.stages)} Stages, "
        f"{len(facts.columns)} Spalten, {len(facts.matrix.variablen)} Variablen."
    )
    return EXIT_OK


# argparse's own texts (it looks them up through gettext at run time), in German
_ARGPARSE_DE = {
    "usage: ": "Aufruf: ",
    "positional arguments": "Argumente",
    "options": "Optionen",
    "show this help message and exit": "diese Hilfe zeigen und beenden",
    "the following arguments are required: %s": "diese Argumente fehlen: %s",
    "unrecognized arguments: %s": "unbekannte Argumente: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "ungültige Wahl: %(value)r (möglich: %(choices)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s: Fehler: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "Argument %(argument_name)s: %(message)s",
    "expected one argument": "erwartet einen Wert",
    "expected at least one argument": "erwartet mindestens einen Wert",
    "expected at most one argument": "erwartet höchstens einen Wert",
    "not allowed with argument %s": "nicht zusammen mit %s erlaubt",
    "ambiguous option: %(option)s could match %(matches)s": "mehrdeutige Option: %(option)s passt zu %(matches)s",
    "invalid %(type)s value: %(value)r": "ungültiger Wert (%(type)s): %(value)r",
    "show program's version number and exit": "Version zeigen und beenden",
}


def _german(text: str) -> str:
    return _ARGPARSE_DE.get(text, text)


class _Parser(argparse.ArgumentParser):
    """argparse with German texts; an unknown argument is reported by the subcommand it belongs to."""

    _children: dict[str, argparse.ArgumentParser]

    def parse_args(self, args=None, namespace=None):
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            child = self._children.get(getattr(parsed, "befehl", None) or "", self)
            child.error(_german("unrecognized arguments: %s") % " ".join(extra))
        return parsed


argparse._ = _german  # type: ignore[attr-defined]


def _resolve(command: Command) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]:
    module = importlib.import_module(command.module)
    return getattr(module, command.arguments), getattr(module, command.run)


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, dict[str, Callable[..., int]]]:
    parser = _Parser(
        prog="umgebungsmatrix",
        description="Umgebungsmatrix: eine Datenquelle für Tabelle, Runbooks, Compose und Cloud Run.",
    )
    parser._children = {}
    sub = parser.add_subparsers(dest="befehl", metavar="BEFEHL", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    runners: dict[str, Callable[..., int]] = {}
    for command in COMMANDS:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        parser._children[command.name] = child
        if command.name == chosen:  # only the chosen command's module is imported
            add, runner = _resolve(command)
            add(child)
            runners[command.name] = runner
    return parser, runners


def _facts(args: argparse.Namespace):
    from .facts import load

    if args.befehl == "validate":
        return load(args.datei, None if args.ohne_seiten else DOCS_DIR)
    return load()


WARNING_COMMANDS = ("validate", "check", "generate")  # commands that say what is about to go stale


def _warn(facts: object) -> None:
    """German warnings of a valid matrix (e.g. an ended QA window), one per line on stderr."""
    from datetime import UTC, datetime

    from .facts import Facts, warnings

    assert isinstance(facts, Facts)
    for line in warnings(facts, datetime.now(UTC).date()):
        print(f"Warnung: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, runners = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        facts = _facts(args)
        if args.befehl in WARNING_COMMANDS:
            _warn(facts)
        return runners[args.befehl](args, facts)
    except UmxError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Abgebrochen.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
