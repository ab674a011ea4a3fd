"""One YAML text, three readers: where do they disagree?

Readers (keys of :data:`READERS`):

* ``yaml11`` – PyYAML ``safe_load`` (YAML 1.1 as PyYAML implements it): what
  our generator, docker-compose v1 and most Python tools read.
* ``yaml12`` – ruamel.yaml ``YAML(typ="safe", pure=True)`` with version 1.2.
* ``gcloud`` – what gcloud 528 really reads: ``gcloud run services replace
  FILE`` / ``jobs replace`` / ``--env-vars-file`` go through
  ``googlecloudsdk.core.yaml.load_all``, whose default is **version 1.1**,
  with the SDK's bundled **ruamel.yaml 0.15.93** ``SafeLoader``. It runs in
  gcloud's own Python (checks/consumers/_sdk_helper.py, one process per
  batch) and reads its default version from the installed SDK, so a gcloud
  that switches to 1.2 is noticed.
* ``ruamel11`` (optional) – the venv's ruamel in 1.1 mode, an in-process
  approximation of ``gcloud`` when the SDK is missing.

Measured differences (google-cloud-cli 528; tests/test_consumers_yaml.py):

======================  ==============  ==============  ====================
plain scalar            yaml11          yaml12          gcloud
======================  ==============  ==============  ====================
``5e-05``, ``1e3``      str             float           float (!)
``1.0e5`` (no sign)     str             float           float
``+.5``                 str             float           str
``22:22``, ``1:2.5``    int 1342, 62.5  str             int 1342, 62.5
``yes``/``no``/``on``   bool            str             bool
``y``/``n``/``Y``/``N`` str             str             bool (!)
``0755``                int 493         int 755         int 493
``09``                  str             int 9           str
``0o755``               str             int 493         str
timestamp with offset   aware datetime  aware datetime  naive UTC datetime
duplicate key           last wins       error           first wins (!)
``.inf``, ``~``,        same            same            same
``true``, ``0x1F``
======================  ==============  ==============  ====================

So "gcloud reads YAML 1.2" is not true for gcloud 528: it reads ruamel's
YAML 1.1, which differs from PyYAML's 1.1 exactly where issue 10 hurt
(``value: 5e-05`` is a float for gcloud and a string for PyYAML). Generated
files must read the same for all readers – in practice: every string that a
reader could type differently is quoted.

How: every reader composes the text into nodes (its own parser, resolver and
version) and types every scalar with its own constructor; scalars are matched
by line:column (:func:`scalar_readings`). Whole documents are compared too,
so errors (e.g. duplicate keys: ruamel refuses, PyYAML keeps the last) and
merge-key effects show up as document-level disagreements.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml as pyyaml

from ._typed import scalar_records, typed

READERS: dict[str, str] = {
    "yaml11": "YAML 1.1 (PyYAML)",
    "yaml12": "YAML 1.2 (ruamel.yaml)",
    "gcloud": "gcloud (googlecloudsdk.core.yaml)",
    "ruamel11": "YAML 1.1 (ruamel.yaml, wie gcloud)",
}


@dataclass(frozen=True)
class Reading:
    """One reader's view of a text."""

    reader: str
    documents: list[Any] | None  # typed documents (see _typed.typed), None on error
    error: str | None
    scalars: list[dict[str, Any]]  # _typed.scalar_records
    detail: str = ""  # e.g. "ruamel 0.15.93, version 1.1"


@dataclass(frozen=True)
class Disagreement:
    """A place where the readers do not agree (line/column 1-based, 0: whole document)."""

    line: int
    column: int
    path: str
    text: str  # the scalar as written (plain), "" for documents
    key: bool
    readings: Mapping[str, str]  # reader -> German description
    typed: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}" if self.line else "Dokument"
        what = "Schlüssel" if self.key else "Wert"
        views = "; ".join(f"{READERS.get(r, r)}: {d}" for r, d in self.readings.items())
        target = f" {what} „{self.text}“" if self.text else ""
        at = f" ({self.path})" if self.path else ""
        return f"{where}{at}:{target} wird verschieden gelesen – {views}"


