"""Write the history files the reading benchmark and tests read, as Jepsen writes them.

- ``etcd/NNN.history.txt``: 100 logs of a single-register etcd-style test (read, write, cas),
  100-1,000 ops each, 5 clients, many ``:info`` (a timed-out op may or may not take effect; its
  process is retired and a new one takes its place, as in Jepsen). Jepsen's history.txt layout:
  ``INFO  jepsen.util - 3<TAB>:invoke<TAB>:cas<TAB>[1 4]``; every tenth file separates the fields
  by spaces (Jepsen wrote both). These come from a generator that simulates an atomic register
  (each op takes effect at one instant between its invocation and completion), not from a real etcd
  cluster: every history is linearizable by construction.
- ``append-N.edn`` and ``append-N.jsonl``: Jepsen list-append histories of N transactions (Elle's
  append workload: 1-4 micro-ops ``[:append k v]`` / ``[:r k [..]]``, 10 clients, a few active
  keys, each key retired after 64 appends, reads returning the whole list, ~3 % ``:info`` and
  ~2 % ``:fail``), serializable by construction (each txn applies atomically at its completion).
  Every 5 s of history time Jepsen's nemesis starts or stops a partition: ``:info`` ops of process
  ``:nemesis`` whose values hold maps and sets (``[:isolated {"n1" #{"n2" "n3"}, ...}]``).

    .venv/bin/python benchmarks/make_read_data.py /tmp/read-data --append 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

LOG_PREFIX = "INFO  jepsen.util - "
MAX_WRITES_PER_KEY = 64  # Elle's default is 32; 64 gives the file sizes (~580 bytes per txn)
FAULT_EVERY_NS = 5_000_000_000


class Text(str):
    """A string that EDN writes as a string (plain ``str`` is written as a keyword)."""


def fault_ops(time: int, start: bool) -> list[dict[str, object]]:
    """A partition starting (or healing) as Jepsen's nemesis records it: invocation and completion."""
    n1, n2, n3 = Text("n1"), Text("n2"), Text("n3")
    f = "start-partition" if start else "stop-partition"
    done: object = ["isolated", {n1: {n2, n3}, n2: {n1}, n3: {n1}}] if start else "network-healed"
    return [{"type": "info", "f": f, "value": "majority" if start else None, "time": time, "process": "nemesis"},
            {"type": "info", "f": f, "value": done, "time": time + 1, "process": "nemesis"}]


def etcd_log(rng: random.Random, n_ops: int, spaces: bool) -> list[str]:
    """One history.txt of about n_ops ops on one register, linearizable by construction."""
    sep = " " if spaces else "\t"
    value: int | None = None
    clients = {c: c for c in range(5)}  # client slot -> current process number
    next_process = 5
    pending: dict[int, tuple[str, object]] = {}  # slot -> (f, invoke value)
    lines: list[str] = []

    def line(process: int, type_: str, f: str, v: object, error: str | None = None) -> None:
        edn = "nil" if v is None else (f"[{v[0]} {v[1]}]" if isinstance(v, tuple) else str(v))
        fields = [str(process), f":{type_}", f":{f}", edn] + ([f":{error}"] if error else [])
        lines.append(LOG_PREFIX + sep.join(fields))

    while len(lines) < n_ops or pending:
        slot = rng.randrange(5)
        process = clients[slot]
        if slot not in pending:
            if len(lines) >= n_ops:
                continue
            f = rng.choice(["read", "write", "cas"])
            v: object = None if f == "read" else rng.randrange(5) if f == "write" else (rng.randrange(5),
                                                                                          rng.randrange(5))
            pending[slot] = (f, v)
            line(process, "invoke", f, v)
            continue
        f, v = pending.pop(slot)
        if rng.random() < 0.15:  # timed out: may or may not have happened; the process is retired
            if f == "write" and rng.random() < 0.5:
                value = v  # type: ignore[assignment]
            elif f == "cas" and rng.random() < 0.5 and value == v[0]:  # type: ignore[index]
                value = v[1]  # type: ignore[index]
            line(process, "info", f, v, "timeout")
            clients[slot] = next_process
            next_process += 1
        elif f == "read":
            line(process, "ok", f, value)
        elif f == "write":
            value = v  # type: ignore[assignment]
            line(process, "ok", f, v)
        elif value == v[0]:  # type: ignore[index]
            value = v[1]  # type: ignore[index]
            line(process, "ok", f, v)
        else:
            line(process, "fail", f, v)
    return lines


