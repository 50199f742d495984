"""Linearizability checker benchmark: generated Jepsen-like history FILES checked through the CLI.

1. 100 cas-register histories (5 clients, values 0-4, ~170 ops each with crashed ``info`` ops whose
   processes are replaced, initial value nil), half of them with one read corrupted, checked in ONE
   ``chaoscert check -m cas-register`` call (start-up and EDN reading included).
2. The kinds of issue 22, each valid and invalid: one read in the middle returning a value nobody
   wrote (``unwritten``, found before any search), and for the CAS register one returning a value
   written but surely overwritten before the read began (``stale``, which only the search finds);
   written by ``benchmarks/lin_gen.py`` and checked one file per ``chaoscert check`` call:
   a 2,000-op kv history with 50 clients, a 1-key 1,000-op kv history with 1 % ``info``, CAS
   registers and 100-key kv histories of 10k and 100k ops with 1 % and 10 % ``info``. Porcupine's
   times (Go, this machine, from the lin-study) are printed beside; with ``--porcupine BINARY`` (built
   from ``benchmarks/porcupine``) Porcupine's own verdicts and times are printed beside instead: on the
   same file (kv histories only; Porcupine has no reader, the driver reads each line with one regular
   expression), and on the calls chaoscert read from it, which spares Porcupine the pairing.

"Ops" are history lines (an invocation and its completion are two). Each line printed: kind, verdict
(expected ``true`` for valid, ``false`` for invalid), wall-clock seconds of the CLI call, and with
``--profile`` the same check in-process split into reading the file and the search.

Usage: python benchmarks/lin_bench.py [--only SUBSTRING] [--skip-100k] [--time-limit S] [--profile] [--keep DIR]
       [--source DIR] [--porcupine BINARY]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lin_gen import corrupt, generate, register_apply, register_op, simulate, write_edn

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "chaoscert"


class Kind(NamedTuple):
    name: str
    model: str  # lin_gen's: cas or kv
    ops: int
    clients: int
    keys: int
    info: float
    porcupine: str  # seconds on a valid history, " / " and on an invalid one where measured


KINDS = [
    Kind("kv-2k-50clients", "kv", 2_000, 50, 10, 0.05, "0.23 / 0.06-0.09"),
    Kind("kv-1key-1k-info1%", "kv", 1_000, 10, 1, 0.01, "0.03"),
    Kind("cas-10k-info1%", "cas", 10_000, 10, 1, 0.01, "0.068"),
    Kind("cas-10k-info10%", "cas", 10_000, 10, 1, 0.10, "0.38"),
    Kind("kv-100keys-10k-info10%", "kv", 10_000, 20, 100, 0.10, "0.09"),
    Kind("cas-100k-info1%", "cas", 100_000, 10, 1, 0.01, "1.75"),
    Kind("cas-100k-info10%", "cas", 100_000, 10, 1, 0.10, "30.6"),
    Kind("kv-100keys-100k-info1%", "kv", 100_000, 20, 100, 0.01, "1.0-1.2"),
    Kind("kv-100keys-100k-info10%", "kv", 100_000, 20, 100, 0.10, "1.0-1.2"),
]
MODEL = {"cas": "cas-register", "kv": "kv"}


def porcupine(kind: Kind, invalid: bool) -> str:
    """Porcupine's time for this kind of history, where the lin-study measured it."""
    valid_s, _, invalid_s = kind.porcupine.partition(" / ")
    if invalid and not invalid_s:
        return "Porcupine: not measured on an invalid one"
    return f"Porcupine {invalid_s if invalid else valid_s} s"


SOURCE: Path | None = None  # --source: check with the chaoscert sources there (an older commit, to compare)


