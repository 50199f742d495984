"""Bank workload throughput and latency on a real cluster (default: 3-node Galera in network
namespaces, no faults, rate unbounded): ok transfers per second and transfer latency quantiles.

Usage (root): python benchmarks/bank_bench.py [--db galera] [--backend netns] [--nodes 3]
              [--seconds 20] [--concurrency 3n]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.run.runner import RunSpec, run
from checkers.formats import read_history
from checkers.quantiles import quantiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="galera")
    parser.add_argument("--backend", default="netns")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", default="3n")
    parser.add_argument("--isolation", default="serializable")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaoscert-bank-bench-") as tmp:
        spec = RunSpec(db=args.db, backend=args.backend, nodes=args.nodes, workload="bank", nemesis="none",
                       time_limit=args.seconds, concurrency=args.concurrency, rate=1e6, isolation=args.isolation,
                       results_dir=Path(tmp))
        result = run(spec, say=lambda _: None)
        if "error" in result.results:
            sys.exit(f"run failed: {result.results['error']}")
        history = read_history(result.directory / "history.jsonl")
    pairs = [p for p in history.pairs() if p.complete is not None and p.invoke.time > 0]
    span = (max(p.complete.time for p in pairs) - min(p.invoke.time for p in pairs)) / 1e9
    for f in ("transfer", "read"):
        ok = [p for p in pairs if p.f == f and p.type == "ok"]
        failed = sum(1 for p in pairs if p.f == f and p.type != "ok")
        q = quantiles([p.complete.time - p.invoke.time for p in ok], (0.5, 0.95, 0.99)) or {}
        print(f"{args.db} x{args.nodes} ({args.backend}), {spec.clients} clients, {args.isolation}, {span:.1f} s: "
              f"{f}: {len(ok) / span:,.0f} ok/s ({failed} not ok); latency ms p50 {q.get(0.5, 0) / 1e6:.1f} "
              f"p95 {q.get(0.95, 0) / 1e6:.1f} p99 {q.get(0.99, 0) / 1e6:.1f}")
    print(f"valid?: {result.valid}")


if __name__ == "__main__":
    main()
