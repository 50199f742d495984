"""Runner benchmark: the generator, the interpreter and history recording with a no-op client.

Every client op completes ``ok`` at once, so the figure is what chaoscert itself can drive and
record: the target is >= 50,000 ops/s (an op = invocation + completion, both recorded to
history.jsonl) so that recording is never the bottleneck of a real run.

Usage: python benchmarks/runner_bench.py [--seconds 5] [--clients 10] [--workload register]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.interpreter import client_worker, interpret
from chaos.recorder import Recorder
from checkers.formats import read_history
from checkers.history import Op
from workloads.catalog import WORKLOADS
from workloads.client import complete
from workloads.generator import time_limit
from workloads.workload import WorkloadOptions


class NoopClient:
    def open(self, endpoint: object) -> None: ...

    def setup(self) -> None: ...

    def close(self) -> None: ...

    def invoke(self, op: Op) -> Op:
        return complete(op, "ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workload", default="register", choices=sorted(WORKLOADS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaoscert-bench-") as tmp:
        path = Path(tmp) / "history.jsonl"
        workers = [client_worker(i, NoopClient()) for i in range(args.clients)]
        gen = time_limit(args.seconds, WORKLOADS[args.workload].generator(WorkloadOptions()))
        started = time.perf_counter()
        with Recorder(path) as recorder:
            interpret(recorder, random.Random(1), workers, gen, None, None, threading.Event(), drain_timeout=5)
        elapsed = time.perf_counter() - started
        for w in workers:
            w.stop(1.0)
        history = read_history(path)
        ops = len(history.pairs())
        size = path.stat().st_size
    print(f"{args.workload}, {args.clients} no-op clients, {args.seconds:g} s: {ops:,} ops "
          f"({2 * ops:,} history records, {size / 1e6:.1f} MB) in {elapsed:.2f} s = {ops / elapsed:,.0f} ops/s "
          f"(target >= 50,000)")


if __name__ == "__main__":
    main()
