"""PostgreSQL clients (psycopg 3): connecting, bounding a transaction in time, and the one table
that classifies their errors by SQLSTATE.

``abort`` (a definite answer): serialization failure (40001) and deadlock (40P01) roll the
transaction back, as do a unique violation and a lock not available. ``fail`` (no answer): a
standby's read-only refusal, a server starting up, permission errors. ``info``: the connection
lost or a timeout once ``COMMIT`` was sent (the server may have committed); before ``COMMIT`` they
become ``fail`` (see
:mod:`workloads.errors`). Anything not in the table is ``info``, ``indeterminate: ...``.

psycopg has no read timeout: :meth:`Postgres.guard` shuts the socket down when a transaction runs
past its timeout (a stopped server keeps the TCP connection open forever), and reports it as a
``TimeoutError``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import psycopg

from clusters.endpoint import Endpoint
from workloads.errors import Classified, by_table, indeterminate

__all__ = ["ERRORS", "POSTGRES", "Postgres", "classify"]

# SQLSTATE -> (outcome, name). "abort": the server refused it (an answer); "fail": surely did not
# happen, no answer; "info": may have happened.
ERRORS: dict[str, tuple[str, str]] = {
    "40001": ("abort", "serialization-failure"),
    "40P01": ("abort", "deadlock"),
    "23505": ("abort", "unique-violation"),
    "23502": ("fail", "not-null-violation"),
    "25006": ("fail", "read-only-transaction"),  # a standby refuses writes
    "25P02": ("fail", "in-failed-transaction"),
    "55P03": ("abort", "lock-not-available"),
    "53300": ("fail", "too-many-connections"),
    "57P03": ("fail", "cannot-connect-now"),      # starting up or in recovery
    "28000": ("fail", "invalid-authorization"),
    "28P01": ("fail", "invalid-password"),
    "3D000": ("fail", "no-such-database"),
    "42P01": ("fail", "no-such-table"),
    "42501": ("fail", "insufficient-privilege"),
    "57014": ("info", "query-canceled"),          # statement_timeout; at COMMIT it may have committed
    "57P01": ("info", "admin-shutdown"),
    "57P02": ("info", "crash-shutdown"),
    "08000": ("info", "connection-exception"),
    "08003": ("info", "connection-does-not-exist"),
    "08006": ("info", "connection-failure"),
    "40003": ("info", "statement-completion-unknown"),
}


def classify(exc: BaseException, *, committing: bool) -> Classified:
    """Classify a client exception; ``committing`` is True once COMMIT (or an autocommit write) was sent."""
    sqlstate = getattr(exc, "sqlstate", None)
    entry = ERRORS.get(sqlstate) if sqlstate else None
    if entry is None and isinstance(exc, (TimeoutError, socket.timeout)):
        entry = ("info", "timeout")
    elif entry is None and isinstance(exc, ConnectionRefusedError):
        entry = ("fail", "connection-refused")
    elif entry is None and not sqlstate and isinstance(exc, (ConnectionError, psycopg.OperationalError,
                                                             psycopg.InterfaceError)):
        entry = ("info", "lost-connection")  # no SQLSTATE: the connection broke, nothing more is known
    if entry is None:
        return indeterminate(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return by_table(entry, committing=committing, detail=detail)


class Postgres:
    """The PostgreSQL dialect for :class:`workloads.sql.SqlClient`."""

    name = "postgres"
    errors = (psycopg.Error,)

    def connect(self, endpoint: Endpoint, *, timeout: float, database: str | None,
                isolation: str | None) -> psycopg.Connection:
        conn = psycopg.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                               password=endpoint.password or None, dbname=database or "postgres",
                               connect_timeout=max(1, round(min(timeout, 2.0))), autocommit=False)
        if isolation is not None:
            conn.isolation_level = psycopg.IsolationLevel[isolation.replace("-", "_").upper()]
        return conn

    def create_database(self, endpoint: Endpoint, database: str, *, timeout: float) -> None:
        with psycopg.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                             password=endpoint.password or None, dbname="postgres",
                             connect_timeout=max(1, round(timeout)), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
                conn.execute(f"CREATE DATABASE {database}")

    def begin(self, conn: psycopg.Connection) -> None:
        pass  # psycopg opens the transaction with the first statement

    @contextlib.contextmanager
    def guard(self, conn: psycopg.Connection, timeout: float) -> Iterator[None]:
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            with contextlib.suppress(OSError, psycopg.Error), socket.socket(fileno=os.dup(conn.fileno())) as sock:
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except psycopg.Error as e:
            if fired.is_set():
                raise TimeoutError(f"no answer within {timeout:g} s") from e
            raise
        finally:
            timer.cancel()

    def upsert(self, table: str, *, append: bool) -> str:
        new = f"{table}.v || ',' || EXCLUDED.v" if append else "EXCLUDED.v"
        return f"INSERT INTO {table} (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = {new}"

    def classify(self, exc: BaseException, *, committing: bool) -> Classified:
        return classify(exc, committing=committing)


POSTGRES = Postgres()
