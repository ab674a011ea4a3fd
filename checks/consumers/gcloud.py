"""The installed Google Cloud CLI as the judge of our deploy commands and manifests.

Everything runs offline: every gcloud process is started under ``unshare -n``
(no network namespace, only loopback) with a fresh, throw-away
``CLOUDSDK_CONFIG`` directory and a scrubbed environment (no inherited
credentials, no ``GOOGLE_APPLICATION_CREDENTIALS``, no GCE metadata lookup,
no prompts, no usage reporting, no update check, no survey).

Verdicts (:func:`classify`)
---------------------------
Found experimentally with google-cloud-cli 528 (see tests/test_consumers_gcloud.py):

* gcloud writes ``Running [gcloud.run.deploy] with arguments: [...]`` to its
  log file (``$CLOUDSDK_CONFIG/logs/…``) right after argparse *and* the
  flag types (``ArgDict`` for ``--set-env-vars``, the YAML loader for
  ``replace FILE``) have succeeded, and never when parsing failed
  (exit code 2, ``ERROR: (gcloud.x) argument …`` plus usage text).
* Afterwards the command's ``Run`` starts. ``services replace`` and
  ``jobs replace`` convert the YAML to the API message there
  (``Failed to parse value in protobuf [Service]: … Expected type <class
  'str'> for field value, found 5e-05 (type <class 'float'>)``, unknown
  fields: ``Failed to parse value(s) in protobuf [Service]: Service.spec…``)
  *before* they need credentials. ``run deploy`` / ``jobs deploy`` /
  ``jobs execute`` need credentials first (``api_enabler`` /
  ``GetService``).
* The first thing that needs credentials stops with
  ``ERROR: (gcloud.x) You do not currently have an active account selected.``
  (exit code 1). With credentials (not the case here) the first network
  access stops with ``gcloud crashed (ConnectionError): … Failed to resolve …``
  / ``Temporary failure in name resolution``.

So a call is ACCEPTED exactly when the log shows the "Running [...]" line
and the final ``ERROR:`` block is one of those "needs an account / needs the
network" stops. Everything else is REJECTED with gcloud's own ERROR block
as ``message``: parse errors (``Bad syntax for dict arg``, ``unrecognized
arguments``, ``Failed to parse YAML``), the protobuf/schema errors of
``replace``, and any output we do not know (a conservative default: green
needs positive evidence). Exit code 0 (a purely local command) is ACCEPTED.

What ACCEPTED does *not* prove: checks that only the Cloud Run API does
(revision name syntax, e.g. ``web-v1.4.2``, is NOT checked offline by
gcloud 528; see umgebungsmatrix.artifacts.revisions), and ``run deploy`` flag combinations that
gcloud validates only after fetching the current service.

Env vars in deploy.sh (decision, proven in the tests)
-----------------------------------------------------
``--set-env-vars`` with gcloud's alternate delimiter (``gcloud topic
escaping``): ``--set-env-vars "^|^A=x,y|B=z"``, the delimiter chosen at run
time by :data:`ENV_VARS_BASH` as the first of :data:`ENV_DELIMITERS` that
occurs in no ``NAME=VALUE`` pair; if every candidate occurs, deploy.sh stops
with a German message (variable names only, never values) before the first
gcloud call. Why this and not ``--env-vars-file``:

* Exactness follows from gcloud's code: ``ArgList`` splits only on the
  delimiter (a single character, so no overlap or trailing-delimiter cases),
  ``ArgDict`` cuts each item at the first ``=`` with ``re.DOTALL``; nothing
  else is interpreted. Values reach gcloud through argv byte for byte:
  commas, ``=``, spaces, ``$``, quotes, backslashes, umlauts, emoji, tabs and
  (trailing) newlines.
* ``--env-vars-file`` needs a YAML writer in bash. gcloud reads that file with
  its ruamel 0.15.93 in YAML 1.1 mode, so every value must be a double-quoted
  scalar with ``\\`` and ``"`` escaped and line breaks escaped (measured: a
  literal LF or NEL U+0085 inside double quotes is folded to a space, a
  control character such as U+0001 is refused with "unacceptable character
  #x0001") – locale-dependent bash string surgery with many more ways to be
  subtly wrong, plus a file with secrets on disk. The obvious
  ``printf '%s: "%s"\\n'`` is not exact (tests show it).
* Both ways are logged in clear by gcloud itself: its log file gets
  ``Running [gcloud.run.deploy] with arguments: [--set-env-vars:
  "OrderedDict({...})"`` (also for ``--env-vars-file``). deploy.sh should
  export ``CLOUDSDK_CORE_DISABLE_FILE_LOGGING=1``; argv is visible to other
  processes of the same CI runner (as today).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

HELPER = Path(__file__).with_name("_sdk_helper.py")

#: Settings for every gcloud process (environment form of gcloud properties).
SDK_ENV: dict[str, str] = {
    "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
    "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
    "CLOUDSDK_SURVEY_DISABLE_PROMPTS": "true",
    "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
    "CLOUDSDK_CORE_DISABLE_COLOR": "true",
}

#: Messages that mean "parsing is done, now gcloud needs an account".
STOP_NO_ACCOUNT = re.compile(r"You do not currently have an active account selected")
#: Messages that mean "parsing is done, now gcloud needs the network".
STOP_NETWORK = re.compile(
    r"gcloud crashed \((?:ConnectionError|TransportError|ServerNotFoundError)\)"
    r"|Failed to resolve|Temporary failure in name resolution|Name or service not known"
    r"|Network is unreachable|Unable to find the server at|Max retries exceeded"
)
#: gcloud's log line written after the arguments were parsed.
PARSED_MARKER = re.compile(r"Running \[(gcloud(?:\.[\w-]+)+)\] with arguments: ")
_ERROR_START = re.compile(r"^ERROR: ", re.M)
_ERROR_COMMAND = re.compile(r"^ERROR: \((gcloud(?:\.[\w-]+)*)\)")
_ERROR_END = re.compile(r"\n(?:Usage: |If you would like to report this issue|To check gcloud for common)")


class Verdict(str, Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class GcloudSDK:
    gcloud: Path  # the gcloud launcher that was found (symlinks resolved)
    root: Path  # SDK root: lib/, platform/, VERSION
    python: Path  # the interpreter gcloud runs on (bundled if usable)
    version: str  # contents of VERSION, e.g. "528.0.0"


@dataclass(frozen=True)
class GcloudResult:
    """One real gcloud call and gcloud's verdict on it."""

    argv: tuple[str, ...]  # without the leading "gcloud"
    verdict: Verdict
    reason: str  # German: which rule decided
    message: str  # gcloud's own final ERROR block ("" if none)
    returncode: int
    stdout: str
    stderr: str
    parsed: bool  # the "Running [...] with arguments" log line exists
    command: str  # e.g. "gcloud.run.services.replace" ("" if unknown)
    seconds: float
    files: Mapping[str, str] = field(default_factory=dict)  # file args as read at call time
    env: Mapping[str, str] = field(default_factory=dict)  # CLOUDSDK_* seen by the call (scripts)

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    def explain(self) -> str:
        """One German line for assertion messages."""
        text = self.message.strip() or self.stderr.strip()[-400:]
        return f"gcloud {' '.join(self.argv)[:160]} → {self.verdict.value} ({self.reason}): {text}"


