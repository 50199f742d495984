"""Checking from files, as users do: each figure is one ``chaoscert check`` process (start-up
included) reading files written by benchmarks/make_read_data.py. Prints wall time, CPU time
(user + system: on a loaded machine wall time mostly measures the other processes), peak RSS,
the verdicts and txn/s; ``--profile`` adds where the time of a 100k list-append check goes.

    .venv/bin/python benchmarks/make_read_data.py /tmp/read-data --append 100000 1000000
    .venv/bin/python benchmarks/read_bench.py /tmp/read-data [--profile]

10M txns (7.7 GB of files, ~8 minutes to write; each check takes ~3 minutes and 17 GB of the 24 here):

    .venv/bin/python benchmarks/make_read_data.py /tmp/read-10m --append 10000000 --logs 0
    .venv/bin/python benchmarks/read_bench.py /tmp/read-10m
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

CHAOSCERT = str(Path(sys.executable).with_name("chaoscert"))


def bench(label: str, argv: list[str], txns: int | None = None) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    verdicts = Counter(re.findall(r"\t(true|false|unknown)$", proc.stdout, re.M))
    rate = f", {txns / cpu:,.0f} txn/s by CPU, {txns / wall:,.0f} by wall" if txns else ""
    print(f"{label}: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {after.ru_maxrss / 1e6:.2f} GB (max so far), "
          f"exit {proc.returncode}, verdicts {dict(verdicts)}{rate}", flush=True)
    if proc.stderr.strip():
        print("   stderr:", proc.stderr.strip().splitlines()[-1][:200], flush=True)


def profile(path: Path) -> None:
    started = time.process_time()
    from checkers import CheckOptions, get_checker, read_history

    checker = get_checker("list-append")
    importlib.import_module("checkers.elle.list_append")  # numpy and scipy, which the checker imports
    imported = time.process_time()
    history = read_history(path)
    read = time.process_time()
    checker(history, CheckOptions())
    checked = time.process_time()
    print(f"{path} in one process, CPU: importing the checkers {imported - started:.2f} s (the CLI's own start-up "
          f"not counted), reading {read - imported:.2f} s, checking {checked - read:.2f} s")
    del history
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    result = checker(read_history(path), CheckOptions())
    profiler.disable()
    print(f"profile of reading and checking {path} (valid? {result.valid}), by own CPU time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="+", help="folders written by make_read_data.py")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for folder in args.folder:
        logs = sorted((folder / "etcd").glob("*.history.txt"))
        if logs:
            bench(f"{len(logs)} etcd history.txt logs, one call, cas-register",
                  [CHAOSCERT, "check", "-m", "cas-register", *map(str, logs)])
        for path in sorted(folder.glob("append-*.*"), key=lambda p: (int(p.stem.split("-")[1]), p.suffix)):
            n = int(path.stem.split("-")[1])
            bench(f"list-append {n:,} txns, {path.suffix[1:]} ({path.stat().st_size / 1e6:.0f} MB)",
                  [CHAOSCERT, "check", "-m", "list-append", str(path)], n)
        if args.profile and (folder / "append-100000.edn").exists():
            profile(folder / "append-100000.edn")


if __name__ == "__main__":
    main()
