"""Where a client connects to reach the database on one node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from clusters.remote import Node

__all__ = ["Endpoint", "HasEndpoints"]


@dataclass(frozen=True)
class Endpoint:
    """A node's database address as a client sees it; no secrets beyond what the test itself uses."""

    node: str
    host: str
    port: int
    user: str = "root"
    password: str = ""


@runtime_checkable
class HasEndpoints(Protocol):
    def endpoint(self, node: Node) -> Endpoint:
        """Where clients reach the database on ``node``."""
