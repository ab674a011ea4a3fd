"""Third-party files the site ships itself (never from a CDN): what they are and how to refetch them.

Each entry pins an npm package version, the file taken from it, the package's npm integrity
(sha512 of the tarball, as the registry states it) and the SHA-256 of the file. The secret scan
skips its entropy heuristic for a file whose SHA-256 matches (minified code is high-entropy by
nature); a changed file is scanned like any other. `python -m umgebungsmatrix.vendor` refetches
every entry with `npm pack` and refuses a tarball whose integrity differs.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .paths import ROOT


@dataclass(frozen=True)
class Vendored:
    path: str  # repo-relative target
    package: str  # npm package@version
    member: str  # file inside the tarball
    integrity: str  # npm dist.integrity of the tarball
    sha256: str  # of the file
    licence_package: str  # npm package@version whose LICENSE is kept next to the file
    licence: str  # repo-relative target of the licence text


MERMAID_VERSION = "11.17.2"
VENDORED = (
    Vendored(
        path="docs/assets/vendor/mermaid/mermaid.tiny.js",
        package=f"@mermaid-js/tiny@{MERMAID_VERSION}",
        member="package/dist/mermaid.tiny.js",
        integrity="sha512-PmFr1c5cSfNf5AngLLR98DrbvR4U5KeD7I+hQkGqG5w5Veu3QT4dG0qu9f99cpn/sKj2XxRBK0q7EL6hr9NY/A==",
        sha256="7a644017d37f93c8359790884e6b67fb1f747c78eb20475952404bd87190a3f8",
        licence_package=f"mermaid@{MERMAID_VERSION}",
        licence="docs/assets/vendor/mermaid/LICENSE",
    ),
)
KNOWN_SHA256 = frozenset(v.sha256 for v in VENDORED)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_vendored(path: Path) -> bool:
    """True for a file whose content is exactly a pinned third-party file (any location, e.g. site/)."""
    names = {Path(v.path).name for v in VENDORED}
    return path.name in names and sha256(path) in KNOWN_SHA256


def _pack(spec: str, folder: Path) -> Path:
    done = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"npm pack {spec} schlug fehl: {done.stderr.strip()}")
    return folder / done.stdout.strip().splitlines()[-1]


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def refetch() -> int:
    if shutil.which("npm") is None:
        print("npm fehlt (Debian: apt-get install npm)", file=sys.stderr)
        return 2
    for entry in VENDORED:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            tarball = _pack(entry.package, folder)
            if _integrity(tarball) != entry.integrity:
                print(f"✗ {entry.package}: Integrität weicht von der gepinnten ab", file=sys.stderr)
                return 1
            with tarfile.open(tarball) as archive:
                archive.extract(entry.member, folder, filter="data")
                (ROOT / entry.path).write_bytes((folder / entry.member).read_bytes())
            licence_tar = _pack(entry.licence_package, folder)
            with tarfile.open(licence_tar) as archive:
                archive.extract("package/LICENSE", folder / "lic", filter="data")
                (ROOT / entry.licence).write_bytes((folder / "lic" / "package" / "LICENSE").read_bytes())
        if sha256(ROOT / entry.path) != entry.sha256:
            print(f"✗ {entry.path}: SHA-256 weicht ab", file=sys.stderr)
            return 1
        print(f"✓ {entry.path} ({entry.package}, SHA-256 geprüft)")
    return 0


if __name__ == "__main__":
    sys.exit(refetch())