def append_history(n: int, seed: int = 1, first_key: int = 0) -> list[dict[str, object]]:
    """n list-append transactions as Jepsen op maps (invocations and completions)."""
    rng = random.Random(seed)
    state: dict[int, list[int]] = {}
    active, next_key = list(range(first_key, first_key + 5)), first_key + 5
    appended: dict[int, int] = {}
    pending: dict[int, list[list[object]]] = {}
    process_of = {c: c for c in range(10)}
    next_process = 10
    ops: list[dict[str, object]] = []
    time, started, faults = 0, 0, 0
    while started < n or pending:
        client = rng.randrange(10)
        time += rng.randrange(1, 2_000_000)
        if time >= (faults + 1) * FAULT_EVERY_NS:
            faults += 1
            ops.extend(fault_ops(time, faults % 2 == 1))
            time += 2
        process = process_of[client]
        if client not in pending:
            if started >= n:
                continue
            txn: list[list[object]] = []
            for _ in range(rng.randint(1, 4)):
                k = rng.choice(active)
                if rng.random() < 0.5:
                    txn.append(["r", k, None])
                else:
                    appended[k] = v = appended.get(k, 0) + 1
                    if v >= MAX_WRITES_PER_KEY:
                        active[active.index(k)] = next_key
                        next_key += 1
                    txn.append(["append", k, v])
            pending[client] = txn
            started += 1
            ops.append({"type": "invoke", "f": "txn", "value": txn, "time": time, "process": process})
            continue
        txn = pending.pop(client)
        roll = rng.random()
        if roll < 0.02:
            ops.append({"type": "fail", "f": "txn", "value": txn, "time": time, "process": process,
                        "error": "aborted"})
            continue
        done: list[list[object]] = []
        for f, k, v in txn:
            lst = state.setdefault(k, [])  # type: ignore[arg-type]
            if f == "r":
                done.append(["r", k, list(lst)])
            else:
                lst.append(v)  # type: ignore[arg-type]
                done.append(["append", k, v])
        if roll < 0.05:  # applied, but the client never heard back
            ops.append({"type": "info", "f": "txn", "value": txn, "time": time, "process": process,
                        "error": "timeout"})
            process_of[client] = next_process
            next_process += 1
        else:
            ops.append({"type": "ok", "f": "txn", "value": done, "time": time, "process": process})
    for i, op in enumerate(ops):
        op["index"] = i
    return ops


def edn(x: object) -> str:
    if x is None:
        return "nil"
    if isinstance(x, Text):
        return json.dumps(x)
    if isinstance(x, str):
        return ":" + x
    if isinstance(x, list):
        return "[" + " ".join(edn(v) for v in x) + "]"
    if isinstance(x, set):
        return "#{" + " ".join(sorted(edn(v) for v in x)) + "}"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{edn(k)} {edn(v)}" for k, v in x.items()) + "}"
    return str(x)


def write_append(folder: Path, n: int) -> None:
    """append-N.edn and append-N.jsonl, written in batches (10M txns do not fit a list of dicts)."""
    batch = 1_000_000
    with open(folder / f"append-{n}.edn", "w") as e, open(folder / f"append-{n}.jsonl", "w") as j:
        offset, time_offset = 0, 0
        for seed, start in enumerate(range(0, n, batch), 1):
            ops = append_history(min(batch, n - start), seed, 10_000_000 * seed)  # batches share no key
            for op in ops:
                op["index"] = int(op["index"]) + offset  # type: ignore[call-overload]
                op["time"] = int(op["time"]) + time_offset  # type: ignore[call-overload]
                if op["process"] != "nemesis":
                    # batches share no process: a batch numbers up to ~30k (each info retires one)
                    op["process"] = int(op["process"]) + 10_000_000 * seed  # type: ignore[call-overload]
            e.writelines(edn(op) + "\n" for op in ops)
            j.writelines(json.dumps(op, separators=(",", ":"), default=sorted) + "\n" for op in ops)
            offset += len(ops)
            time_offset = int(ops[-1]["time"]) + 1  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--append", type=int, nargs="*", default=[100_000], help="list-append sizes (txns)")
    parser.add_argument("--logs", type=int, default=100, help="number of history.txt logs")
    args = parser.parse_args()
    etcd = args.folder / "etcd"
    etcd.mkdir(parents=True, exist_ok=True)
    rng = random.Random(22)
    for i in range(args.logs):
        lines = etcd_log(rng, rng.randint(100, 1000), spaces=i % 10 == 3)
        (etcd / f"{i:03d}.history.txt").write_text("\n".join(lines) + "\n")
    for n in args.append:
        write_append(args.folder, n)
    print(f"wrote {args.logs} logs to {etcd} and list-append histories {args.append} to {args.folder}")


if __name__ == "__main__":
    main()
