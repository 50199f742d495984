"""The ``DB`` protocol and the abilities a database may have.

``DB`` only sets a cluster up and tears it down (Jepsen's shape). What faults need is split into
small protocols, checked with ``isinstance``: a nemesis that needs ``Killable`` says clearly when
a database is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from clusters.remote import Node

__all__ = ["DB", "ElectsPrimary", "HasLogFiles", "HasPrimaries", "HoldsCommits", "Killable", "Pausable", "Promotable",
           "Replicates", "Supervised"]


@runtime_checkable
class DB(Protocol):
    """Set up and tear down one database's cluster on some nodes."""

    name: str

    def setup(self, nodes: Sequence[Node]) -> None:
        """Install or check binaries, configure, start every node, and wait until the cluster is ready."""

    def teardown(self, nodes: Sequence[Node]) -> None:
        """Stop every node and remove what setup made."""


@runtime_checkable
class Killable(Protocol):
    def kill(self, node: Node) -> None:
        """SIGKILL the database process on ``node``."""

    def start(self, node: Node) -> None:
        """Start (or restart) the database on ``node`` and wait until it is ready."""


@runtime_checkable
class Pausable(Protocol):
    def pause(self, node: Node) -> None:
        """SIGSTOP the database process on ``node``."""

    def resume(self, node: Node) -> None:
        """SIGCONT the database process on ``node``."""


@runtime_checkable
class HasPrimaries(Protocol):
    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The nodes that currently accept writes."""


@runtime_checkable
class Promotable(Protocol):
    def promote(self, node: Node) -> None:
        """Failover: make replica (or standby) ``node`` the writable primary; the old primary is not
        fenced."""


@runtime_checkable
class ElectsPrimary(Protocol):
    """A database whose HA agents elect the primary themselves (Patroni): clients follow it the way
    production does, by asking the agents, and nobody promotes by hand."""

    def answers_primary(self, node: Node) -> bool:
        """Whether ``node``'s agent says it is the leader now (Patroni's ``GET /primary`` is 200)."""


@runtime_checkable
class Supervised(Protocol):
    """A server run by an HA agent on each node; ``Killable.start`` restarts the agent if it is gone."""

    def kill_server(self, node: Node) -> None:
        """SIGKILL the database server alone (its agent stays and may restart it)."""

    def kill_agent(self, node: Node) -> None:
        """SIGKILL the HA agent alone (the server keeps running without it)."""


@runtime_checkable
class HoldsCommits(Protocol):
    """Synchronous replication: commits on the primary wait for a standby's acknowledgement."""

    def sync_standbys(self, primary: Node) -> list[str]:
        """Names of the nodes the primary's commits wait for now."""

    def cancel_waiting(self, primary: Node) -> int:
        """``pg_cancel_backend`` every backend waiting for a standby; returns how many were cancelled."""


@runtime_checkable
class Replicates(Protocol):
    """Replicas that can be read once they have replayed what the primary has."""

    replica_isolation: str  # the strongest isolation a replica serves reads at

    def caught_up(self, nodes: Sequence[Node], primary: Node, timeout: float = 30.0) -> list[Node]:
        """The other running nodes that replayed ``primary``'s WAL as of now (waiting up to ``timeout``)."""


@runtime_checkable
class HasLogFiles(Protocol):
    def log_files(self, node: Node) -> dict[str, str]:
        """Log files on ``node``: local name in the results folder -> path on the node."""

    def collect_logs(self, node: Node, into: Path) -> None:
        """Copy the log files of ``node`` into a local folder."""
