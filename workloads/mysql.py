"""MySQL-protocol clients (pymysql): connecting, and the one table that classifies their errors.

An error is classified by the table as ``fail`` (the transaction surely did not commit) or
``info`` (it may have). Where the error happened matters for ``info`` errors only: before the
client sent ``COMMIT``, an explicit transaction cannot have committed (the server rolls it back
when the statement fails or the connection dies), so an ``info`` error there is a ``fail``. Once
``COMMIT`` is on the wire, a lost connection or a timeout is ``info``. Anything the table does not
know is ``info`` with ``error="indeterminate: ..."``, whatever the phase.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pymysql

from clusters.endpoint import Endpoint

__all__ = ["ERRORS", "Classified", "classify", "connect"]


@dataclass(frozen=True)
class Classified:
    type: str  # "fail" or "info"
    error: str


# MySQL / OceanBase error code -> (outcome, name). "fail": surely did not happen; "info": may have.
ERRORS: dict[int, tuple[str, str]] = {
    1045: ("fail", "access-denied"),
    1205: ("fail", "lock-wait-timeout"),       # statement rolled back, and we roll back the rest
    1213: ("fail", "deadlock"),                # the server chose this transaction as the victim
    1146: ("fail", "no-such-table"),
    2003: ("fail", "connection-refused"),      # nothing was sent
    2002: ("fail", "connection-refused"),
    4688: ("fail", "read-only"),               # OceanBase: standby tenant is read only
    6002: ("fail", "transaction-rolled-back"), # OceanBase: transaction rollbacked
    6235: ("fail", "transaction-set-violation"),  # OceanBase: serialization conflict
    1040: ("fail", "too-many-connections"),
    4012: ("info", "timeout"),                 # OceanBase: ob_query_timeout / ob_trx_timeout
    2006: ("info", "server-gone"),
    2013: ("info", "lost-connection"),
    2014: ("info", "commands-out-of-sync"),
    4038: ("info", "not-master"),
}


def classify(exc: BaseException, *, committing: bool) -> Classified:
    """Classify a client exception; ``committing`` is True once COMMIT (or an autocommit write) was sent."""
    code = _code(exc)
    entry = ERRORS.get(code) if code is not None else None
    if entry is None and isinstance(exc, (TimeoutError, socket.timeout)):
        entry = ("info", "timeout")
    elif entry is None and isinstance(exc, ConnectionRefusedError):
        entry = ("fail", "connection-refused")
    elif entry is None and isinstance(exc, (ConnectionError, pymysql.err.InterfaceError)):
        entry = ("info", "lost-connection")
    if entry is None:
        return Classified("info", f"indeterminate: {type(exc).__name__}: {exc}")
    outcome, name = entry
    if outcome == "info" and not committing:
        outcome = "fail"  # COMMIT was never sent: the open transaction cannot have committed
    detail = f": {exc.args[1]}" if code is not None and len(exc.args) > 1 else ""
    return Classified(outcome, f"{name}{detail}"[:200])


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


def connect(endpoint: Endpoint, *, timeout: float, database: str | None = None) -> pymysql.Connection:
    """A connection with autocommit off and bounded connect, read and write timeouts."""
    return pymysql.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user, password=endpoint.password,
                           database=database, connect_timeout=min(timeout, 2.0), read_timeout=timeout,
                           write_timeout=timeout, autocommit=False)
