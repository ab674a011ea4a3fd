"""The one exception family of the project; the exit code lives on the class.

    UmxError              exit 1  base: a finding, drift, anything not the user's input
    ├── FindingsError     exit 1  a check found broken rules or drift
    └── InputError        exit 2  the user's input is invalid: matrix, a file given, the environment
        ├── MatrixError   exit 2  (umgebungsmatrix.matrix) located problems of the matrix file
        └── …             exit 2  schema syntax, stack start, refused requests

`umgebungsmatrix.cli.main` is the one place that catches these, prints
`str(exc)` (German, no traceback) and returns `exc.exit_code`
(pattern of cog's `cogapp/errors.py` + `Cog.main()`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class UmxError(Exception):
    """Base class; str() is the German message shown to the user."""

    exit_code = EXIT_FINDINGS


class FindingsError(UmxError):
    """A check found broken rules or drift (exit 1)."""

    exit_code = EXIT_FINDINGS


class InputError(UmxError):
    """The user's input or environment is not usable (exit 2): nothing was written."""

    exit_code = EXIT_INPUT


_OS_REASONS = {
    "ENOENT": "Datei nicht gefunden",
    "EACCES": "keine Berechtigung",
    "EPERM": "keine Berechtigung",
    "EISDIR": "ist ein Ordner, keine Datei",
    "ENOTDIR": "ein Teil des Pfads ist kein Ordner",
    "ENOSPC": "kein Platz mehr auf dem Datenträger",
    "EROFS": "Dateisystem nur lesbar",
    "ELOOP": "zu viele symbolische Verweise",
    "ENAMETOOLONG": "Name zu lang",
}


def file_reason(exc: BaseException) -> str:
    """German reason of an OSError or UnicodeDecodeError (errno names from the C library)."""
    import errno

    if isinstance(exc, UnicodeDecodeError):
        return f"kein UTF-8 (Byte {exc.start}: 0x{exc.object[exc.start]:02x})"
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, "")
        return _OS_REASONS.get(name, exc.strerror or str(exc))
    return str(exc)
