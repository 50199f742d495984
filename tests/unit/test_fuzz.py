"""No input makes chaoscert print a traceback, report an internal error or hang: a few hundred
generated inputs per CI run (benchmarks/fuzz_bench.py runs 10,000)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.fuzz_inputs import commands, run_command


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(commands())
def test_no_traceback_no_internal_error_no_hang(command):
    argv, files = command
    with tempfile.TemporaryDirectory() as folder:
        start = time.process_time()  # CPU: on a machine shared by many jobs, wall time measures them
        code, err = run_command(Path(folder), argv, files)
        took = time.process_time() - start
    assert code in (0, 1, 2, 255), (argv, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, files, err)
    assert took < 10, (argv, took)
