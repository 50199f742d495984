"""Write linearizability benchmark histories to files, as a Jepsen test would have recorded them.

A simulated real-time object (a CAS register, or a string per key with get/put/append) is driven by
concurrent clients. Each op gets a random window; it takes effect at a random point inside it, and
the object's answers are computed in that order, so the history is linearizable. A crashed op
(``:info``, its process then replaced as Jepsen does) takes effect with probability one half, at a
point that may lie after its ``:info`` completion. An invalid history is the same with one read in
the middle returning a value nobody wrote (``unwritten``), or, for the CAS register, a value that was
written but surely overwritten before the read began (``stale``: what a lagging replica returns).

Usage::

    python benchmarks/lin_gen.py cas --ops 100000 --info 0.1 OUT.edn
    python benchmarks/lin_gen.py cas --ops 10000 --invalid stale OUT.edn
    python benchmarks/lin_gen.py kv --ops 2000 --clients 50 --keys 10 --invalid unwritten OUT.edn
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

Op = dict[str, Any]
Apply = Callable[[Any, Op], tuple[Any, Any, bool]]


def _edn(x: Any) -> str:
    if x is None:
        return "nil"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return x if x.startswith(":") else f'"{x}"'
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(_edn(v) for v in x) + "]"
    return str(x)


def write_edn(path: Path, ops: list[Op]) -> None:
    """One Jepsen op map per line."""
    with open(path, "w") as out:
        for op in ops:
            out.write("{" + ", ".join(f":{k} {_edn(v)}" for k, v in op.items()) + "}\n")


def simulate(rng: random.Random, clients: int, calls_n: int, gen_op: Callable[[random.Random], Op], apply: Apply,
             init: Any, crash: float) -> list[Op]:
    """A linearizable history of ``calls_n`` calls (invoke and completion each) by ``clients`` concurrent
    clients (see the module doc)."""
    procs = list(range(clients))
    clock = [rng.randint(0, 50) for _ in procs]
    calls = []
    for _ in range(calls_n):
        slot = min(range(clients), key=clock.__getitem__)
        start = clock[slot] + rng.randint(1, 20)
        end = start + rng.randint(1, 60)
        crashed = rng.random() < crash
        happens = not crashed or rng.random() < 0.5
        point = rng.uniform(start, end if not crashed else end + 200)
        calls.append({"process": procs[slot], "start": start, "end": end, "point": point, "happens": happens,
                      "crashed": crashed, **gen_op(rng)})
        clock[slot] = end
        if crashed:
            procs[slot] += clients
    state = init
    for c in sorted(calls, key=lambda c: c["point"]):
        if c["happens"]:
            state, c["out"], c["ok"] = apply(state, c)
    events = []
    for c in calls:
        base = {k: c[k] for k in ("process", "f") if k in c} | ({"key": c["key"]} if "key" in c else {})
        events.append((c["start"], 0, {**base, "type": ":invoke", "value": c["value"]}))
        if c["crashed"]:
            events.append((c["end"], 1, {**base, "type": ":info", "value": c["value"], "error": ":timed-out"}))
        else:
            events.append((c["end"], 1, {**base, "type": ":ok" if c["ok"] else ":fail", "value": c["out"]}))
    events.sort(key=lambda e: e[:2])
    return [{**e, "index": i, "time": t * 1_000_000} for i, (t, _, e) in enumerate(events)]


# ---------------------------------------------------------------- a CAS register, values 0-4


def register_op(rng: random.Random) -> Op:
    f = rng.choice([":read", ":read", ":write", ":cas"])
    value = None if f == ":read" else rng.randint(0, 4) if f == ":write" else [rng.randint(0, 4), rng.randint(0, 4)]
    return {"f": f, "value": value}


def register_apply(state: Any, c: Op) -> tuple[Any, Any, bool]:
    if c["f"] == ":read":
        return state, state, True
    if c["f"] == ":write":
        return c["value"], c["value"], True
    old, new = c["value"]
    return (new, c["value"], True) if state == old else (state, c["value"], False)


# ---------------------------------------------------------------- strings per key


def kv_ops(keys: int) -> Callable[[random.Random], Op]:
    def gen(rng: random.Random) -> Op:
        f = rng.choice([":get", ":get", ":put", ":append"])
        return {"f": f, "key": f"k{rng.randrange(keys)}", "value": None if f == ":get" else f"x{rng.randrange(100)}"}

    return gen


def kv_apply(state: dict[str, str], c: Op) -> tuple[Any, Any, bool]:
    current = state.get(c["key"], "")
    if c["f"] == ":get":
        return state, current, True
    new = c["value"] if c["f"] == ":put" else current + c["value"]
    return {**state, c["key"]: new}, c["value"], True


# ---------------------------------------------------------------- making one invalid


def corrupt(ops: list[Op]) -> Op:
    """The ``ok`` read nearest the middle now returns a value nobody wrote (5, or the string + "zz")."""
    reads = [op for op in ops if op["type"] == ":ok" and op["f"] in (":read", ":get") and op["value"] is not None]
    op = min(reads, key=lambda o: abs(o["index"] - len(ops) // 2))
    op["value"] = op["value"] + "zz" if isinstance(op["value"], str) else 5
    return op


def stale(ops: list[Op]) -> Op:
    """The ``ok`` read nearest the middle now returns a value it cannot: every op that could have set
    that value (a write or CAS, completed or crashed) was followed, before the read began, by a
    completed op setting another one. Each value is written somewhere, so only the search can tell."""
    calls = _calls(ops)
    reads = sorted((c for c in calls if c["f"] == ":read" and c["ok"]), key=lambda c: abs(c["inv"] - len(ops) // 2))
    for read in reads:
        for v in range(5):
            if v != read["op"]["value"] and _surely_stale(calls, read, v):
                read["op"]["value"] = v
                return read["op"]
    raise ValueError("no read can be made surely stale")


def _calls(ops: list[Op]) -> list[dict[str, Any]]:
    """Each call: invocation and completion positions (None: crashed), f, the value it set (None for a
    read or a CAS that failed) and whether it completed ok."""
    open_: dict[Any, dict[str, Any]] = {}
    calls = []
    for op in ops:
        if op["type"] == ":invoke":
            open_[op["process"]] = call = {"inv": op["index"], "ret": None, "f": op["f"], "op": op, "ok": False}
            calls.append(call)
            continue
        call = open_.pop(op["process"])
        call["ok"] = op["type"] == ":ok"
        call["ret"] = op["index"] if op["type"] != ":info" else None
        call["op"] = op
    for call in calls:
        value = call["op"]["value"]
        call["sets"] = None if call["f"] == ":read" or call["op"]["type"] == ":fail" else (
            value if call["f"] == ":write" else value[1])
    return calls


def _surely_stale(calls: list[dict[str, Any]], read: dict[str, Any], v: int) -> bool:
    """Whether no linearization lets ``read`` return ``v`` (a sufficient condition; see stale)."""
    # the latest invocation of a completed op setting another value, among those done before the read began
    latest = max((c["inv"] for c in calls if c["ok"] and c["sets"] is not None and c["sets"] != v
                  and c["ret"] < read["inv"]), default=-1)
    return not any(c["sets"] == v and c["inv"] < read["ret"] and (not c["ok"] or c["ret"] >= latest)
                   for c in calls)  # one that may have set v (crashed, or not surely overwritten) before the read


CORRUPTIONS = {"unwritten": corrupt, "stale": stale}


def generate(model: str, ops: int, clients: int, keys: int, info: float, seed: int, invalid: str | None) -> list[Op]:
    """A history of ``model`` ("cas" or "kv") of ``ops`` lines, corrupted by ``invalid`` ("unwritten" or
    "stale"), if given; see the module doc."""
    rng = random.Random(seed)
    if model == "cas":
        history = simulate(rng, clients, ops // 2, register_op, register_apply, None, crash=info)
    else:
        history = simulate(rng, clients, ops // 2, kv_ops(keys), kv_apply, {}, crash=info)
    if invalid is not None:
        CORRUPTIONS[invalid](history)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=["cas", "kv"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ops", type=int, default=1000, help="history lines (half invocations, half completions)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--keys", type=int, default=1, help="kv: number of keys")
    parser.add_argument("--info", type=float, default=0.01, help="share of ops that crash (:info)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid", choices=sorted(CORRUPTIONS), help="corrupt one read in the middle (module doc)")
    args = parser.parse_args()
    write_edn(args.out, generate(args.model, args.ops, args.clients, args.keys, args.info, args.seed, args.invalid))


if __name__ == "__main__":
    main()
