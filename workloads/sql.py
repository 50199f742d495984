"""SQL clients: each op is one transaction at the configured isolation level, over a ``Dialect``.

A workload says what an op does in SQL (:class:`SqlOps`: the schema, and ``apply`` inside an open
transaction); a dialect says how to talk to one family of servers (MySQL protocol: seekdb, MariaDB,
Galera; PostgreSQL): connect, begin, upsert syntax, and its one error table. :class:`SqlClient`
puts them together and classifies every outcome::

    connect fails            -> fail  (nothing was sent)
    apply raises Refused     -> fail, answered (rolled back: e.g. insufficient funds, CAS mismatch)
    error before COMMIT      -> the dialect's table (aborts: fail, answered), info turned fail
    error during COMMIT      -> the dialect's table (lost connection, timeout: info)
    COMMIT returned          -> ok

Read-only ops never send a COMMIT that matters: any error there is ``fail`` unless unknown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from checkers.history import ANSWERED, Op
from clusters.endpoint import Endpoint
from workloads.client import complete
from workloads.errors import Classified

__all__ = ["DATABASE", "ISOLATION_LEVELS", "Dialect", "Refused", "SqlClient", "SqlOps"]

DATABASE = "chaoscert"
ISOLATION_LEVELS = ("read-committed", "repeatable-read", "serializable")


class Refused(Exception):
    """The op surely did not happen (the workload decided so inside the transaction): ``fail``."""


class Dialect(Protocol):
    name: str
    errors: tuple[type[BaseException], ...]

    def connect(self, endpoint: Endpoint, *, timeout: float, database: str | None, isolation: str | None) -> Any:
        """A connection with autocommit off, bounded connect/read timeouts, at ``isolation``."""

    def create_database(self, endpoint: Endpoint, database: str, *, timeout: float) -> None:
        """Create ``database`` if it does not exist."""

    def begin(self, conn: Any) -> None: ...

    def guard(self, conn: Any, timeout: float) -> contextlib.AbstractContextManager[None]:
        """Bound one transaction to ``timeout`` s where the driver cannot (raises TimeoutError)."""

    def upsert(self, table: str, *, append: bool) -> str:
        """``INSERT (k, v) ... `` replacing ``v``, or appending ``,v`` to it, on a duplicate ``k``."""

    def classify(self, exc: BaseException, *, committing: bool) -> Classified: ...


class SqlOps(Protocol):
    """What a workload does in SQL."""

    def schema(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Statements (with rows for ``executemany``, or ``[]``) that create the tables afresh."""

    def read_only(self, op: Op) -> bool: ...

    def apply(self, dialect: Dialect, cur: Any, op: Op) -> tuple[Any, dict[str, Any]]:
        """Do ``op`` in the open transaction; the completion's value and extra fields. Raises
        :class:`Refused` when the op must not happen."""


class SqlClient:
    """One connection (lazy, reopened after an error) applying ops as transactions."""

    def __init__(self, dialect: Dialect, ops: SqlOps, *, timeout: float = 5.0, isolation: str | None = None) -> None:
        if isolation is not None and isolation not in ISOLATION_LEVELS:
            raise ValueError(f"isolation: unknown {isolation!r}; known: {', '.join(ISOLATION_LEVELS)}")
        self.dialect, self.ops, self.timeout, self.isolation = dialect, ops, timeout, isolation
        self._endpoint: Endpoint | None = None
        self._conn: Any = None

    def open(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(*self.dialect.errors, OSError):  # already closed by the server
                self._conn.close()
            self._conn = None

    def setup(self) -> None:
        endpoint = self._where()
        self.dialect.create_database(endpoint, DATABASE, timeout=self.timeout)
        conn = self.dialect.connect(endpoint, timeout=self.timeout, database=DATABASE, isolation=None)
        try:
            with conn.cursor() as cur:
                for statement, rows in self.ops.schema(self.dialect):
                    if rows:
                        cur.executemany(statement, rows)
                    else:
                        cur.execute(statement)
            conn.commit()
        finally:
            conn.close()

    def invoke(self, op: Op) -> Op:
        try:
            conn = self._connection()
        except (*self.dialect.errors, OSError) as e:
            self.close()
            return complete(op, "fail", error=f"connect-failed: {e}"[:200])
        committing = False
        try:
            with self._transaction(conn) as cur:
                try:
                    value, extra = self.ops.apply(self.dialect, cur, op)
                except Refused as refusal:
                    conn.rollback()
                    return complete(op, "fail", error=str(refusal), extra={ANSWERED: True})
                committing = not self.ops.read_only(op)
                conn.commit()
            return complete(op, "ok", value, extra=extra)
        except (*self.dialect.errors, OSError) as e:
            outcome = self.dialect.classify(e, committing=committing)
            self._after_error(conn, outcome)
            return complete(op, outcome.type, error=outcome.error, extra={ANSWERED: True} if outcome.answered else None)

    def _after_error(self, conn: Any, outcome: Classified) -> None:
        """A transaction the server refused (deadlock, serialization failure) leaves a healthy
        connection: roll back and keep it (reconnecting after each abort costs PostgreSQL a fork).
        Any other error, or a rollback that fails, closes the connection."""
        if outcome.answered:
            try:
                conn.rollback()
                return
            except (*self.dialect.errors, OSError):
                pass
        self.close()

    @contextlib.contextmanager
    def _transaction(self, conn: Any) -> Iterator[Any]:
        with self.dialect.guard(conn, self.timeout), conn.cursor() as cur:
            self.dialect.begin(conn)
            yield cur

    def _where(self) -> Endpoint:
        if self._endpoint is None:
            raise RuntimeError("SQL client used before open()")
        return self._endpoint

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.dialect.connect(self._where(), timeout=self.timeout, database=DATABASE,
                                              isolation=self.isolation)
        return self._conn
