"""Report benchmark: a generated 100k-op run folder through ``write_run_outputs`` (every output),
then the timeline page rendered by headless Chromium (when installed).

Usage: python benchmarks/report_bench.py [--ops 100000] [--keep DIR]
Prints seconds per step and the page sizes.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.report.browser import chromium, screenshot
from chaos.report.outputs import write_run_outputs
from chaos.report.store import new_run_dir
from checkers.formats import JsonlWriter
from checkers.history import Op


def build(root: Path, ops: int) -> Path:
    """10 clients writing for ``ops`` * 100 us; a fault every 10 s for 3 s, during which ops fail or time out."""
    rng = random.Random(1)
    run = new_run_dir(root, "bench")
    t, index = 0, 0
    with JsonlWriter(run.history) as out:
        for i in range(ops // 2):
            p = i % 10
            t += 200_000
            down = (t // 1_000_000_000) % 10 >= 7
            out.write(Op(index, t, "invoke", p, "write", i))
            kind = rng.choice(("fail", "info")) if down and rng.random() < 0.8 else "ok"
            out.write(Op(index + 1, t + rng.randrange(100_000, 5_000_000), kind, p, "write", i))
            index += 2
        for s in range(0, t // 1_000_000_000, 10):
            for f, at in (("start-partition", s + 7), ("stop-partition", s + 10)):
                out.write(Op(index, at * 1_000_000_000 - 1000, "invoke", "nemesis", f, None))
                out.write(Op(index + 1, at * 1_000_000_000, "info", "nemesis", f, None))
                index += 2
    run.save_results({"test": "bench", "parameters": {"ops": ops}, "checkers": {"stats": {"valid?": True}}})
    return run.path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="chaoscert-report-bench-"))
    run_dir = build(root, args.ops)
    start = time.perf_counter()
    write_run_outputs(run_dir)
    print(f"write_run_outputs, {args.ops} ops: {time.perf_counter() - start:.2f} s")
    for name in ("report.html", "timeline.html"):
        print(f"{name}: {(run_dir / name).stat().st_size / 1e6:.1f} MB")
    if chromium():
        start = time.perf_counter()
        screenshot(run_dir / "timeline.html", root / "timeline.png", 1400, 900)
        print(f"timeline.html rendered by Chromium (start-up included): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
