"""`umgebungsmatrix check-stack`: start the Dev stack and prove the docs' claims.

Exit codes: 0 all checks passed, 1 a check failed, 2 the stack could not be
started/reached or the request was refused, 128+N after signal N.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from umgebungsmatrix.errors import EXIT_FINDINGS, EXIT_OK, InputError
from umgebungsmatrix.facts import Facts

from .providers import PROVIDERS

CHECK_IDS = ("leerer-start", "dienste", "migration", "schema", "pgvector", "queues")


class Interrupted(BaseException):
    """SIGINT/SIGTERM arrived; unwinds through the provider's context manager."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signum)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=os.environ.get("STACK") or "embedded",
        help="embedded (Standard: Postgres/Redis/Web/Worker ohne Docker), docker "
        "(Compose-Stack mit Compose v2, sonst v1; erzwingen: UMX_COMPOSE=v1|v2) oder external (DATABASE_URL/REDIS_URL aus der Umgebung, nur lesend); "
        "auch über die Umgebungsvariable STACK",
    )
    parser.add_argument("--json", action="store_true", help="Ergebnis als JSON auf stdout (für CI)")
    parser.add_argument(
        "--nur",
        action="append",
        choices=CHECK_IDS,
        metavar="PRÜFUNG",
        help=f"nur diese Prüfung(en) ausführen: {', '.join(CHECK_IDS)} (mehrfach möglich)",
    )
    parser.add_argument(
        "--schema",
        type=Path,
        default=None,
        help="statt docs/rag/schema.sql diese Datei migrieren lassen (embedded und docker; zeigt, "
        "wie ein Entwurf vom deklarierten Schema abweicht)",
    )
    images = parser.add_mutually_exclusive_group()
    images.add_argument(
        "--offline",
        dest="offline",
        action="store_true",
        default=None,
        help="nur docker: alle Images lokal bauen (ohne Registry); Standard: automatisch, "
        "offline, wenn ein Pull scheitert (auch STACK_OFFLINE=1)",
    )
    images.add_argument(
        "--online",
        dest="offline",
        action="store_false",
        help="nur docker: die Upstream-Images der Compose-Datei unverändert nutzen (STACK_OFFLINE=0)",
    )
    parser.add_argument(
        "--migrieren",
        action="store_true",
        help="Migration ausdrücklich verlangen (embedded/docker tun es laut Matrix ohnehin; external verweigert es)",
    )


_PENDING: list[int] = []


def _raise_interrupt(signum: int, _frame) -> None:
    # a second signal during teardown must not cut the cleanup short
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # remembered too: an exception raised while the garbage collector runs a
    # __del__ (e.g. a Redis client's) is swallowed, the flag is not
    _PENDING.append(signum)
    raise Interrupted(signum)


def _check_pending() -> None:
    if _PENDING:
        raise Interrupted(_PENDING[0])


@contextlib.contextmanager
def quiet_swallowed_interrupts() -> Iterator[None]:
    """While the run lasts, an Interrupted that Python swallows in a finalizer (a signal arriving while a
    Redis client's __del__ runs) prints no "Exception ignored … Traceback": _PENDING already holds the
    signal, and _check_pending raises it at the next step."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, facts: Facts) -> int:
    from .live import run_all
    from .plan import build_plan
    from .providers import provider_for
    from .result import failed, json_report, text_report

    started = time.perf_counter()
    if args.schema is not None and not args.schema.is_file():
        raise InputError(f"✗ --schema {args.schema}: Datei nicht gefunden")
    _PENDING.clear()
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    provider = None
    quiet = quiet_swallowed_interrupts()
    quiet.__enter__()
    try:
        plan = build_plan(facts, schema=args.schema.resolve() if args.schema else None)
        provider = provider_for(
            args.provider, plan, _progress, migrate=args.migrieren, schema=args.schema, offline=args.offline
        )
        _progress(f"Starte Stack „{args.provider}“ für Stage {plan.stage.name} …")
        with provider as endpoints:
            checks_started = time.perf_counter()
            _progress("Prüfe …")
            results = run_all(facts.matrix, plan, endpoints, only=args.nur)
            provider.timings["checks"] = time.perf_counter() - checks_started
            _check_pending()
            _progress("Baue den Stack ab …")
        _check_pending()
    except Interrupted as exc:
        name = signal.Signals(exc.signum).name
        _progress(f"Abgebrochen ({name}): Stack abgebaut, nichts bleibt zurück.")
        return 128 + exc.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        quiet.__exit__(None, None, None)
    timings = {**provider.timings, "gesamt": time.perf_counter() - started}
    header = f"Stack-Prüfung ({args.provider}, Stage {plan.stage.name}):"
    if args.json:
        print(json_report(results, {"provider": args.provider, "stage": plan.stage.id}, timings))
    else:
        print(text_report(results, header, timings))
    return EXIT_FINDINGS if failed(results) else EXIT_OK
