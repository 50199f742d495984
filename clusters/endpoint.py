"""Where a client connects to reach the database on one node."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """A node's database address as a client sees it; no secrets beyond what the test itself uses."""

    node: str
    host: str
    port: int
    user: str = "root"
    password: str = ""
