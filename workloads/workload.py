"""A workload is a bundle of data: how to make a client for a database's protocol, the generator of
its ops, the checkers that judge its history, the ops run once before and after the test, and
its defaults (STYLE item 8). The runner knows nothing else about workloads::

    w = WORKLOADS["register"]
    client = w.client("postgres", options)        # a Client for one process
    gen = w.generator(options)                    # pure Generator of invocations
    w.checkers                                    # ("cas-register",) with w.check_options(options)

Protocols: ``mysql`` (seekdb, MariaDB, Galera), ``postgres``, ``etcd`` (the v3 JSON gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checkers.registry import CheckOptions
from workloads.client import Client
from workloads.generator import Generator, Invocation
from workloads.mysql import MYSQL
from workloads.postgres import POSTGRES
from workloads.sql import ISOLATION_LEVELS, Dialect, SqlClient, SqlOps

__all__ = ["DIALECTS", "PROTOCOLS", "Workload", "WorkloadOptions", "sql_client"]

DIALECTS: dict[str, Dialect] = {"mysql": MYSQL, "postgres": POSTGRES}
PROTOCOLS = (*DIALECTS, "etcd")


@dataclass(frozen=True, kw_only=True)
class WorkloadOptions:
    """Every workload's knobs; each workload reads the ones it understands."""

    isolation: str = "serializable"  # SQL transactions' isolation level
    timeout: float = 5.0  # seconds before an op is abandoned (info when it may have happened)
    accounts: int = 8  # bank
    key_slots: int = 10  # register, list-append, rw-register: live keys
    writes_per_key: int = 0  # 0: the workload's default
    max_txn_length: int = 4  # list-append, rw-register: micro-ops per txn (1..n)
    consistency: str | None = None  # list-append, rw-register: model to check (default: the isolation's)

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATION_LEVELS:
            raise ValueError(f"--isolation: unknown {self.isolation!r}; known: {', '.join(ISOLATION_LEVELS)}")
        if self.timeout <= 0 or self.accounts < 2 or self.key_slots < 1 or self.writes_per_key < 0 \
                or self.max_txn_length < 1:
            raise ValueError("workload options: timeout > 0, accounts >= 2, key slots >= 1, writes per key >= 0, "
                             "txn length >= 1")


@dataclass(frozen=True, kw_only=True)
class Workload:
    name: str
    summary: str
    client: Callable[[str, WorkloadOptions], Client]  # raises ValueError for a protocol it cannot speak
    generator: Callable[[WorkloadOptions], Generator]
    checkers: tuple[str, ...]
    check_options: Callable[[WorkloadOptions], CheckOptions]
    protocols: tuple[str, ...] = PROTOCOLS
    baseline: Invocation | None = None  # applied once after setup, before the clients start
    final: Invocation | None = None  # applied after the heal, retried until ok (bounded)


def sql_client(protocol: str, ops: SqlOps, options: WorkloadOptions) -> SqlClient:
    try:
        dialect = DIALECTS[protocol]
    except KeyError:
        raise ValueError(f"no SQL dialect for protocol {protocol!r}") from None
    return SqlClient(dialect, ops, timeout=options.timeout, isolation=options.isolation)


def clients(sql_ops: Callable[[WorkloadOptions], SqlOps], etcd_ops: Callable[[], Any] | None = None,
            name: str = "this workload") -> Callable[[str, WorkloadOptions], Client]:
    """A workload's client factory: an etcd client over ``etcd_ops()`` for etcd, else an SQL client
    over ``sql_ops(options)`` in the protocol's dialect."""

    def make(protocol: str, options: WorkloadOptions) -> Client:
        if protocol == "etcd":
            if etcd_ops is None:
                raise ValueError(f"{name} needs SQL transactions; etcd cannot run it")
            from workloads.etcd import EtcdClient

            return EtcdClient(etcd_ops(), timeout=options.timeout)
        return sql_client(protocol, sql_ops(options), options)

    return make
