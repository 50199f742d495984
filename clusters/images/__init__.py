"""Node images for the docker backend, one per database (``chaoscert image build DB``).

An image is Debian bookworm with the node tools (iproute2, iptables, procps, faketime, python3)
and the database's packages. Two ways to build the same image:

* offline (what a machine without registry access needs): ``debootstrap`` a minimal rootfs from
  the Debian mirror apt already uses, then ``docker import`` it;
* from ``clusters/images/Dockerfile`` when ``debian:bookworm-slim`` is present or pullable.

An image whose tag exists with the same package list (label ``chaoscert.packages``) is not rebuilt.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from clusters.ledger import Ledger

__all__ = ["DB_PACKAGES", "NODE_PACKAGES", "BuiltImage", "build_image", "image_tag", "packages_for"]

NODE_PACKAGES = ("iproute2", "iptables", "procps", "faketime", "python3", "util-linux")
DB_PACKAGES: dict[str, tuple[str, ...]] = {
    "bare": (),
    "galera": ("mariadb-server", "mariadb-client", "galera-4", "rsync"),
    "etcd": ("etcd-server", "etcd-client"),
    "postgres": ("postgresql",),
}
DB_PACKAGES["all"] = tuple(p for pkgs in DB_PACKAGES.values() for p in pkgs)
DB_PACKAGES["patroni"] = ("postgresql", "patroni", "etcd-server", "etcd-client")  # its own image: "all" stays as built
SUITE = "bookworm"
DOCKERFILE_DIR = Path(__file__).parent
LABEL = "chaoscert.packages"


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    method: str  # "cached", "debootstrap" or "dockerfile"
    seconds: float


def packages_for(db: str) -> tuple[str, ...]:
    if db not in DB_PACKAGES:
        raise ValueError(f"no image for database {db!r}; choose one of {', '.join(DB_PACKAGES)}")
    return NODE_PACKAGES + DB_PACKAGES[db]


def image_tag(db: str) -> str:
    return f"chaoscert/node-{db}:{SUITE}"


def _packages_hash(packages: tuple[str, ...]) -> str:
    return hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:16]


def apt_mirror() -> str:
    """The Debian mirror apt already uses (deb822 or one-line sources), else deb.debian.org."""
    for path in [*sorted(Path("/etc/apt/sources.list.d").glob("*.sources")), Path("/etc/apt/sources.list")]:
        try:
            text = path.read_text()
        except OSError:
            continue
        for match in re.finditer(r"^(?:URIs:\s*(\S+)|deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s)", text, re.M):
            uri = match.group(1) or match.group(2)
            if "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


def build_image(db: str, *, method: str = "auto", force: bool = False, mirror: str | None = None) -> BuiltImage:
    """Build (or find cached) the node image for ``db``. ``method``: auto, debootstrap or dockerfile;
    auto uses the Dockerfile only when its base image is already present locally."""
    import docker

    client = docker.from_env()
    packages = packages_for(db)
    tag, digest = image_tag(db), _packages_hash(packages)
    started = time.monotonic()
    if not force:
        try:
            if client.images.get(tag).labels.get(LABEL) == digest:
                return BuiltImage(tag, "cached", time.monotonic() - started)
        except docker.errors.ImageNotFound:
            pass
    if method == "auto":
        try:
            client.images.get("debian:bookworm-slim")
            method = "dockerfile"
        except docker.errors.ImageNotFound:
            method = "debootstrap"
    if method == "dockerfile":
        client.images.build(path=str(DOCKERFILE_DIR), tag=tag, rm=True,
                            buildargs={"PACKAGES": " ".join(packages), "PACKAGES_HASH": digest})
    elif method == "debootstrap":
        _debootstrap_import(client, tag, digest, packages, mirror or apt_mirror())
    else:
        raise ValueError(f"unknown image build method {method!r}: auto, debootstrap or dockerfile")
    return BuiltImage(tag, method, time.monotonic() - started)


def _debootstrap_import(client, tag: str, digest: str, packages: tuple[str, ...], mirror: str) -> None:
    """Debootstrap a rootfs into a scratch folder (in a ledger of its own, so ``clean`` removes it
    after a crash) and import it as ``tag``."""
    ledger = Ledger()
    rootfs_parent = Path(tempfile.mkdtemp(prefix="chaoscert-rootfs-", dir="/var/tmp"))
    ledger.record("path", str(rootfs_parent), path=str(rootfs_parent))
    try:
        rootfs = rootfs_parent / "root"
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(rootfs), mirror],
            capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f"debootstrap failed (exit {done.returncode}): " + " | ".join(tail))
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--exclude=./var/cache/apt/archives/*.deb",
             "--exclude=./var/lib/apt/lists/*", "--exclude=./proc/*", "--exclude=./sys/*", "-c", "."],
            stdout=subprocess.PIPE)
        repository, image_version = tag.rsplit(":", 1)
        client.api.import_image_from_stream(
            tar.stdout, repository=repository, tag=image_version,
            changes=[f"LABEL {LABEL}={digest}", 'CMD ["sleep", "infinity"]'])
        if tar.wait() != 0:
            raise RuntimeError(f"tar of the rootfs failed (exit {tar.returncode})")
        client.images.get(tag)  # raises if the import did not produce the tag
    finally:
        if errors := ledger.release_all():
            raise RuntimeError(f"could not remove the scratch rootfs: {errors}")
