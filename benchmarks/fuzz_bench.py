"""The no-traceback fuzz run at benchmark size: N generated inputs (default 10,000) through every
reader and ``check``, ``sla``, ``history stats``, ``suite check`` and ``analyze``; fails on a
traceback, an "internal error" line, an exit code other than 0/1/2/255, or an input over 10 s of CPU.

    .venv/bin/python benchmarks/fuzz_bench.py 10000
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.fuzz_inputs

from tests.fuzz_inputs import commands, run_command


def main(n: int) -> None:
    codes: Counter[int] = Counter()
    slowest = [0.0, ""]

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(commands())
    def one(command: tuple[list[str], dict[str, str]]) -> None:
        argv, files = command
        with tempfile.TemporaryDirectory() as folder:
            start = time.process_time()  # CPU time: wall time on a shared machine measures the others
            code, err = run_command(Path(folder), argv, files)
            took = time.process_time() - start
        codes[code] += 1
        if sum(codes.values()) % 1000 == 0:
            print(f"{sum(codes.values())} inputs, exit codes {dict(sorted(codes.items()))}", flush=True)
        if took > slowest[0]:
            slowest[:] = [took, " ".join(argv[:3])]
        assert code in (0, 1, 2, 255), (argv, err)
        assert "Traceback" not in err and "internal error" not in err, (argv, files, err)
        assert took < 10, (argv, took)

    start = time.monotonic()
    one()
    print(f"{sum(codes.values())} inputs in {time.monotonic() - start:.0f} s; "
          f"exit codes {dict(sorted(codes.items()))}; slowest {slowest[0]:.2f} s ({slowest[1]})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
