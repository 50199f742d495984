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

from dataclasses import dataclass
from typing import Any

from checkers.history import Op
from checkers.registry import CheckOptions
from workloads.generator import Context, Generator, Invocation, fn, mix, unfold
from workloads.sql import Dialect, Refused
from workloads.workload import Workload, WorkloadOptions, clients

__all__ = ["WORKLOAD", "BankOps", "BankSpec", "transfers_generator"]


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

    @classmethod
    def of(cls, options: WorkloadOptions) -> BankSpec:
        return cls(accounts=options.accounts, total=100 * options.accounts)

    def initial_balances(self) -> dict[int, int]:
        share, extra = divmod(self.total, self.accounts)
        return {a: share + (1 if a < extra else 0) for a in range(self.accounts)}

    def check_options(self) -> CheckOptions:
        return CheckOptions(total_amount=self.total, accounts=tuple(range(self.accounts)),
                            max_transfer=self.max_transfer)


def transfers_generator(spec: BankSpec) -> Generator:
    """Transfers and reads, half and half; each transfer gets a new id (increasing, unique in the test)."""

    def transfer(ctx: Context, next_id: int) -> tuple[Invocation, int]:
        src, dst = ctx.rng.sample(range(spec.accounts), 2)
        return Invocation("transfer", {"from": src, "to": dst, "amount": ctx.rng.randint(1, spec.max_transfer),
                                       "id": next_id}), next_id + 1

    return mix(unfold(1, transfer), fn(lambda ctx: Invocation("read")))


class BankOps:
    """The bank as two tables: ``bank_accounts(id, balance)`` and ``bank_transfers(id, src, dst, amount)``."""

    def __init__(self, spec: BankSpec) -> None:
        self.spec = spec

    def schema(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        return [
            ("DROP TABLE IF EXISTS bank_accounts", []),
            ("DROP TABLE IF EXISTS bank_transfers", []),
            ("CREATE TABLE bank_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)", []),
            ("CREATE TABLE bank_transfers (id BIGINT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL,"
             " amount BIGINT NOT NULL)", []),
            ("INSERT INTO bank_accounts (id, balance) VALUES (%s, %s)", sorted(self.spec.initial_balances().items())),
        ]

    def read_only(self, op: Op) -> bool:
        return op.f != "transfer"

    def apply(self, dialect: Dialect, cur: Any, op: Op) -> tuple[Any, dict[str, Any]]:
        if op.f in ("read", "final-read"):
            cur.execute("SELECT id, balance FROM bank_accounts")
            value = {int(a): int(b) for a, b in cur.fetchall()}
            extra = {}
            if op.f == "final-read":
                cur.execute("SELECT id FROM bank_transfers ORDER BY id")
                extra["transfer-ids"] = [int(r[0]) for r in cur.fetchall()]
            return value, extra
        if op.f == "transfer":
            self._transfer(cur, op.value)
            return None, {}
        raise ValueError(f"bank: unknown f {op.f!r}")

    def _transfer(self, cur: Any, t: dict[str, int]) -> None:
        """Move the money inside the open transaction, or raise Refused."""
        src, dst, amount = t["from"], t["to"], t["amount"]
        cur.execute("SELECT id, balance FROM bank_accounts WHERE id IN (%s, %s) ORDER BY id FOR UPDATE", (src, dst))
        balances = {int(a): int(b) for a, b in cur.fetchall()}
        if src not in balances or dst not in balances:
            raise Refused(f"no-such-account: {sorted({src, dst} - set(balances))}")
        if balances[src] < amount:
            raise Refused(f"insufficient-funds: account {src} has {balances[src]} < {amount}")
        cur.execute("UPDATE bank_accounts SET balance = %s WHERE id = %s", (balances[src] - amount, src))
        cur.execute("UPDATE bank_accounts SET balance = %s WHERE id = %s", (balances[dst] + amount, dst))
        cur.execute("INSERT INTO bank_transfers VALUES (%s, %s, %s, %s)", (t["id"], src, dst, amount))


_client = clients(lambda o: BankOps(BankSpec.of(o)), name="the bank workload")


WORKLOAD = Workload(
    name="bank",
    summary="transfers between accounts as transactions; the total never changes, nothing acknowledged is lost",
    client=_client,
    generator=lambda o: transfers_generator(BankSpec.of(o)),
    checkers=("bank", "bank-log"),
    check_options=lambda o: BankSpec.of(o).check_options(),
    protocols=("mysql", "postgres"),
    baseline=Invocation("read"),
    final=Invocation("final-read"),
)