class Call(NamedTuple):
    argv: Sequence[str]
    files: Mapping[str, str | bytes] | None = None


class GcloudUnavailable(RuntimeError):
    """gcloud or network isolation is missing; str() is the German skip reason."""


class EnvVarsSyntaxError(ValueError):
    """gcloud refused a --set-env-vars value; str() is gcloud's own message."""


# --------------------------------------------------------------------------- locate


@cache
def find_gcloud() -> GcloudSDK | None:
    """The Google Cloud CLI on PATH, or None.

    The interpreter is chosen as bin/gcloud's preamble does with a clean
    environment: ``platform/bundledpythonunix/bin/python3`` when present and
    working on x86_64, else the first python3 on PATH."""
    found = shutil.which("gcloud")
    if not found:
        return None
    launcher = Path(found).resolve()
    root = launcher.parent.parent if launcher.parent.name == "bin" else launcher.parent
    if not (root / "lib" / "gcloud.py").is_file():
        return None
    bundled = root / "platform" / "bundledpythonunix" / "bin" / "python3"
    python: Path | None = None
    if bundled.is_file() and os.access(bundled, os.X_OK) and os.uname().machine == "x86_64":
        ok = subprocess.run([str(bundled), "--version"], capture_output=True).returncode == 0
        python = bundled if ok else None
    if python is None:
        system = shutil.which("python3")
        if not system:
            return None
        python = Path(system)
    version_file = root / "VERSION"
    version = version_file.read_text().strip() if version_file.is_file() else "?"
    return GcloudSDK(gcloud=launcher, root=root, python=python, version=version)


