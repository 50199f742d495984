"""The ``Client`` protocol: one connection per process, applying one op at a time.

The runner gives each process a client, calls ``open`` then ``invoke`` for each invocation, and
``close`` at the end (``setup`` once, on one client, before the test). ``invoke`` returns the
completion: the same op with type ``ok`` (it happened), ``fail`` (it surely did not happen) or
``info`` (it may have happened), with ``value`` and ``error`` filled in::

    client.open(endpoint)
    done = client.invoke(Op(7, t, "invoke", 0, "transfer", {"from": 1, "to": 2, "amount": 3}))
    # Op(..., type="fail", error="insufficient-funds: account 1 has 2 < 3")
"""

from __future__ import annotations

from typing import Any, Protocol

from checkers.history import Op
from clusters.endpoint import Endpoint

__all__ = ["Client", "complete"]


class Client(Protocol):
    def open(self, endpoint: Endpoint) -> None:
        """Remember where to connect (connecting may be lazy: a node may be down now)."""

    def setup(self) -> None:
        """Create the schema and initial data; called once per test, on one client."""

    def invoke(self, op: Op) -> Op:
        """Apply one invocation and return its completion (ok, fail or info); never raises for
        a database error."""

    def close(self) -> None:
        """Close the connection; safe to call twice."""


def complete(op: Op, type_: str, value: Any = None, error: str | None = None,
             extra: dict[str, Any] | None = None) -> Op:
    """The completion of invocation ``op`` (index and time are set by the runner)."""
    return Op(op.index, op.time, type_, op.process, op.f, op.value if value is None else value, error, op.node,
              {**op.extra, **extra} if extra else op.extra)
