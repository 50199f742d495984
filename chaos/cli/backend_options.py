"""The command-line options that choose how nodes are reached, shared by ``run`` and ``cluster up``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clusters.backends import BackendOptions

__all__ = ["ImageOption", "SshHostOption", "SshInsecureOption", "SshKeyOption", "SshKnownHostsOption",
           "SshSudoOption", "SshUserOption", "backend_options"]

ImageOption = Annotated[str | None, typer.Option(help="docker: node image (default: built by `chaoscert image build`)")]
SshHostOption = Annotated[list[str] | None, typer.Option(help="ssh: [user@]host[:port], once per node")]
SshUserOption = Annotated[str | None, typer.Option(help="ssh: login user when a host names none")]
SshKeyOption = Annotated[Path | None, typer.Option(help="ssh: private key (password: $CHAOSCERT_SSH_PASSWORD)")]
SshKnownHostsOption = Annotated[Path | None, typer.Option(help="ssh: known_hosts file to check host keys")]
SshInsecureOption = Annotated[bool, typer.Option(help="ssh: do NOT check host keys")]
SshSudoOption = Annotated[bool, typer.Option(help="ssh: run commands with sudo -n")]


def backend_options(image: str | None, ssh_host: list[str] | None, ssh_user: str | None, ssh_key: Path | None,
                    ssh_known_hosts: Path | None, ssh_insecure: bool, ssh_sudo: bool) -> BackendOptions:
    return BackendOptions(image=image, ssh_hosts=tuple(ssh_host or ()), ssh_user=ssh_user, ssh_key=ssh_key,
                          ssh_known_hosts=ssh_known_hosts, ssh_insecure=ssh_insecure, ssh_sudo=ssh_sudo)
