"""SLA figures on a history of many failures before the first ok (the shape that made downtime
quadratic): time to read the file and to compute every figure, for growing sizes.

Usage: python benchmarks/sla_bench.py [--sizes 20000,200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.formats import read_history, write_history
from checkers.history import History, Op
from checkers.sla import sla_figures


def failures_then_ok(n: int) -> History:
    """A kill, then ``n`` refused connections on one client, then one ok."""
    ops = [Op(0, 0, "info", "nemesis", "kill", None), Op(1, 1, "info", "nemesis", "kill", ["n1"])]
    for i in range(n):
        ops += [Op(len(ops), 2 * i + 2, "invoke", 0, "write", i),
                Op(len(ops) + 1, 2 * i + 3, "fail", 0, "write", i, error="connection-refused")]
    ops += [Op(len(ops), 2 * n + 2, "invoke", 0, "write", n), Op(len(ops) + 1, 2 * n + 3, "ok", 0, "write", n)]
    return History.of(ops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000")
    args = parser.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="chaoscert-sla-bench-") as tmp:
            path = Path(tmp) / "history.jsonl"
            write_history(failures_then_ok(n), path)
            t0 = time.perf_counter()
            history = read_history(path)
            t1 = time.perf_counter()
            fig = sla_figures(history)
            t2 = time.perf_counter()
        (window,) = fig.downtimes
        print(f"{n:>9,} failures: read {t1 - t0:.2f} s, figures {t2 - t1:.2f} s; one window of "
              f"{len(window.failed_indices):,} failed ops, RTO {fig.recoveries[0].rto_ns} ns")


if __name__ == "__main__":
    main()
