"""Linearizability checker benchmark: generated Jepsen-like histories through the real CLI.

1. 100 cas-register histories (5 clients, values 0-4, ~170 ops each with crashed ``info`` ops whose
   processes are replaced, initial value nil), half of them with one read corrupted, checked in ONE
   ``python -m chaos check -m cas-register`` call (start-up and EDN reading included).
2. One kv history: 50 clients, ~2,000 ops over 10 keys (get/put/append), valid, then with one get
   corrupted.

Usage: python benchmarks/lin_bench.py [--files 100] [--seed 1] [--keep DIR]
Prints wall-clock figures; the targets are < 1 s for (1) and < 0.5 s for (2).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


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


def simulate(rng: random.Random, clients: int, ops: int, gen_op: Any, apply: Any, init: Any,
             crash: float) -> list[dict[str, Any]]:
    """Ops with random windows; each takes effect at a random point inside its window (crashed ones
    maybe not at all); the real object's answers are computed in that order."""
    procs = list(range(clients))
    clock = [rng.randint(0, 50) for _ in procs]
    calls = []
    for _ in range(ops):
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
        events.append((c["start"], {**base, "type": ":invoke", "value": c["value"]}))
        if c["crashed"]:
            events.append((c["end"], {**base, "type": ":info", "value": c["value"], "error": ":timed-out"}))
        else:
            events.append((c["end"], {**base, "type": ":ok" if c["ok"] else ":fail", "value": c["out"]}))
    events.sort(key=lambda e: e[0])
    return [{**e, "index": i, "time": t * 1_000_000} for i, (t, e) in enumerate(events)]


def write_edn(path: Path, ops: list[dict[str, Any]]) -> None:
    with open(path, "w") as out:
        for op in ops:
            out.write("{" + ", ".join(f":{k} {_edn(v)}" for k, v in op.items()) + "}\n")


def register_op(rng: random.Random) -> dict[str, Any]:
    f = rng.choice([":read", ":read", ":write", ":cas"])
    value = None if f == ":read" else rng.randint(0, 4) if f == ":write" else [rng.randint(0, 4), rng.randint(0, 4)]
    return {"f": f, "value": value}


def register_apply(state: Any, c: dict[str, Any]) -> tuple[Any, Any, bool]:
    if c["f"] == ":read":
        return state, state, True
    if c["f"] == ":write":
        return c["value"], c["value"], True
    old, new = c["value"]
    return (new, c["value"], True) if state == old else (state, c["value"], False)


def corrupt(rng: random.Random, ops: list[dict[str, Any]], f: str, values: list[Any]) -> None:
    reads = [op for op in ops if op["type"] == ":ok" and op["f"] == f and op["value"] is not None]
    op = rng.choice(reads)
    op["value"] = rng.choice([v for v in values if v != op["value"]])


def kv_op(rng: random.Random) -> dict[str, Any]:
    f = rng.choice([":get", ":get", ":put", ":append"])
    return {"f": f, "key": f"k{rng.randrange(10)}", "value": None if f == ":get" else f"x{rng.randrange(100)}"}


def kv_apply(state: dict[str, str], c: dict[str, Any]) -> tuple[Any, Any, bool]:
    current = state.get(c["key"], "")
    if c["f"] == ":get":
        return state, current, True
    new = c["value"] if c["f"] == ":put" else current + c["value"]
    return {**state, c["key"]: new}, c["value"], True


def run(files: list[Path], model: str, *extra: str) -> tuple[float, Counter[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "chaos", "check", "-m", model, *extra, *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"check failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, Counter(line.rsplit("\t", 1)[1] for line in proc.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the histories here instead of a temporary folder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="lin-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        files, sizes, infos = [], [], 0
        for n in range(args.files):
            ops = simulate(rng, 5, rng.randint(75, 90), register_op, register_apply, None, crash=0.12)
            if n % 2:
                corrupt(rng, ops, ":read", list(range(5)))
            path = folder / f"register-{n:03}.edn"
            write_edn(path, ops)
            files.append(path)
            sizes.append(len(ops))
            infos += sum(op["type"] == ":info" for op in ops)
        run(files[:2], "cas-register")  # warm the file cache and bytecode
        elapsed, verdicts = run(files, "cas-register")
        print(f"register: {len(files)} files, {min(sizes)}-{max(sizes)} ops each ({sum(sizes)} ops, {infos} info), "
              f"half with one corrupted read")
        print(f"register: one CLI call {elapsed:.3f} s (target < 1 s); verdicts {dict(verdicts)}")
        empty = folder / "empty.edn"
        empty.write_text("")
        startup, _ = run([empty], "cas-register")
        print(f"start-up alone (one empty file): {startup:.3f} s")

        kv_ops = simulate(rng, 50, 1000, kv_op, kv_apply, {}, crash=0.05)
        good = folder / "kv.edn"
        write_edn(good, kv_ops)
        corrupt(rng, kv_ops, ":get", [f"x{i}" for i in range(100)])
        bad = folder / "kv-bad.edn"
        write_edn(bad, kv_ops)
        for path in (good, bad):
            elapsed, verdicts = run([path], "kv")
            print(f"kv: {len(kv_ops)} ops, 50 clients, 10 keys ({path.name}): {elapsed:.3f} s (target < 0.5 s); "
                  f"verdict {dict(verdicts)}")


if __name__ == "__main__":
    main()
