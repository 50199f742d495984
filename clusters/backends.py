"""Making a backend by name: the one place ``chaoscert run`` and ``chaoscert cluster`` get nodes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clusters.backend import Backend
from clusters.ledger import Ledger

__all__ = ["BACKENDS", "BackendOptions", "make_backend"]

BACKENDS = ("local", "netns", "docker", "ssh")


@dataclass(frozen=True, kw_only=True)
class BackendOptions:
    """What some backends need: the docker image, the SSH hosts and how to log in (an SSH password
    is never an option: it comes from ``$CHAOSCERT_SSH_PASSWORD``)."""

    image: str | None = None
    ssh_hosts: tuple[str, ...] = ()
    ssh_user: str | None = None
    ssh_key: Path | None = None
    ssh_known_hosts: Path | None = None
    ssh_insecure: bool = False
    ssh_sudo: bool = False


def make_backend(name: str, ledger: Ledger, options: BackendOptions | None = None) -> Backend:
    """The backend called ``name``; ValueError naming what is wrong otherwise."""
    options = options or BackendOptions()
    if name == "local":
        from clusters.local import LocalBackend

        return LocalBackend(ledger)
    if name == "netns":
        from clusters.netns import NetnsBackend

        return NetnsBackend(ledger)
    if name == "docker":
        from clusters.docker_backend import DockerBackend

        return DockerBackend(ledger, image=options.image)
    if name == "ssh":
        from clusters.ssh import SshBackend, SshHost

        if not options.ssh_hosts:
            raise ValueError("--backend ssh needs --ssh-host (once per host)")
        login = {"user": options.ssh_user, "key_filename": str(options.ssh_key) if options.ssh_key else None,
                 "known_hosts": str(options.ssh_known_hosts) if options.ssh_known_hosts else None,
                 "insecure": options.ssh_insecure, "sudo": options.ssh_sudo}
        return SshBackend(ledger, [SshHost.parse(h, **login) for h in options.ssh_hosts])
    raise ValueError(f"--backend: unknown {name!r}; known: {', '.join(BACKENDS)}")
