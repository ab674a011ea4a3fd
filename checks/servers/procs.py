"""Child processes and temp dirs that never outlive a stack run.

Every child starts in its own session (process group), so stopping kills
the whole group, and a terminal's Ctrl-C does not hit the children before
the supervisor stops them in order. Children also get a parent-death
signal, so even a SIGKILLed check leaves no server behind. All live
supervisors are cleaned up at interpreter exit (atexit).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
TEMP_PREFIX = "umx-stack-"
RUN_MARKER = "UMX_STACK_RUN"  # env var set in every child: the run's temp dir
_LIVE: list[Supervisor] = []


def _death_signal(signum: int):
    """preexec_fn: the kernel sends `signum` to the child when we die."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # not Linux/glibc: no parent-death signal, cleanup still runs
        return None

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)

    return preexec


def temp_root() -> str | None:
    """RAM-backed /dev/shm when usable (a fresh Postgres data dir is written
    there in a fraction of the time), else the normal temp dir. UMX_STACK_TMP overrides."""
    override = os.environ.get("UMX_STACK_TMP")
    if override:
        return override
    shm = "/dev/shm"
    try:
        stat = os.statvfs(shm)
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize > 512 * 1024 * 1024 and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


@dataclass
class Child:
    label: str
    proc: subprocess.Popen
    log: Path
    stop_signal: int

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


class Supervisor:
    """Owns the children and the temp dir of one stack run."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=temp_root()))
        self.workdir.chmod(0o711)  # a non-root Postgres user must traverse it
        _LIVE.append(self)

    def spawn(
        self,
        label: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        log = self.workdir / f"{label}.log"
        # every child carries the run's marker, so leftovers are findable (tests do)
        env = {**(os.environ if env is None else env), RUN_MARKER: str(self.workdir)}
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                preexec_fn=_death_signal(stop_signal),
            )
        child = Child(label, proc, log, stop_signal)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 5.0) -> None:
        """Stop a child's whole process group: its stop signal, then SIGKILL."""
        if child.proc.returncode is None:
            _signal_group(child.proc.pid, child.stop_signal)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
        _signal_group(child.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        if child in self.children:
            self.children.remove(child)

    def close(self, timeout: float = 5.0) -> None:
        """Stop all children at once (each group its stop signal), SIGKILL what
        is left after `timeout`, delete the temp dir; idempotent."""
        children = list(self.children)
        for child in children:
            if child.proc.returncode is None:
                _signal_group(child.proc.pid, child.stop_signal)
        deadline = time.monotonic() + timeout
        for child in children:
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
            _signal_group(child.proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        self.children.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(check, timeout: float, child: Child | None = None, what: str = "") -> None:
    """Poll `check()` until true; raise TimeoutError, or ChildDied if `child` exits first."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if check():
            return
        if child is not None and not child.alive():
            raise ChildDied(child)
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


class ChildDied(Exception):
    def __init__(self, child: Child):
        self.child = child
        super().__init__(f"{child.label} hat sich beendet (Exit {child.proc.returncode})")


@atexit.register
def _close_all() -> None:
    for supervisor in list(_LIVE):
        supervisor.close()
