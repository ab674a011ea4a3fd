"""PostgreSQL's error reports, said in German.

The embedded server has no message translations, so its errors arrive in
English. They are turned into German here from the SQLSTATE (PostgreSQL 16
docs, Appendix A "PostgreSQL Error Codes", errcodes-appendix.html) and the
names quoted in the message; a misspelled name the file or the matrix
knows gets a "meinten Sie …". Text the file itself raises (RAISE in a DO
block) is quoted as it is.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# message pattern (PostgreSQL's English, server side) -> German template; {0}, {1}: quoted names
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), t)
    for p, t in [
        (r"^syntax error at end of input", "Syntaxfehler: die Anweisung endet zu früh"),
        (r'^syntax error at or near "(.*)"$', "Syntaxfehler bei „{0}“"),
        (r"^unterminated dollar-quoted string", "Syntaxfehler: Dollar-Quoting wird nicht geschlossen"),
        (r"^unterminated quoted string", "Syntaxfehler: Zeichenkette wird nicht geschlossen"),
        (r'^unrecognized configuration parameter "(.*)"', "die Einstellung „{0}“ gibt es in PostgreSQL 16 nicht"),
        (r'^type "(.*)" does not exist', "der Typ „{0}“ existiert nicht"),
        (r'^relation "(.*)" does not exist', "die Tabelle/Relation „{0}“ existiert nicht"),
        (r'^relation "(.*)" already exists', "„{0}“ existiert bereits"),
        (r'^schema "(.*)" does not exist', "das Schema „{0}“ existiert nicht"),
        (r'^schema "(.*)" already exists', "das Schema „{0}“ existiert bereits"),
        (r"^no schema has been selected to create in", "kein Schema zum Anlegen: der search_path ist leer"),
        (r'^column "(.*)" of relation "(.*)" does not exist', "die Spalte „{0}“ von „{1}“ existiert nicht"),
        (r'^column "(.*)" of relation "(.*)" already exists', "die Spalte „{0}“ von „{1}“ existiert bereits"),
        (r'^column "(.*)" does not exist', "die Spalte „{0}“ existiert nicht"),
        (r'^column "(.*)" specified more than once', "die Spalte „{0}“ steht doppelt"),
        (r"^function (.*) does not exist", "die Funktion {0} existiert nicht"),
        (r'^function "(.*)" already exists with same argument types', "die Funktion „{0}“ existiert bereits"),
        (r'^extension "(.*)" is not available', "die Extension „{0}“ ist auf diesem Server nicht installierbar"),
        (r'^extension "(.*)" already exists', "die Extension „{0}“ existiert bereits"),
        (r'^role "(.*)" does not exist', "die Rolle „{0}“ existiert nicht"),
        (r'^role "(.*)" already exists', "die Rolle „{0}“ existiert bereits"),
        (r'^type "(.*)" already exists', "der Typ „{0}“ existiert bereits"),
        (r'^policy "(.*)" for table "(.*)" already exists', "die Policy „{0}“ auf „{1}“ existiert bereits"),
        (r'^policy "(.*)" for table "(.*)" does not exist', "die Policy „{0}“ auf „{1}“ existiert nicht"),
        (r'^trigger "(.*)" for relation "(.*)" already exists', "der Trigger „{0}“ auf „{1}“ existiert bereits"),
        (r'^constraint "(.*)" for relation "(.*)" already exists', "der Constraint „{0}“ auf „{1}“ existiert bereits"),
        (r'^multiple primary keys for table "(.*)" are not allowed', "„{0}“ hat schon einen Primärschlüssel"),
        (r'^"(.*)" is already a partition', "„{0}“ ist schon eine Partition"),
        (
            r'^column "(.*)" of relation "(.*)" is already an identity column',
            "die Spalte „{0}“ von „{1}“ ist schon eine Identitätsspalte",
        ),
        (
            r'^operator class "(.*)" does not exist for access method "(.*)"',
            "die Operatorklasse „{0}“ gibt es für die Indexmethode „{1}“ nicht",
        ),
        (
            r'^data type (.*) has no default operator class for access method "(.*)"',
            "der Typ {0} hat für „{1}“ keine Standard-Operatorklasse: Operatorklasse angeben",
        ),
        (r'^access method "(.*)" does not exist', "die Indexmethode „{0}“ gibt es nicht"),
        (
            r"^column cannot have more than (\d+) dimensions for (\w+) index",
            "die Spalte hat mehr als {0} Dimensionen: ein {1}-Index ist so nicht möglich (pgvector)",
        ),
        (r"^(.*) cannot run inside a transaction block", "{0} kann nicht innerhalb einer Transaktion laufen"),
        (r"^(.*) cannot be executed inside a transaction block", "{0} kann nicht innerhalb einer Transaktion laufen"),
        (
            r'^unsafe use of new value "(.*)" of enum type (.*)',
            "der neue Enum-Wert „{0}“ von {1} ist erst nach dem COMMIT nutzbar (ALTER TYPE … ADD VALUE in derselben Transaktion)",
        ),
        (r"^permission denied (?:for|to) (.*)", "keine Berechtigung: {0}"),
        (
            r"^sequence must have same owner as table it is linked to",
            "die Sequenz muss denselben Eigentümer haben wie die Tabelle, zu der sie gehört",
        ),
        (r'^cannot change owner of sequence "(.*)"', "den Eigentümer der Sequenz „{0}“ ändert nur ihre Tabelle"),
        (r"^current transaction is aborted", "die Transaktion ist nach einem früheren Fehler abgebrochen"),
        (r"^(.*) is not a table$", "{0} ist keine Tabelle"),
        (
            r'^new row for relation "(.*)" violates (?:check|partition) constraint',
            "eine Zeile für „{0}“ verletzt eine Bedingung",
        ),
        (r"^must be owner of (.*)", "nur der Eigentümer darf das: {0}"),
        (
            r"^cannot drop (.*) because other objects depend on it",
            "{0} lässt sich nicht löschen: andere Objekte hängen davon ab",
        ),
        (
            r'^there is no unique constraint matching given keys for referenced table "(.*)"',
            "„{0}“ hat keinen eindeutigen Schlüssel für diesen Fremdschlüssel",
        ),
        (r'^invalid input syntax for type (\w+): "(.*)"', "ungültiger Wert für {0}: „{1}“"),
        (r"^expected (\d+) dimensions, not (\d+)", "erwartet {0} Dimensionen, nicht {1} (pgvector)"),
        (r"^dimensions for type (\w+) must be at least 1", "der Typ {0} braucht mindestens eine Dimension"),
        (r"^(\w+) cannot have more than (\d+) dimensions", "{0} hat höchstens {1} Dimensionen"),
        (r'^could not open extension control file "(.*)"', "die Extension gibt es auf diesem Server nicht ({0})"),
    ]
]

# SQLSTATE class -> German (errcodes-appendix.html)
_CLASSES = {
    "0A": "Funktion nicht unterstützt",
    "22": "ungültiger Wert",
    "23": "Integritätsbedingung verletzt",
    "25": "Transaktionszustand",
    "26": "ungültiger Anweisungsname",
    "28": "Anmeldung",
    "2B": "abhängige Objekte",
    "34": "ungültiger Cursor",
    "38": "Fehler in einer Funktion",
    "39": "Fehler in einer Funktion",
    "3D": "ungültige Datenbank",
    "3F": "ungültiges Schema",
    "40": "Transaktion zurückgerollt",
    "42": "Syntaxfehler oder Zugriffsverletzung",
    "44": "WITH CHECK OPTION verletzt",
    "53": "Ressourcen erschöpft",
    "54": "Programmgrenze überschritten",
    "55": "Objekt nicht im nötigen Zustand",
    "57": "Eingriff des Operators",
    "58": "Systemfehler",
    "F0": "Konfigurationsdatei",
    "HV": "Fremddaten",
    "P0": "PL/pgSQL-Fehler",
    "XX": "interner Fehler",
}
_QUOTED = re.compile(r'"([^"]+)"')


def german(sqlstate: str | None, message: str, known: Iterable[str] = ()) -> str:
    """German text for an error PostgreSQL reported (primary message in English, SQLSTATE)."""
    message = (message or "").strip().splitlines()[0] if message else ""
    if sqlstate == "P0001":  # RAISE EXCEPTION in the file's own code: its text as written
        return f"RAISE EXCEPTION im Code der Datei: „{message}“"
    for pattern, template in _PATTERNS:
        match = pattern.search(message)
        if match:
            text = template.format(*match.groups())
            return text + _did_you_mean(match.groups(), known) + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    names = _QUOTED.findall(message)
    klass = _CLASSES.get((sqlstate or "")[:2], "Fehler")
    shown = f" bei {', '.join(f'„{n}“' for n in names[:3])}" if names else ""
    return f"{klass}{shown}{_did_you_mean(names, known)} (SQLSTATE {sqlstate})"


def _did_you_mean(names, known: Iterable[str]) -> str:
    known = [k for k in known if k]
    for name in names:
        if not name or not known:
            continue
        bare = name.rsplit(".", 1)[-1]
        pool = known if "." in name else sorted({k.rsplit(".", 1)[-1] for k in known})
        if name in pool or bare in pool:
            continue
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.7)
        if close:
            return f" (meinten Sie „{close[0]}“?)"
    return ""
