"""The bank workload: money moves between accounts; the total never changes.

``accounts`` accounts start with ``total`` split evenly. Processes mix two transactions:

- ``transfer`` ``{"from": 1, "to": 3, "amount": 4, "id": 17}``: lock both rows, check the
  balance, update both, log the transfer id, commit. A transfer larger than the balance fails
  with ``insufficient-funds`` and changes nothing, so balances never go negative.
- ``read``: every balance in one transaction, ``{0: 12, 1: 8, ...}``.

After recovery, ``final-read`` reads every balance and, in the same transaction, the ids of the
transfers that committed (``transfer-ids`` in the completion), so an acknowledged transfer
missing after recovery is found by id, not guessed from balances.

The bank checker then asks: does every read sum to ``total``? Is any balance negative?
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Any

import pymysql

from checkers.history import Op
from checkers.registry import CheckOptions
from clusters.endpoint import Endpoint
from workloads.client import complete
from workloads.generator import Context, Generator, Invocation, fn, mix
from workloads.mysql import classify, connect

__all__ = ["BankClient", "BankSpec", "transfers_generator"]

DATABASE = "chaoscert"


@dataclass(frozen=True)
class BankSpec:
    """The bank's shape: ``accounts`` accounts holding ``total`` in all; transfers of 1..max_transfer."""

    accounts: int = 8
    total: int = 800
    max_transfer: int = 20

    def __post_init__(self) -> None:
        if self.accounts < 2:
            raise ValueError("bank: need at least 2 accounts")
        if self.total < 0 or self.max_transfer < 1:
            raise ValueError("bank: total must be >= 0 and max_transfer >= 1")

    def initial_balances(self) -> dict[int, int]:
        share, extra = divmod(self.total, self.accounts)
        return {a: share + (1 if a < extra else 0) for a in range(self.accounts)}

    def check_options(self) -> CheckOptions:
        return CheckOptions(total_amount=self.total, accounts=tuple(range(self.accounts)),
                            max_transfer=self.max_transfer)


def transfers_generator(spec: BankSpec) -> Generator:
    """Transfers and reads, half and half; each transfer gets a new id (increasing, unique in the test)."""
    ids = itertools.count(1)

    def transfer(ctx: Context) -> Invocation:
        src, dst = ctx.rng.sample(range(spec.accounts), 2)
        return Invocation("transfer", {"from": src, "to": dst, "amount": ctx.rng.randint(1, spec.max_transfer),
                                       "id": next(ids)})

    return mix(fn(transfer), fn(lambda ctx: Invocation("read")))


class BankClient:
    """The bank over a MySQL-protocol connection (seekdb, MariaDB...)."""

    def __init__(self, spec: BankSpec, *, timeout: float = 5.0) -> None:
        self.spec, self.timeout = spec, timeout
        self._endpoint: Endpoint | None = None
        self._conn: pymysql.Connection | None = None

    def open(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(pymysql.err.Error):  # already closed by the server
                self._conn.close()
            self._conn = None

    def setup(self) -> None:
        conn = self._connection(database=None)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            cur.execute(f"USE {DATABASE}")
            cur.execute("DROP TABLE IF EXISTS bank_accounts")
            cur.execute("DROP TABLE IF EXISTS bank_transfers")
            cur.execute("CREATE TABLE bank_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)")
            cur.execute("CREATE TABLE bank_transfers (id BIGINT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL,"
                        " amount BIGINT NOT NULL)")
            cur.executemany("INSERT INTO bank_accounts VALUES (%s, %s)", sorted(self.spec.initial_balances().items()))
        conn.commit()
        self.close()

    def invoke(self, op: Op) -> Op:
        committing = False
        try:
            conn = self._connection(database=DATABASE)
            with conn.cursor() as cur:
                conn.begin()
                extra: dict[str, Any] = {}
                if op.f in ("read", "final-read"):
                    cur.execute("SELECT id, balance FROM bank_accounts")
                    value: Any = {int(a): int(b) for a, b in cur.fetchall()}
                    if op.f == "final-read":
                        cur.execute("SELECT id FROM bank_transfers ORDER BY id")
                        extra["transfer-ids"] = [int(r[0]) for r in cur.fetchall()]
                elif op.f == "transfer":
                    refusal = self._transfer(cur, op.value)
                    if refusal:
                        conn.rollback()
                        return complete(op, "fail", error=refusal)
                    value = None
                else:
                    raise ValueError(f"bank client: unknown f {op.f!r}")
                committing = True
                conn.commit()
            return complete(op, "ok", value, extra=extra)
        except (pymysql.err.Error, OSError) as e:
            self.close()
            outcome = classify(e, committing=committing and op.f == "transfer")
            return complete(op, outcome.type, error=outcome.error)

    def _transfer(self, cur: Any, t: dict[str, int]) -> str | None:
        """Move the money inside the open transaction; a refusal reason, or None when done."""
        src, dst, amount = t["from"], t["to"], t["amount"]
        cur.execute("SELECT id, balance FROM bank_accounts WHERE id IN (%s, %s) ORDER BY id FOR UPDATE", (src, dst))
        balances = {int(a): int(b) for a, b in cur.fetchall()}
        if src not in balances or dst not in balances:
            return f"no-such-account: {sorted({src, dst} - set(balances))}"
        if balances[src] < amount:
            return f"insufficient-funds: account {src} has {balances[src]} < {amount}"
        cur.execute("UPDATE bank_accounts SET balance = %s WHERE id = %s", (balances[src] - amount, src))
        cur.execute("UPDATE bank_accounts SET balance = %s WHERE id = %s", (balances[dst] + amount, dst))
        cur.execute("INSERT INTO bank_transfers VALUES (%s, %s, %s, %s)", (t["id"], src, dst, amount))
        return None

    def _connection(self, database: str | None) -> pymysql.Connection:
        if self._conn is None:
            if self._endpoint is None:
                raise RuntimeError("bank client used before open()")
            self._conn = connect(self._endpoint, timeout=self.timeout, database=database)
        return self._conn