def install_hint() -> str:
    """German instructions to install the Google Cloud CLI (Debian/Ubuntu, CI)."""
    return (
        "Google Cloud CLI installieren (Debian/Ubuntu, auch im CI-Image), Paket google-cloud-cli:\n"
        "  sudo apt-get install -y apt-transport-https ca-certificates gnupg curl\n"
        "  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg"
        " | sudo gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg\n"
        "  echo 'deb [signed-by=/usr/share/keyrings/cloud.google.gpg]"
        " https://packages.cloud.google.com/apt cloud-sdk main'"
        " | sudo tee /etc/apt/sources.list.d/google-cloud-sdk.list\n"
        "  sudo apt-get update && sudo apt-get install -y google-cloud-cli\n"
        "Geprüft mit google-cloud-cli 528; danach `gcloud --version`."
    )


@cache
def isolated() -> tuple[str, ...]:
    """The "no network" prefix; GcloudUnavailable (German reason) when there is none."""
    prefix = isolation_prefix()
    if prefix is None:
        raise GcloudUnavailable(skip_reason() or "Netzwerk-Isolation nicht möglich")
    return prefix


@cache
def isolation_prefix() -> tuple[str, ...] | None:
    """Command prefix for "no network": ``unshare -n`` (root) or ``unshare -rn``
    (unprivileged user namespace); None when neither works here."""
    unshare = shutil.which("unshare")
    if not unshare:
        return None
    for prefix in ((unshare, "-n"), (unshare, "-rn")):
        probe = subprocess.run([*prefix, "true"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


def skip_reason() -> str | None:
    """None when the harness can run; else a German reason (for pytest.skip)."""
    if find_gcloud() is None:
        return "Google Cloud CLI (gcloud) nicht gefunden – die echten gcloud-Prüfungen entfallen.\n" + install_hint()
    if isolation_prefix() is None:
        return (
            "Netzwerk-Isolation nicht möglich (`unshare -n` bzw. `unshare -rn` schlägt fehl) – "
            "gcloud wird hier nicht ohne Netz gestartet, die echten gcloud-Prüfungen entfallen."
        )
    return None


def require() -> GcloudSDK:
    reason = skip_reason()
    if reason:
        raise GcloudUnavailable(reason)
    sdk = find_gcloud()
    assert sdk is not None
    return sdk


def base_env(home: Path, config: Path | None = None) -> dict[str, str]:
    """The scrubbed environment every gcloud process gets."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
        **SDK_ENV,
    }
    if config is not None:
        env["CLOUDSDK_CONFIG"] = str(config)
    return env


# --------------------------------------------------------------------------- verdicts


def error_block(stderr: str) -> str:
    """gcloud's last ``ERROR: …`` block, without usage and feedback hints."""
    starts = [m.start() for m in _ERROR_START.finditer(stderr)]
    if not starts:
        return ""
    block = stderr[starts[-1] :]
    end = _ERROR_END.search(block)
    return (block[: end.start()] if end else block).strip()


class Classification(NamedTuple):
    verdict: Verdict
    reason: str  # German: which rule decided
    message: str  # gcloud's final ERROR block
    command: str  # "gcloud.run.deploy" ("" if unknown)
    parsed: bool  # the log shows "Running [...] with arguments"


def classify(returncode: int, stderr: str, log_text: str | None) -> Classification:
    """gcloud's verdict on one finished call (rules: module docstring).

    ``log_text`` is gcloud's log file for this call (None: no log found)."""
    message = error_block(stderr)
    marker = PARSED_MARKER.search(log_text or "")
    command = marker.group(1) if marker else ""
    if not command:
        head = _ERROR_COMMAND.search(message)
        command = head.group(1) if head else ""
    parsed = marker is not None

    def result(verdict: Verdict, reason: str) -> Classification:
        return Classification(verdict, reason, message, command, parsed)

    if returncode == 0:
        return result(Verdict.ACCEPTED, "ohne Fehler beendet (lokaler Befehl)")
    if returncode == 2 or (log_text is not None and not parsed):
        return result(Verdict.REJECTED, "von gcloud beim Lesen der Argumente/Dateien abgelehnt")
    if STOP_NO_ACCOUNT.search(message):
        stop = "angenommen: gcloud bräuchte jetzt ein Konto"
    elif STOP_NETWORK.search(message):
        stop = "angenommen: gcloud bräuchte jetzt das Netz"
    else:
        return result(Verdict.REJECTED, "von gcloud vor dem ersten API-Aufruf abgelehnt")
    if log_text is None:
        stop += " (ohne Log-Nachweis des Parsens)"
    return result(Verdict.ACCEPTED, stop)


def _log_text(config: Path) -> str | None:
    logs = sorted((config / "logs").glob("*/*.log"))
    if not logs:
        return None
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)


def _strip_gcloud(argv: Sequence[str]) -> tuple[str, ...]:
    argv = tuple(argv)
    return argv[1:] if argv and argv[0] == "gcloud" else argv


# --------------------------------------------------------------------------- single calls


def run_offline(
    argv: Sequence[str],
    files: Mapping[str, str | bytes] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> GcloudResult:
    """Run ``gcloud ARGV`` offline with a throw-away config and classify it.

    ``files`` (relative name -> content) are written into a temp directory that
    is the working directory of the call, so argv can name them relatively.
    ``env`` adds variables (e.g. ``CLOUDSDK_CORE_PROJECT``)."""
    sdk = require()
    argv = _strip_gcloud(argv)
    with tempfile.TemporaryDirectory(prefix="gcloud-offline-") as tmp:
        work, config = Path(tmp) / "work", Path(tmp) / "config"
        work.mkdir()
        config.mkdir()
        snapshot: dict[str, str] = {}
        for name, content in (files or {}).items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            target.write_bytes(data)
            snapshot[name] = data.decode("utf-8", "replace")
        full_env = {**base_env(Path(tmp), config), **(env or {})}
        start = time.perf_counter()
        proc = subprocess.run(
            [*isolated(), str(sdk.gcloud), *argv],
            cwd=work,
            env=full_env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        seconds = time.perf_counter() - start
        c = classify(proc.returncode, proc.stderr, _log_text(config))
    return GcloudResult(
        argv=argv,
        verdict=c.verdict,
        reason=c.reason,
        message=c.message,
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        parsed=c.parsed,
        command=c.command,
        seconds=seconds,
        files=snapshot,
    )


def default_workers() -> int:
    """gcloud start-up is CPU-bound (~0.8 s CPU): one worker per CPU, at least 2."""
    return max(2, os.cpu_count() or 2)


def run_many(
    calls: Iterable[Sequence[str] | Call], *, max_workers: int | None = None, timeout: float = 120
) -> list[GcloudResult]:
    """:func:`run_offline` for many calls in a thread pool; results in input order.

    Each item is an argv or a :class:`Call` (argv + files)."""
    items = [c if isinstance(c, Call) else Call(tuple(c)) for c in calls]
    require()
    with ThreadPoolExecutor(max_workers=max_workers or default_workers()) as pool:
        futures = [pool.submit(run_offline, c.argv, c.files, timeout=timeout) for c in items]
        return [f.result() for f in futures]


# --------------------------------------------------------------------------- gcloud's own parser


def _helper(op: str, payload: Mapping[str, Any], timeout: float = 300) -> list[dict[str, Any]]:
    """One batch through _sdk_helper.py in gcloud's own Python (offline)."""
    sdk = require()
    with tempfile.TemporaryDirectory(prefix="gcloud-helper-") as tmp:
        tmp_path = Path(tmp)
        request, answer, config = tmp_path / "request.json", tmp_path / "answer.json", tmp_path / "config"
        config.mkdir()
        request.write_text(json.dumps({"op": op, **payload}), encoding="utf-8")
        proc = subprocess.run(
            [*isolated(), str(sdk.python), "-I", str(HELPER), str(sdk.root), str(request), str(answer)],
            env=base_env(tmp_path, config),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        if proc.returncode != 0 or not answer.is_file():
            raise RuntimeError(
                f"SDK-Hilfsprozess ({op}) fehlgeschlagen, Exit {proc.returncode}:\n{proc.stderr[-2000:]}"
            )
        return json.loads(answer.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ParsedArgv:
    """What gcloud's CLI parser made of one command line (``Run`` not started)."""

    argv: tuple[str, ...]
    ok: bool
    command: str  # "gcloud.run.deploy"
    args: Mapping[str, Any]  # {"--set-env-vars": {...}, "SERVICE": "web", ...}
    message: str  # gcloud's ERROR block when not ok


def parse_argvs(argvs: Iterable[Sequence[str]]) -> list[ParsedArgv]:
    """Parse many gcloud command lines with gcloud's own CLI in ONE process.

    The real ``gcloud_main`` parser runs (argparse, flag types, YAML file
    arguments, ``--flags-file``); the command's ``Run`` is replaced by a stub,
    so nothing is executed and no credentials are needed."""
    argvs = [_strip_gcloud(a) for a in argvs]
    if not argvs:
        return []
    answers = _helper("parse", {"argvs": [list(a) for a in argvs]})
    return [
        ParsedArgv(
            argv=tuple(a),
            ok=ans["ok"],
            command=ans.get("command", ""),
            args=ans.get("args", {}),
            message=error_block(ans.get("output", "")) or ans.get("exception", ""),
        )
        for a, ans in zip(argvs, answers)
    ]


#: argv prefixes for the commands deploy.sh uses with --set-env-vars
ENV_COMMANDS: dict[str, tuple[str, ...]] = {
    "run deploy": ("run", "deploy", "dienst", "--image", "europe-west3-docker.pkg.dev/p/r/i:t"),
    "run jobs deploy": ("run", "jobs", "deploy", "job", "--image", "europe-west3-docker.pkg.dev/p/r/i:t"),
}


def split_env_vars_many(
    values: Sequence[str], command: str = "run deploy"
) -> list[dict[str, str] | EnvVarsSyntaxError]:
    """:func:`split_env_vars` for many values in one SDK process.

    Each value is parsed as ``gcloud <command> … --set-env-vars=VALUE`` by the
    real CLI and, as a cross-check, by the flag's ``ArgDict`` type directly;
    a disagreement between the two raises RuntimeError (harness bug)."""
    if not values:
        return []
    answers = _helper("split_env", {"values": list(values), "argv_prefix": list(ENV_COMMANDS[command])})
    out: list[dict[str, str] | EnvVarsSyntaxError] = []
    for value, ans in zip(values, answers):
        if ans["ok"]:
            env = dict(ans["env"])
            if ans.get("argdict") is None or dict(ans["argdict"]) != env:
                raise RuntimeError(f"CLI und ArgDict uneinig für {value!r}: {env!r} / {ans!r}")
            out.append(env)
        else:
            if ans.get("argdict_error") is None:
                raise RuntimeError(f"CLI lehnt {value!r} ab, ArgDict nicht: {ans!r}")
            out.append(EnvVarsSyntaxError(error_block(ans.get("output", "")) or ans["argdict_error"]))
    return out


def split_env_vars(flag_value: str, command: str = "run deploy") -> dict[str, str]:
    """Split a ``--set-env-vars`` value exactly as gcloud does (its own code).

    Includes the alternate-delimiter syntax ``^DELIM^A=1DELIMB=2``. Raises
    :class:`EnvVarsSyntaxError` with gcloud's message when gcloud refuses it."""
    (result,) = split_env_vars_many([flag_value], command)
    if isinstance(result, EnvVarsSyntaxError):
        raise result
    return result


# --------------------------------------------------------------------------- deploy scripts

# ENV_DELIMITERS and ENV_VARS_BASH live with the deploy script generator (one place).


@dataclass(frozen=True)
class ScriptRun:
    """A deploy script run offline; ``calls`` are the real gcloud calls it made."""

    script: str
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    calls: list[GcloudResult]
    seconds: float

    def rejected(self) -> list[GcloudResult]:
        return [c for c in self.calls if not c.accepted]


_WRAPPER = r"""#!/bin/bash
# Test wrapper: records this gcloud call, runs the REAL gcloud (already offline:
# the whole script runs under unshare -n) with a fresh config, always exits 0
# so that set -e scripts go on and every call is judged.
rec=__REC__
resp=__RESP__
n=0
while ! mkdir "$rec/$n" 2>/dev/null; do n=$((n+1)); done
d="$rec/$n"
printf '%s\0' "$@" > "$d/argv"
env -0 | grep -z '^CLOUDSDK_' > "$d/env" || true
i=0
for a in "$@"; do
  p=$a
  case $a in --*=*) p=${a#*=} ;; esac
  if [ -f "$p" ]; then cp -- "$p" "$d/file.$i"; printf '%s\0' "$p" > "$d/file.$i.name"; fi
  i=$((i+1))
done
mkdir "$d/config"
start=$EPOCHREALTIME
env -u CLOUDSDK_CORE_DISABLE_FILE_LOGGING CLOUDSDK_CONFIG="$d/config" __REAL__ "$@" >"$d/stdout" 2>"$d/stderr"
rc=$?
# a canned answer for the script (what the API would have said), keyed by a word of argv
for a in "$@"; do
  case $a in */*|.*|"") continue ;; esac
  if [ -f "$resp/$a" ]; then cat -- "$resp/$a"; break; fi
done
printf '%s %s\n' "$start" "$EPOCHREALTIME" > "$d/time"
echo "$rc" > "$d/rc"
exit 0
"""


def _read_calls(rec: Path) -> list[GcloudResult]:
    results = []
    for d in sorted((p for p in rec.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        argv = tuple((d / "argv").read_bytes().decode("utf-8", "surrogateescape").split("\0")[:-1])
        rc_file = d / "rc"
        returncode = int(rc_file.read_text()) if rc_file.is_file() else -1
        stderr = (d / "stderr").read_text(encoding="utf-8", errors="replace") if (d / "stderr").exists() else ""
        stdout = (d / "stdout").read_text(encoding="utf-8", errors="replace") if (d / "stdout").exists() else ""
        files = {}
        for name_file in d.glob("file.*.name"):
            index = name_file.name.split(".")[1]
            path = name_file.read_bytes().decode("utf-8", "surrogateescape").rstrip("\0")
            files[path] = (d / f"file.{index}").read_text(encoding="utf-8", errors="replace")
        env = {}
        if (d / "env").is_file():
            for item in (d / "env").read_bytes().decode("utf-8", "replace").split("\0"):
                if "=" in item:
                    k, v = item.split("=", 1)
                    env[k] = v
        seconds = 0.0
        if (d / "time").is_file():
            start, end = (float(x) for x in (d / "time").read_text().split())
            seconds = end - start
        if returncode == -1:
            c = Classification(Verdict.REJECTED, "Aufruf nicht beendet", "", "", False)
        else:
            c = classify(returncode, stderr, _log_text(d / "config"))
        results.append(
            GcloudResult(
                argv=argv,
                verdict=c.verdict,
                reason=c.reason,
                message=c.message,
                returncode=returncode,
                stdout=stdout,
                stderr=stderr,
                parsed=c.parsed,
                command=c.command,
                seconds=seconds,
                files=files,
                env=env,
            )
        )
    return results


_DATE_SHIM = r"""#!/bin/bash
# Test clock: `date -u +%F` says __TODAY__; everything else is the real date.
for a in "$@"; do
  if [ "$a" = "+%F" ]; then echo __TODAY__; exit 0; fi
done
exec __DATE__ "$@"
"""


def run_script_offline(
    script: str | os.PathLike[str],
    env: Mapping[str, str],
    args: Sequence[str] = (),
    *,
    timeout: float = 600,
    today: str | None = None,
    responses: Mapping[str, str] | None = None,
) -> ScriptRun:
    """Run a deploy script offline with the REAL gcloud judging every call.

    The script runs with ``bash`` under ``unshare -n`` in a scrubbed
    environment: PATH starts with a directory whose ``gcloud`` is a small
    wrapper that records argv, the ``CLOUDSDK_*`` variables and every file
    argument (snapshotted before the script can delete it), runs the real
    gcloud with a fresh ``CLOUDSDK_CONFIG`` and exits 0 – so a ``set -e``
    script continues and every gcloud call gets its own verdict. ``env`` holds
    the CI variables (use hostile but legal values).

    ``today`` ("YYYY-MM-DD") sets the date the script sees through ``date +%F``
    (the QA window); ``responses`` maps a word of a gcloud call (e.g.
    ``get-iam-policy``) to the stdout the script gets from that call – the
    real gcloud still judges the call."""
    sdk = require()
    script = Path(script).resolve()
    with tempfile.TemporaryDirectory(prefix="deploy-offline-") as tmp:
        tmp_path = Path(tmp)
        rec, bindir, home, resp = tmp_path / "calls", tmp_path / "bin", tmp_path / "home", tmp_path / "responses"
        for d in (rec, bindir, home, resp):
            d.mkdir()
        for word, answer in (responses or {}).items():
            (resp / word).write_text(answer, encoding="utf-8")
        wrapper = bindir / "gcloud"
        wrapper.write_text(
            _WRAPPER.replace("__REC__", _sh_quote(str(rec)))
            .replace("__RESP__", _sh_quote(str(resp)))
            .replace("__REAL__", _sh_quote(str(sdk.gcloud)))
        )
        wrapper.chmod(0o755)
        if today is not None:
            shim = bindir / "date"
            real_date = shutil.which("date") or "/usr/bin/date"
            shim.write_text(_DATE_SHIM.replace("__TODAY__", today).replace("__DATE__", _sh_quote(real_date)))
            shim.chmod(0o755)
        full_env = base_env(home)
        full_env["PATH"] = f"{bindir}:{full_env['PATH']}"
        full_env.update(env)
        start = time.perf_counter()
        proc = subprocess.run(
            [*isolated(), "bash", str(script), *args],
            cwd=script.parent,
            env=full_env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        seconds = time.perf_counter() - start
        calls = _read_calls(rec)
    return ScriptRun(
        script=str(script),
        args=tuple(args),
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        calls=calls,
        seconds=seconds,
    )


def run_scripts_offline(
    runs: Iterable[tuple[str | os.PathLike[str], Mapping[str, str], Sequence[str]]], *, max_workers: int | None = None
) -> list[ScriptRun]:
    """Several :func:`run_script_offline` at once (e.g. one per deploy target)."""
    runs = list(runs)
    require()
    with ThreadPoolExecutor(max_workers=max_workers or default_workers()) as pool:
        futures = [pool.submit(run_script_offline, s, e, a) for s, e, a in runs]
        return [f.result() for f in futures]


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m checks.consumers.gcloud ARGV…``: one offline call, verdict printed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    reason = skip_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 3
    result = run_offline(argv)
    print(f"{result.verdict.value} ({result.reason}, {result.seconds:.2f} s)")
    if result.message:
        print(result.message)
    return 0 if result.accepted else 1


if __name__ == "__main__":
    raise SystemExit(main())
