"""Cloud Run revision names from Docker tags – Python and the same in bash.

gcloud 528 does not check revision names offline (``services replace`` with
``metadata.name: web-v1.4.2`` gets as far as "no active account"); the Cloud
Run API refuses them. So the rule is applied here, and deploy.sh computes
the name at run time (tags are CI values) with :data:`REVISION_SUFFIX_BASH`.

Rules
-----
* Docker tag: ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`` (:data:`DOCKER_TAG`).
* Cloud Run revision name: lowercase letters, digits and hyphens, starts
  with a letter, does not end with a hyphen, at most 63 characters, and
  starts with ``<service>-`` (:func:`revision_name_problems`).

Transform :func:`revision_suffix` (deterministic, documented, injective up to
a 40-bit hash collision)
-------------------------------------------------------------------------------
1. lowercase the tag; 2. every ``.`` and ``_`` becomes ``-``; 3. runs of
``-`` collapse to one; 4. leading/trailing ``-`` are dropped. Call the result
``clean``; the budget is ``63 - len(service) - 1``.

* If ``clean == tag`` (the tag was already lowercase letters/digits/single
  inner hyphens) and fits the budget, the suffix is the tag itself:
  ``main-stable`` -> ``main-stable``, a 40-hex git SHA stays as it is.
* Otherwise information was lost (case, ``.``/``_``, hyphen runs, length),
  so ``-`` + 10 hex digits of FNV-1a-64 over the original tag are appended,
  the readable head cut to fit: ``v1.4.2`` -> ``v1-4-2-<h>``,
  ``V1.4.2`` -> ``v1-4-2-<other h>``; a tag that cleans to nothing (``_``,
  ``__``) is just ``<h>``.

FNV-1a-64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) is not
cryptographic; it is chosen because bash can compute it with 32-bit halves
and no external program. Two different tags get the same suffix only if
their hashes agree in 40 bits (or a lossless tag happens to spell another
tag's ``clean-<hash>``); who controls tags controls deploys anyway.
"""

from __future__ import annotations

import re

DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
REVISION_NAME = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
MAX_NAME = 63
HASH_HEX = 10

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fnv1a64(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV_PRIME) & _MASK64
    return h


def tag_problems(tag: str) -> list[str]:
    """German reasons why ``tag`` is not a legal Docker tag (empty: legal)."""
    if DOCKER_TAG.fullmatch(tag):
        return []
    if not tag:
        return ["Docker-Tag ist leer"]
    if len(tag) > 128:
        return [f"Docker-Tag hat {len(tag)} Zeichen, erlaubt sind höchstens 128"]
    if tag[0] in ".-":
        return [f"Docker-Tag „{tag}“ beginnt mit „{tag[0]}“ (erlaubt: Buchstabe, Ziffer, _)"]
    bad = sorted({c for c in tag if not re.fullmatch(r"[A-Za-z0-9_.-]", c)})
    return [f"Docker-Tag „{tag}“ enthält unerlaubte Zeichen: {' '.join(repr(c) for c in bad)}"]


def _clean(tag: str) -> str:
    text = re.sub(r"[._]", "-", tag.lower())
    return re.sub(r"-+", "-", text).strip("-")


def revision_suffix(tag: str, service: str) -> str:
    """Suffix for the revision name ``<service>-<suffix>`` (see module docstring).

    Raises ValueError (German) for an illegal tag or a service name that
    leaves no room for a hashed suffix."""
    problems = tag_problems(tag)
    if problems:
        raise ValueError(problems[0])
    budget = MAX_NAME - len(service) - 1
    clean = _clean(tag)
    if clean == tag and 1 <= len(clean) <= budget:
        return clean
    digest = f"{fnv1a64(tag.encode('ascii')):016x}"[:HASH_HEX]
    if budget < HASH_HEX:
        raise ValueError(
            f"Dienstname „{service}“ ist zu lang: für den Revisionsnamen bleiben "
            f"{budget} Zeichen, gebraucht werden mindestens {HASH_HEX}"
        )
    head = clean[: max(0, budget - HASH_HEX - 1)].rstrip("-")
    return f"{head}-{digest}" if head else digest


def revision_name(service: str, tag: str) -> str:
    return f"{service}-{revision_suffix(tag, service)}"


def revision_name_problems(name: str, service: str | None = None) -> list[str]:
    """German reasons why Cloud Run would refuse ``name`` as revision name."""
    problems = []
    if len(name) > MAX_NAME:
        problems.append(f"Revisionsname „{name}“ hat {len(name)} Zeichen, erlaubt sind höchstens {MAX_NAME}")
    if not REVISION_NAME.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[-a-z0-9]", c)})
        detail = (
            f"unerlaubte Zeichen {' '.join(repr(c) for c in bad)}"
            if bad
            else "muss mit einem Buchstaben beginnen und darf nicht mit „-“ enden"
        )
        problems.append(f"Revisionsname „{name}“: nur Kleinbuchstaben, Ziffern und „-“ erlaubt – {detail}")
    if service is not None and not name.startswith(f"{service}-"):
        problems.append(f"Revisionsname „{name}“ beginnt nicht mit „{service}-“")
    return problems


#: The same transform in bash for deploy.sh (no external programs):
#: ``revision_suffix DIENST TAG`` sets REVISION_SUFFIX or returns 2 with a
#: German message. Call directly, not in $(...), so the error stops set -e.
REVISION_SUFFIX_BASH = (
    r"""
# Setzt REVISION_SUFFIX: Revisionsname "$1-$REVISION_SUFFIX" für Docker-Tag $2
# (klein, . und _ → -, Bindestriche zusammengefasst; wenn dabei etwas verloren
# geht oder es zu lang wird: -<10 Hex FNV-1a-64 des Tags>). Gleiche Regel wie
# umgebungsmatrix/artifacts/revisions.py.
revision_suffix() {
  local LC_ALL=C dienst=$1 tag=$2
  if [[ ! $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    echo "Ungültiges Docker-Tag „$tag“ (erlaubt: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})" >&2
    return 2
  fi
  local budget=$(( 63 - ${#dienst} - 1 ))
  local s=${tag,,}
  s=${s//[._]/-}
  while [[ $s == *--* ]]; do s=${s//--/-}; done
  s=${s#-}; s=${s%-}
  if [[ $s == "$tag" && ${#s} -ge 1 && ${#s} -le $budget ]]; then
    REVISION_SUFFIX=$s
    return 0
  fi
  if (( budget < 10 )); then
    echo "Dienstname „$dienst“ ist zu lang für einen Revisionsnamen mit Prüfsumme" >&2
    return 2
  fi
  # FNV-1a-64 in zwei 32-Bit-Hälften (Primzahl 2^40 + 435), ohne Überlauf
  local hi=$((0xcbf29ce4)) lo=$((0x84222325)) i c p h
  for (( i = 0; i < ${#tag}; i++ )); do
    printf -v c '%d' "'${tag:i:1}"
    lo=$(( lo ^ c ))
    p=$(( lo * 435 ))
    hi=$(( (hi * 435 + (p >> 32) + (lo << 8)) & 0xffffffff ))
    lo=$(( p & 0xffffffff ))
  done
  printf -v h '%08x%08x' "$hi" "$lo"
  h=${h:0:10}
  local n=$(( budget - 11 ))
  if (( n < 0 )); then n=0; fi
  s=${s:0:n}
  s=${s%-}
  if [[ -n $s ]]; then REVISION_SUFFIX=$s-$h; else REVISION_SUFFIX=$h; fi
}
""".strip("\n")
    + "\n"
)
