"""The ``Backend`` protocol: where the nodes of a run come from.

A backend makes ``count`` nodes (local processes, network namespaces, Docker containers, SSH
hosts), records everything it creates in the run's ledger, and removes it again in ``destroy``::

    backend = LocalBackend(ledger)
    nodes = backend.create(3, run_dir)   # [Node("n1", "127.0.0.11", ...), ...]
    ...
    backend.destroy()
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from clusters.remote import Node

__all__ = ["Backend", "FreePorts", "listen_address"]


@runtime_checkable
class Backend(Protocol):
    """Create and destroy the nodes of one run."""

    name: str

    def create(self, count: int, run_dir: Path) -> list[Node]:
        """Make ``count`` nodes named n1..nN; ``run_dir`` is a local folder this run owns."""

    def destroy(self) -> list[str]:
        """Remove every node and what runs on it, keeping on past failures; returns the errors
        (empty when everything is gone). Safe to call twice."""


@runtime_checkable
class FreePorts(Protocol):
    """A node whose ports are shared with other nodes (local processes): ask it for a free one."""

    def free_port(self) -> int:
        """A TCP port nobody listens on at the node's address right now."""


def listen_address(node: Node, everywhere: str) -> str:
    """The address a node's server listens on: the node's own where nodes share this machine's ports
    (local processes on 127.0.0.x), else ``everywhere`` (the server's wildcard)."""
    return node.address if isinstance(node.remote, FreePorts) else everywhere
