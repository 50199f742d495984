"""The ``Remote`` protocol: how the control side acts on one node, whatever the node is.

Database adapters and nemeses are written once against it; backends (local processes, network
namespaces, Docker containers, SSH hosts) implement it. Commands are argument lists, never strings
built by concatenation: a backend that needs a shell quotes them with :func:`shlex.join`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["SIGNALS", "CommandResult", "Node", "Remote", "RemoteError"]

SIGNALS = ("KILL", "STOP", "CONT", "TERM", "INT", "HUP")


class RemoteError(RuntimeError):
    """A command or daemon operation on a node failed; the message names the node and command."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@runtime_checkable
class Remote(Protocol):
    """Run commands, move files and control daemons on one node."""

    @property
    def name(self) -> str:
        """The node's name (``n1``)."""

    @property
    def address(self) -> str:
        """The node's address as clients and peers see it."""

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, check: bool = True,
            input: str | None = None, user: str | None = None,
            env: Mapping[str, str] | None = None) -> CommandResult:
        """Run a command to completion; ``check`` raises RemoteError on a non-zero exit."""

    def upload(self, local: Path, remote: str) -> None:
        """Copy a local file to a path on the node."""

    def download(self, remote: str, local: Path) -> None:
        """Copy a file from the node to a local path."""

    def start_daemon(self, name: str, argv: Sequence[str], *, log_file: str,
                     env: Mapping[str, str] | None = None, cwd: str | None = None,
                     user: str | None = None) -> int:
        """Start a long-running process named ``name``; returns its pid on the node."""

    def signal(self, name: str, signal: str) -> None:
        """Send KILL, STOP, CONT, TERM, INT or HUP to the daemon ``name``. STOP, CONT and KILL reach
        every process the daemon started, in whatever session (a paused server answers nothing);
        TERM, INT and HUP its process group, and the server passes them on to its children."""

    def is_running(self, name: str) -> bool:
        """Whether the daemon ``name`` is alive (a zombie is not)."""

    def wait_stopped(self, name: str, timeout: float) -> bool:
        """Wait until the daemon ``name`` has fully exited; False on timeout."""


@dataclass(frozen=True)
class Node:
    """A node of a cluster: its name, address, and the Remote that acts on it."""

    name: str
    address: str
    remote: Remote
