"""Benchmark the Elle list-append checker on histories from a simulated serializable database.

10 clients; each txn has 1-4 micro-ops (append or read) over a pool of active keys; a key is
retired after a bounded number of appends. A txn takes effect atomically when it completes,
so the history is strict-serializable and the checker must say valid. Prints generation time,
check time and peak RSS.

    /work/venv/bin/python benchmarks/elle_bench.py 100000 1000000
"""

from __future__ import annotations

import random
import resource
import sys
import time

from checkers.elle_checkers import check_list_append
from checkers.history import History, Op
from checkers.registry import CheckOptions

CLIENTS = 10
ACTIVE_KEYS = 10
MAX_APPENDS_PER_KEY = 32


def simulate(n: int, seed: int = 1) -> History:
    rng = random.Random(seed)
    state: dict[int, list[int]] = {}
    active = list(range(ACTIVE_KEYS))
    next_key = ACTIVE_KEYS
    next_value: dict[int, int] = {}
    pending: dict[int, list[list[object]]] = {}
    ops: list[Op] = []
    started = 0
    while started < n or pending:
        client = rng.randrange(CLIENTS)
        if client not in pending:
            if started >= n:
                continue
            txn: list[list[object]] = []
            for _ in range(rng.randint(1, 4)):
                k = rng.choice(active)
                if rng.random() < 0.5:
                    txn.append(["r", k, None])
                else:
                    v = next_value.get(k, 0) + 1
                    next_value[k] = v
                    if v >= MAX_APPENDS_PER_KEY:
                        active[active.index(k)] = next_key
                        next_key += 1
                    txn.append(["append", k, v])
            pending[client] = txn
            started += 1
            ops.append(Op(len(ops), len(ops), "invoke", client, "txn", txn))
        else:
            txn = pending.pop(client)
            done: list[list[object]] = []
            for f, k, v in txn:
                lst = state.setdefault(k, [])  # type: ignore[arg-type]
                if f == "r":
                    done.append(["r", k, list(lst)])
                else:
                    lst.append(v)
                    done.append(["append", k, v])
            ops.append(Op(len(ops), len(ops), "ok", client, "txn", done))
    return History(tuple(ops))


def main(sizes: list[int]) -> None:
    for n in sizes:
        t0 = time.perf_counter()
        history = simulate(n)
        t1 = time.perf_counter()
        result = check_list_append(history, CheckOptions())
        t2 = time.perf_counter()
        rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        print(f"{n} txns: generate {t1 - t0:.2f} s, check strict-serializable {t2 - t1:.2f} s, "
              f"valid? {result.valid}, peak RSS {rss_gb:.2f} GB", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000])