def run(files: list[Path], model: str, *extra: str) -> tuple[Timing, Counter[str]]:
    command = [str(CLI)] if SOURCE is None else [sys.executable, "-m", "chaos"]
    env = None if SOURCE is None else {**os.environ, "PYTHONPATH": str(SOURCE)}
    t0, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([*command, "check", "-m", model, *extra, *map(str, files)],
                          cwd=SOURCE or ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"check failed ({proc.returncode}): {proc.stderr.strip()}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Timing(elapsed, cpu), Counter(line.rsplit("\t", 1)[1] for line in proc.stdout.splitlines())


class Timing(NamedTuple):
    """Wall-clock and CPU seconds of one CLI call (CPU is the steadier figure on a loaded machine)."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.3f} s ({self.cpu:.3f} s CPU)"


def profile(path: Path, model: str, time_limit: float) -> str:
    """The same check in this process: CPU seconds reading the file, then checking (search included)."""
    from checkers import CheckOptions, read_history
    from checkers.linearizable import check_linearizable

    t0 = time.process_time()
    history = read_history(path)
    t1 = time.process_time()
    result = check_linearizable(history, CheckOptions(time_limit_s=time_limit), model)
    t2 = time.process_time()
    return f"CPU: read {t1 - t0:.3f} s, check {t2 - t1:.3f} s ({result.details.get('configs')} configurations)"


PORCUPINE: Path | None = None  # --porcupine: the porcupine-check binary


def porcupine_run(files: list[Path], model: str, time_limit: float) -> str:
    """Porcupine on ``files`` themselves (kv only: read by benchmarks/porcupine's regular expression), and
    on the calls chaoscert reads from them: its verdicts, the whole process's wall time and the seconds
    its search took (reading its input left out)."""
    from checkers import read_history
    from checkers.linearizable import calls_by_key

    inputs = []
    for path in files:
        target = path.with_suffix(".calls.jsonl")
        with open(target, "w") as out:
            for key, calls in calls_by_key(read_history(path), model == "kv").items():
                for c in calls:
                    out.write(json.dumps({"key": key, "process": c.process, "call": c.call, "ret": c.ret, "f": c.f,
                                          "value": c.value}) + "\n")
        inputs.append(target)
    runs = [("on the calls chaoscert read", inputs)]
    if model == "kv":
        runs.insert(0, ("on the file", files))
    return "; ".join(f"Porcupine {what}: {_porcupine(paths, model, time_limit)}" for what, paths in runs)


def _porcupine(paths: list[Path], model: str, time_limit: float) -> str:
    t0 = time.perf_counter()
    proc = subprocess.run([str(PORCUPINE), "-timeout", str(time_limit), model, *map(str, paths)],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"porcupine-check failed: {proc.stderr.strip()}")
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    verdicts = Counter({"Ok": "true", "Illegal": "false"}.get(row[1], "unknown") for row in rows)
    search = sum(float(row[3]) for row in rows)
    return f"{', '.join(f'{v} x{n}' if n > 1 else v for v, n in verdicts.items())} in {wall:.3f} s, " \
           f"of which searching {search:.3f} s"


def register_files(folder: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    files, sizes, infos = [], [], 0
    for n in range(count):
        ops = simulate(rng, 5, rng.randint(75, 90), register_op, register_apply, None, crash=0.12)
        if n % 2:
            corrupt(ops)
        path = folder / f"register-{n:03}.edn"
        write_edn(path, ops)
        files.append(path)
        sizes.append(len(ops))
        infos += sum(op["type"] == ":info" for op in ops)
    run(files[:2], "cas-register")  # warm the file cache and bytecode
    elapsed, verdicts = run(files, "cas-register")
    print(f"register: {len(files)} files, {min(sizes)}-{max(sizes)} ops each ({sum(sizes)} ops, {infos} info), "
          f"half with one corrupted read: one CLI call {elapsed}; verdicts {dict(verdicts)}"
          + (f" ({porcupine_run(files, 'cas-register', 60)})" if PORCUPINE else ""))
    empty = folder / "empty.edn"
    empty.write_text("")
    startup, _ = run([empty], "cas-register")
    print(f"start-up alone (one empty file): {startup}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="run only the kinds whose name contains this")
    parser.add_argument("--skip-100k", action="store_true", help="leave out the 100k-op kinds")
    parser.add_argument("--time-limit", type=float, default=300, help="passed to chaoscert check")
    parser.add_argument("--profile", action="store_true", help="also time reading and checking in-process")
    parser.add_argument("--keep", type=Path, help="write the histories here instead of a temporary folder")
    parser.add_argument("--source", type=Path, help="run the CLI from these sources (e.g. `git archive` of a commit)")
    parser.add_argument("--porcupine", type=Path, help="a porcupine-check binary (benchmarks/porcupine) to run beside")
    args = parser.parse_args()
    global SOURCE, PORCUPINE
    SOURCE, PORCUPINE = args.source, args.porcupine
    with tempfile.TemporaryDirectory(prefix="lin-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.only is None:
            register_files(folder, args.files, args.seed)
        for kind in KINDS:
            if (args.only and args.only not in kind.name) or (args.skip_100k and kind.ops >= 100_000):
                continue
            for invalid in (None, "unwritten", *(("stale",) if kind.model == "cas" else ())):
                path = folder / f"{kind.name}-{invalid or 'valid'}.edn"
                if not path.exists():
                    write_edn(path, generate(kind.model, kind.ops, kind.clients, kind.keys, kind.info, args.seed,
                                             invalid))
                elapsed, verdicts = run([path], MODEL[kind.model], "--time-limit", str(args.time_limit))
                extra = f"; {profile(path, MODEL[kind.model], args.time_limit)}" if args.profile else ""
                beside = (porcupine_run([path], MODEL[kind.model], args.time_limit) if PORCUPINE
                          else porcupine(kind, invalid is not None))
                print(f"{path.stem}: {', '.join(verdicts)} in {elapsed} ({beside}){extra}", flush=True)


if __name__ == "__main__":
    main()
