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
