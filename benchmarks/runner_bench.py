"""Runner benchmark: the generator, the interpreter and history recording with a no-op client.

Every client op completes ``ok`` at once, so the figure is what chaoscert itself can drive and
record: the target is >= 50,000 ops/s (an op = invocation + completion, both recorded to
history.jsonl) so that recording is never the bottleneck of a real run. The machine's load is
printed alongside: on a shared machine, other processes' CPU use lowers the figure; the CPU time
per op (all threads) is the figure they disturb least.

Usage: python benchmarks/runner_bench.py [--seconds 5] [--clients 10] [--workload register] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.run.interpreter import client_worker, interpret
from chaos.run.recorder import Recorder
from checkers.formats import read_history
from checkers.history import Op
from workloads.catalog import WORKLOADS
from workloads.client import complete
from workloads.generator import time_limit
from workloads.workload import WorkloadOptions

TARGET = 50_000


class NoopClient:
    def open(self, endpoint: object) -> None: ...

    def setup(self) -> None: ...

    def close(self) -> None: ...

    def invoke(self, op: Op) -> Op:
        return complete(op, "ok")


def run_once(workload: str, clients: int, seconds: float) -> float:
    """One run: print its figures and return its ops/s."""
    with tempfile.TemporaryDirectory(prefix="chaoscert-bench-") as tmp:
        path = Path(tmp) / "history.jsonl"
        workers = [client_worker(i, NoopClient()) for i in range(clients)]
        gen = time_limit(seconds, WORKLOADS[workload].generator(WorkloadOptions()))
        started, cpu = time.perf_counter(), time.process_time()
        with Recorder(path) as recorder:
            interpret(recorder, random.Random(1), workers, gen, None, None, threading.Event(), drain_timeout=5)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        for w in workers:
            w.stop(1.0)
        history = read_history(path)
        ops = len(history.pairs())
        size = path.stat().st_size
    rate = ops / elapsed
    print(f"  {ops:,} ops ({2 * ops:,} history records, {size / 1e6:.1f} MB) in {elapsed:.2f} s = {rate:,.0f} ops/s, "
          f"{cpu / ops * 1e6:.1f} us CPU per op; load average {os.getloadavg()[0]:.2f}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workload", default="register", choices=sorted(WORKLOADS))
    parser.add_argument("--runs", type=int, default=1, help="report the median of this many runs")
    args = parser.parse_args()
    print(f"{args.workload}, {args.clients} no-op clients, {args.seconds:g} s per run, {args.runs} run(s) "
          f"on {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.2f} before)")
    rate = statistics.median(run_once(args.workload, args.clients, args.seconds) for _ in range(args.runs))
    verdict = "met" if rate >= TARGET else "NOT met"
    print(f"{'median ' if args.runs > 1 else ''}{rate:,.0f} ops/s: target >= {TARGET:,} ops/s {verdict}")


if __name__ == "__main__":
    main()
