"""Run a slow command, keep its full log, show short progress on stdout."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO

HEARTBEAT = 15.0  # seconds without a shown line before a "still working" note

# Lines worth showing as they come: build steps (classic builder and
# BuildKit) and the phases of debootstrap.
_SHOWN = re.compile(r"^(Step \d+/\d+ :|#\d+ \[|I: (Retrieving|Extracting|Installing|Configuring|Base system))")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_logged(
    argv: Sequence[str],
    label: str,
    *,
    env: dict[str, str] | None = None,
    stdin=None,
    show: Callable[[str], bool] | None = None,
) -> tuple[int, str]:
    """Run argv; print '  label: <line>' for interesting lines (deduplicated
    by phase) and a heartbeat while quiet. Returns (exit code, log tail)."""
    show = show or (lambda line: bool(_SHOWN.match(line)))
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        code = _follow(argv, label, log, env=env, stdin=stdin, show=show)
        log.seek(0)
        return code, "".join(log.readlines()[-25:])


def _follow(argv: Sequence[str], label: str, log: IO[str], *, env, stdin, show: Callable[[str], bool]) -> int:
    started = time.monotonic()
    last_phase = ""
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=stdin, text=True, errors="replace", env=env
    )
    state = {"last": started}
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT):
            if time.monotonic() - state["last"] >= HEARTBEAT:
                say(f"  {label}: … läuft seit {time.monotonic() - started:.0f} s")
                state["last"] = time.monotonic()

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(raw)
            line = raw.rstrip()
            if not show(line):
                continue
            phase = line.split()[1] if line.startswith("I: ") else line
            if phase != last_phase:
                say(f"  {label}: {line[:110]}")
                last_phase = phase
                state["last"] = time.monotonic()
        return proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        stop.set()


def elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"


def flush() -> None:
    sys.stdout.flush()