# --------------------------------------------------------------------------- readers


def _silent(func: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruamel's MantissaNoDotYAML1_1Warning
        return func()


def read_pyyaml(text: str) -> Reading:
    """PyYAML's SafeLoader (what ``yaml.safe_load`` uses)."""
    try:
        documents = [typed(d) for d in pyyaml.load_all(text, Loader=pyyaml.SafeLoader)]
        error = None
    except pyyaml.YAMLError as exc:
        documents, error = None, str(exc)
    scalars: list[dict[str, Any]] = []
    if error is None:
        loader = pyyaml.SafeLoader(text)
        try:
            roots = []
            while loader.check_node():
                roots.append(loader.get_node())
            scalars = scalar_records(lambda n: loader.construct_object(n, deep=True), roots)
        finally:
            loader.dispose()
    return Reading("yaml11", documents, error, scalars, f"PyYAML {pyyaml.__version__}")


def read_ruamel(text: str, version: tuple[int, int] = (1, 2)) -> Reading:
    """ruamel.yaml ``YAML(typ="safe", pure=True)`` with the given version."""
    from ruamel.yaml import YAML, YAMLError, __version__

    name = "yaml12" if version == (1, 2) else "ruamel11"

    def new() -> Any:
        y = YAML(typ="safe", pure=True)
        y.version = version
        return y

    def run() -> Reading:
        try:
            documents = [typed(d) for d in new().load_all(text)]
            error = None
        except YAMLError as exc:
            documents, error = None, str(exc)
        scalars: list[dict[str, Any]] = []
        if error is None:
            y = new()
            roots = list(y.compose_all(text))
            scalars = scalar_records(lambda n: y.constructor.construct_object(n, deep=True), roots)
        return Reading(name, documents, error, scalars, f"ruamel.yaml {__version__}, Version {version[0]}.{version[1]}")

    return _silent(run)


def read_gcloud_many(texts: Sequence[str]) -> list[Reading]:
    """gcloud's own YAML reading for many texts, in one SDK process."""
    from .gcloud import _helper

    if not texts:
        return []
    answers = _helper("yaml", {"texts": list(texts)})
    return [
        Reading(
            "gcloud",
            a.get("documents") if "error" not in a else None,
            a.get("error"),
            a.get("scalars", []),
            f"ruamel.yaml {a['ruamel']}, Version {a['version']}",
        )
        for a in answers
    ]


def gcloud_available() -> bool:
    from .gcloud import skip_reason

    return skip_reason() is None


def default_readers() -> tuple[str, ...]:
    return ("yaml11", "yaml12", "gcloud") if gcloud_available() else ("yaml11", "yaml12")


def read_all(texts: Sequence[str], readers: Iterable[str] | None = None) -> list[dict[str, Reading]]:
    """Every text read by every reader: ``[{reader: Reading}, ...]``."""
    readers = tuple(readers or default_readers())
    out: list[dict[str, Reading]] = [{} for _ in texts]
    if "gcloud" in readers:
        for slot, reading in zip(out, read_gcloud_many(texts)):
            slot["gcloud"] = reading
    for i, text in enumerate(texts):
        slot = out[i]
        for reader in readers:
            if reader == "yaml11":
                slot[reader] = read_pyyaml(text)
            elif reader == "yaml12":
                slot[reader] = read_ruamel(text, (1, 2))
            elif reader == "ruamel11":
                slot[reader] = read_ruamel(text, (1, 1))
            elif reader != "gcloud":
                raise ValueError(f"unbekannter Leser {reader!r} (bekannt: {', '.join(READERS)})")
        out[i] = {r: slot[r] for r in readers}
    return out


# --------------------------------------------------------------------------- comparison


def describe(value: Any) -> str:
    """German description of a typed value."""
    kind = value[0]
    if kind == "str":
        return f"Text {value[1]!r}"
    if kind == "int":
        return f"Ganzzahl {value[1]}"
    if kind == "float":
        return f"Kommazahl {value[1]}"
    if kind == "bool":
        return f"Wahrheitswert {'true' if value[1] else 'false'}"
    if kind == "null":
        return "null (kein Wert)"
    if kind in ("date", "timestamp"):
        return f"{'Datum' if kind == 'date' else 'Zeitpunkt'} {value[1]}"
    if kind == "merge":
        return "Merge-Schlüssel <<"
    if kind == "unlesbar":
        return f"nicht lesbar ({value[1]})"
    if kind == "fehler":
        return f"Fehler: {value[1]}"
    return f"{kind} {value[1:]!r}"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if a == b:
        return ""
    if a[0] != b[0] or a[0] not in ("map", "seq"):
        return path or "(Wurzel)"
    if len(a[1]) != len(b[1]):
        return f"{path or '(Wurzel)'}: {len(a[1])} gegen {len(b[1])} Einträge"
    for i, (x, y) in enumerate(zip(a[1], b[1])):
        if a[0] == "map":
            label = x[0][1] if len(x[0]) > 1 else x[0][0]
            found = _first_difference(x[0], y[0], f"{path}.{label} (Schlüssel)") or _first_difference(
                x[1], y[1], f"{path}.{label}" if path else str(label)
            )
        else:
            found = _first_difference(x, y, f"{path}[{i}]")
        if found:
            return found
    return path


def disagreements(readings: Mapping[str, Reading], text: str = "") -> list[Disagreement]:
    """Every scalar (by line:column) the readers type differently, then
    document-level differences the scalars do not explain."""
    names = list(readings)
    readable = [n for n in names if not readings[n].error]
    found: list[Disagreement] = []
    by_pos: dict[tuple[int, int, bool], dict[str, dict[str, Any]]] = {}
    for name in readable:  # a reader that refuses the text is reported once, below
        for rec in readings[name].scalars:
            by_pos.setdefault((rec["line"], rec["column"], rec["key"]), {})[name] = rec
    lines = text.splitlines()
    for (line, column, key), recs in sorted(by_pos.items()):
        if len(recs) == len(readable) and all(r["value"] == recs[readable[0]]["value"] for r in recs.values()):
            continue
        first = next(iter(recs.values()))
        written = _source_token(lines, line, column)
        found.append(
            Disagreement(
                line=line,
                column=column,
                path=first["path"],
                text=written,
                key=key,
                readings={n: describe(recs[n]["value"]) if n in recs else "fehlt" for n in readable},
                typed={n: recs[n]["value"] for n in recs},
            )
        )
    scalar_found = bool(found)
    errors = {n: r.error for n, r in readings.items() if r.error}
    if errors and len(errors) < len(names):
        found.append(
            Disagreement(
                line=0,
                column=0,
                path="",
                text="",
                key=False,
                readings={
                    n: (f"Fehler: {_short(readings[n].error)}" if readings[n].error else "lesbar") for n in names
                },
            )
        )
    if not scalar_found and len(readable) > 1:
        # same scalars, different documents: duplicate keys (PyYAML keeps the
        # last, gcloud's ruamel 0.15 the first), merge keys, …
        reference = readable[0]
        base = readings[reference].documents
        for name in readable[1:]:
            other = readings[name].documents
            if other != base:
                where = _first_difference(["seq", base], ["seq", other])
                found.append(
                    Disagreement(
                        line=0,
                        column=0,
                        path=where,
                        text="",
                        key=False,
                        readings={reference: "Dokument wie gelesen", name: f"anderes Dokument, zuerst bei {where}"},
                    )
                )
    return found


def _short(error: str | None, limit: int = 240) -> str:
    """A YAML error in one line: its problem lines, without the source excerpts."""
    keep = [
        ln.strip()
        for ln in (error or "").splitlines()
        if ln.strip() and not ln.startswith("    ") and "^" not in ln and "#" not in ln[:2]
    ]
    text = " ".join(keep)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _source_token(lines: list[str], line: int, column: int) -> str:
    """The scalar as written, for messages (up to ': ', ' #', ',' in flows, or line end)."""
    if not 0 < line <= len(lines):
        return ""
    rest = lines[line - 1][column - 1 :]
    if rest[:1] in ("'", '"'):
        return rest.split(rest[0], 2)[1] if rest.count(rest[0]) >= 2 else rest
    for stop in (": ", " #", ", ", ",", "]", "}"):
        cut = rest.find(stop)
        if cut > 0:
            rest = rest[:cut]
    return rest.rstrip(":").strip()


def compare_many(texts: Sequence[str], readers: Iterable[str] | None = None) -> list[list[Disagreement]]:
    """:func:`compare` for many texts; gcloud reads them all in one process."""
    return [disagreements(r, t) for r, t in zip(read_all(texts, readers), texts)]


def compare(text: str, readers: Iterable[str] | None = None) -> list[Disagreement]:
    """Every path where the readers (default: yaml11, yaml12, and gcloud if
    installed) disagree in type or value; empty when the text is unambiguous."""
    return compare_many([text], readers)[0]


# --------------------------------------------------------------------------- matrix input check


def _as_value_hint(d: Disagreement) -> str:
    """A spelling for the non-text meaning, offered only if PyYAML, ruamel 1.2
    and ruamel 1.1 (gcloud's mode) verifiably read it the same."""
    v11, v12 = d.typed.get("yaml11"), d.typed.get("yaml12")
    candidate, meaning = "", ""
    if v11 and v11[0] == "bool":
        candidate, meaning = ("true" if v11[1] else "false"), "als Wahrheitswert gemeint"
    elif v11 and v11[0] == "int":
        candidate, meaning = v11[1], "als Zahl gemeint"
    elif v12 and v12[0] == "float":
        candidate, meaning = _float_with_dot(v12[1]), "als Zahl gemeint"
    if not candidate:
        return ""
    probe = f"x: {candidate}\n"
    views = {
        json_key(r.documents) for r in (read_pyyaml(probe), read_ruamel(probe, (1, 2)), read_ruamel(probe, (1, 1)))
    }
    return f"; {meaning}: {candidate} schreiben" if len(views) == 1 else ""


def json_key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _float_with_dot(text: str) -> str:
    value = float(text)
    mantissa, _, exponent = f"{value:e}".partition("e")
    mantissa = mantissa.rstrip("0")
    mantissa += "0" if mantissa.endswith(".") else ""
    return f"{mantissa}e{exponent}"


def spellings_11_only(text: str, filename: str = "<yaml>", readers: Iterable[str] | None = None) -> list[str]:
    """German, located findings for plain scalars whose meaning depends on the
    YAML version/reader (``22:22``, ``yes``/``no``/``on``/``off``, ``0755``,
    ``5e-05``, …), each suggesting quotes. Empty: the text reads the same
    everywhere. Meant for the matrix and any hand-written YAML input."""
    out = []
    for d in compare(text, readers):
        where = f"{filename}:{d.line}:{d.column}" if d.line else filename
        if not d.line:
            out.append(f"{where}: {d}")
            continue
        views = ", ".join(f"{READERS.get(r, r)} liest {desc}" for r, desc in d.readings.items())
        what = "Schlüssel" if d.key else "Wert"
        out.append(
            f"{where}: {what} {d.text} ist mehrdeutig ({views}). "
            f"Als Text gemeint: in Anführungszeichen setzen – '{d.text}'{_as_value_hint(d)}."
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m checks.consumers.yaml_versions DATEI…``: findings, exit 1 if any."""
    import sys

    paths = list(sys.argv[1:] if argv is None else argv)
    findings = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            findings += spellings_11_only(handle.read(), path)
    for line in findings:
        print(line)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
