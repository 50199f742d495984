"""Time to a running cluster of bare nodes on each backend (root; docker needs an engine and the
node image). Prints one line per backend: median and range over --repeat runs.

    python benchmarks/backend_startup.py --nodes 3 --repeat 5 netns docker
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clusters.ledger import Ledger


def make(backend: str, ledger: Ledger):
    if backend == "netns":
        from clusters.netns import NetnsBackend

        return NetnsBackend(ledger)
    from clusters.docker_backend import DockerBackend

    return DockerBackend(ledger)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("backends", nargs="*", default=["netns", "docker"], help="netns and/or docker")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for name in args.backends:
        times = []
        for _ in range(args.repeat):
            ledger = Ledger()
            backend = make(name, ledger)
            run_dir = tempfile.mkdtemp(prefix="chaoscert-bench-")
            ledger.record("path", run_dir, path=run_dir)
            started = time.monotonic()
            try:
                nodes = backend.create(args.nodes, Path(run_dir))
                for node in nodes:
                    node.remote.run(["true"])  # running: answers a command
                times.append(time.monotonic() - started)
            finally:
                backend.destroy()
                ledger.release_all()
        print(f"{name}: {args.nodes} bare nodes running in median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs)")


if __name__ == "__main__":
    main()
