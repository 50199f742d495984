"""Failover: kill the primary, promote a replica, and move the clients to the new primary.

The nemesis needs a database that knows its primaries (``HasPrimaries``), can kill and restart a
node (``Killable``) and can promote a replica (``Promotable``): PostgreSQL, mariadb-async, seekdb
with a standby. Its ops, recorded as process ``"nemesis"``::

    failover ["n1"]    -> ["n1", "n2"]    n1 (the primary) killed, n2 promoted; clients now use n2
    rejoin   ["n1"]    -> ["n1"]          n1 restarted, unfenced: it may come back a second primary

An old primary that comes back writable (seekdb, mariadb-async, PostgreSQL all do) is a split
brain: the runner then does its final read on every primary the clients wrote to, and the ``set``
checker reports the nodes' reads as divergent; a later ``failover`` refuses to choose between two
primaries.

The clients of a run follow the primary through a :class:`PrimaryRoute`, the run's one answer to
"where do writes go" (what a virtual IP or a proxy is in production). Every client's connection is
to the route's node; a failover moves the route, and each client reconnects before its next op.
Clients connected to every node instead would read stale data from replicas and see half their
writes refused, which measures the client placement rather than the failover.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from chaos.nemesis.net import NemesisError
from clusters.db import DB, HasPrimaries, Killable, Promotable
from clusters.endpoint import Endpoint
from clusters.remote import Node
from workloads.client import Client

__all__ = ["FailoverNemesis", "FollowPrimary", "PrimaryRoute"]


class PrimaryRoute:
    """The node clients of a primary/replica database use; ``move`` after a promotion."""

    def __init__(self, db: Any, node: Node) -> None:
        self._db, self._node, self.generation = db, node, 0
        self._lock = threading.Lock()
        self._used: list[Node] = []

    def move(self, node: Node) -> None:
        with self._lock:
            self._node, self.generation = node, self.generation + 1

    def current(self) -> tuple[int, Endpoint]:
        with self._lock:
            if self._node not in self._used:
                self._used.append(self._node)
            return self.generation, self._db.endpoint(self._node)

    def used(self) -> list[Node]:
        """The nodes clients were sent to, in order: where the run's writes went."""
        with self._lock:
            return list(self._used)


class FollowPrimary:
    """A client that reconnects to the route's node whenever the route has moved."""

    def __init__(self, client: Client, route: PrimaryRoute) -> None:
        self._client, self._route, self._generation = client, route, -1

    def open(self, endpoint: Endpoint | None = None) -> None:
        """Connect to the route's node (``endpoint``, any node's, is ignored: the route decides)."""
        self._generation, where = self._route.current()
        self._client.open(where)

    def setup(self) -> None:
        self._client.setup()

    def invoke(self, op: Any) -> Any:
        if self._route.generation != self._generation:
            self._client.close()
            self.open()
        return self._client.invoke(op)

    def close(self) -> None:
        self._client.close()


class FailoverNemesis:
    """``failover``: kill the current primary and promote a running replica; ``rejoin``: restart
    the killed primaries."""

    fs = frozenset({"failover", "rejoin"})

    def __init__(self, db: DB, nodes: Sequence[Node], route: PrimaryRoute | None) -> None:
        missing = [p.__name__ for p in (HasPrimaries, Killable, Promotable) if not isinstance(db, p)]
        if missing:
            raise NemesisError(f"the failover nemesis needs a database with a primary it can kill and a replica it "
                               f"can promote ({', '.join(missing)}); {db.name} has not")
        self._db: Any = db
        self._nodes, self._route = list(nodes), route
        self._killed: list[Node] = []

    def invoke(self, f: str, value: Any) -> Any:
        if f == "failover":
            return self._failover()
        if f == "rejoin":
            return self.heal()
        raise ValueError(f"failover nemesis: unknown f {f!r}")

    def _failover(self) -> list[str]:
        primaries = self._db.primaries(self._nodes)
        if len(primaries) != 1:
            raise NemesisError(f"failover needs exactly one primary, found {[n.name for n in primaries] or 'none'}")
        old = primaries[0]
        replicas = [n for n in self._nodes if n != old and n not in self._killed]
        if not replicas:
            raise NemesisError(f"failover: no replica of {old.name} left to promote")
        self._db.kill(old)
        self._killed.append(old)
        new = replicas[0]
        self._db.promote(new)
        if self._route is not None:
            self._route.move(new)
        return [old.name, new.name]

    def heal(self) -> list[str]:
        done = []
        while self._killed:
            self._db.start(self._killed[0])
            done.append(self._killed.pop(0).name)
        return done
