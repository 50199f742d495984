"""MySQL-protocol clients (pymysql): connecting, and the one table that classifies their errors.

An error is classified by the table as ``fail`` (the transaction surely did not commit) or
``info`` (it may have). Where the error happened matters for ``info`` errors only: before the
client sent ``COMMIT``, an explicit transaction cannot have committed (the server rolls it back
when the statement fails or the connection dies), so an ``info`` error there is a ``fail``. Once
``COMMIT`` is on the wire, a lost connection or a timeout is ``info``. Anything the table does not
know is ``info`` with ``error="indeterminate: ..."``, whatever the phase.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pymysql
from pymysql.constants import CLIENT

from clusters.endpoint import Endpoint
from workloads.errors import Classified, by_table, indeterminate

__all__ = ["ERRORS", "MYSQL", "MySQL", "classify", "connect"]

# MySQL / OceanBase error code -> (outcome, name). "abort": the server refused it (an answer); "fail":
# surely did not happen, no answer; "info": may have happened.
ERRORS: dict[int, tuple[str, str]] = {
    1045: ("fail", "access-denied"),
    1205: ("abort", "lock-wait-timeout"),       # statement rolled back, and we roll back the rest
    1213: ("abort", "deadlock"),               # the server chose this transaction as the victim
    1020: ("abort", "record-changed"),         # innodb_snapshot_isolation: whole transaction rolled back
    1146: ("fail", "no-such-table"),
    2003: ("fail", "connection-refused"),      # nothing was sent
    2002: ("fail", "connection-refused"),
    4688: ("fail", "read-only"),               # OceanBase: standby tenant is read only
    6002: ("fail", "transaction-rolled-back"), # OceanBase: transaction rollbacked
    6235: ("abort", "transaction-set-violation"),  # OceanBase: serialization conflict
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
        return indeterminate(exc)
    detail = str(exc.args[1]) if code is not None and len(exc.args) > 1 else ""
    return by_table(entry, committing=committing, detail=detail)


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


def connect(endpoint: Endpoint, *, timeout: float, database: str | None = None,
            isolation: str | None = None) -> pymysql.Connection:
    """A connection with autocommit off, bounded connect, read and write timeouts, and UPDATE
    row counts that count matched rows (so a CAS to the same value reports 1 row)."""
    conn = pymysql.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user, password=endpoint.password,
                           database=database, connect_timeout=min(timeout, 2.0), read_timeout=timeout,
                           write_timeout=timeout, autocommit=False,
                           client_flag=CLIENT.FOUND_ROWS)
    if isolation is not None:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {isolation.replace('-', ' ').upper()}")
    return conn


class MySQL:
    """The MySQL-protocol dialect (seekdb, MariaDB, Galera) for :class:`workloads.sql.SqlClient`."""

    name = "mysql"
    errors = (pymysql.err.Error,)

    def connect(self, endpoint: Endpoint, *, timeout: float, database: str | None,
                isolation: str | None) -> pymysql.Connection:
        return connect(endpoint, timeout=timeout, database=database, isolation=isolation)

    def create_database(self, endpoint: Endpoint, database: str, *, timeout: float) -> None:
        conn = connect(endpoint, timeout=timeout)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        finally:
            conn.close()

    def begin(self, conn: pymysql.Connection) -> None:
        conn.begin()

    @contextlib.contextmanager
    def guard(self, conn: pymysql.Connection, timeout: float) -> Iterator[None]:
        yield  # pymysql's read_timeout bounds every round trip

    def upsert(self, table: str, *, append: bool) -> str:
        new = "CONCAT(v, ',', VALUES(v))" if append else "VALUES(v)"
        return f"INSERT INTO {table} (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = {new}"

    def classify(self, exc: BaseException, *, committing: bool) -> Classified:
        return classify(exc, committing=committing)


MYSQL = MySQL()
