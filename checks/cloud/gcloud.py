"""The audits' only way into the cloud: `gcloud` with read-only verbs.

`read_only(argv)` refuses every call whose verb is not describe/list/get-iam-policy (the
refusal is in code, not in convention). `run(argv)` runs the real gcloud and returns its
stdout; a failure (no credentials, no access, missing API) becomes an InputError (exit 2)
with gcloud's own ERROR line, in German context.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence

from umgebungsmatrix.errors import InputError

READ_VERBS = frozenset({"describe", "list", "get-iam-policy"})
Runner = Callable[[Sequence[str]], str]


class NotReadOnly(InputError):
    """A call that could change the cloud; refused before it runs."""


class GcloudFailed(InputError):
    """gcloud ran and failed; `stderr` holds its output (NOT_FOUND is a finding for the audit)."""

    def __init__(self, message: str, stderr: str):
        super().__init__(message)
        self.stderr = stderr

    @property
    def not_found(self) -> bool:
        text = self.stderr.lower()
        return "not_found" in text or "not found" in text or "does not exist" in text


def verb(argv: Sequence[str]) -> str:
    """The gcloud verb of a call: among the words before the first flag, the last one, or the one
    before it when a resource name follows (`gcloud run services describe web --region …` ->
    describe; `gcloud run services list --region …` -> list). A read verb later on (a flag value,
    `--region list`) does not count."""
    words: list[str] = []
    for arg in argv[1:]:
        if arg.startswith("-"):
            break
        words.append(arg)
    if len(words) >= 2 and words[-2] in READ_VERBS:
        return words[-2]
    return words[-1] if words else ""


def read_only(argv: Sequence[str]) -> None:
    if not argv or argv[0] != "gcloud":
        raise NotReadOnly(f"nur gcloud-Aufrufe erlaubt, nicht: {' '.join(argv[:3])}")
    if verb(argv) not in READ_VERBS:
        raise NotReadOnly(f"nur lesende Aufrufe ({', '.join(sorted(READ_VERBS))}) erlaubt, nicht: {' '.join(argv[:5])}")


def run(argv: Sequence[str], timeout: float = 120) -> str:
    """stdout of a read-only gcloud call; InputError (exit 2) when gcloud is missing or the call fails."""
    read_only(argv)
    if shutil.which("gcloud") is None:
        raise InputError("gcloud fehlt (Debian-Paket google-cloud-cli); ohne Zugriff: --export-dir")
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"gcloud antwortet nicht ({timeout:.0f} s): {' '.join(argv[:5])}") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or done.stderr.splitlines()[-1:]
        message = f"kein Zugriff auf die Cloud ({' '.join(argv[:5])} …): {' '.join(lines) or 'ohne Meldung'}"
        raise GcloudFailed(message, done.stderr)
    return done.stdout
