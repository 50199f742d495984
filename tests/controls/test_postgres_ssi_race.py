"""PostgreSQL 15's SSI commit race, proven on the real server in every CI run.

Runs ``benchmarks/pg_ssi_repro.py --stall`` as a reader would run it by hand: its own PostgreSQL 15 on
a unix socket, three SERIALIZABLE transactions per round on fresh rows a=[0], b=[0]::

    P: BEGIN; r a -> [0]                 ; append b 2 ;                 COMMIT
    W:          BEGIN; append a 1 ; COMMIT -> held .............................. released
    R:                                      BEGIN; r a -> [0 1] ;                   r b -> [0]; COMMIT

gdb holds W's backend at ``ReleasePredicateLocks`` (visible to new snapshots, not yet SSI-committed).
Released after P's COMMIT, all three commit: P -rw-> W -wr-> R -rw-> P, a G2-item cycle in every round.
The same statements with W released before P's COMMIT, or never held, are the controls: PostgreSQL
cancels R ("conflict out to pivot") and the history is serializable. chaoscert's list-append checker
judges each schedule's written history (tests/data/regressions/README.md tells the whole story).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from checkers.formats import read_history
from checkers.history import History
from checkers.registry import CheckOptions, get_checker
from checkers.result import Result
from tests.conftest import require
from tests.helpers import held_commit_steps

pytestmark = [pytest.mark.db, pytest.mark.root]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pg_ssi_repro.py"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROUNDS = 3
TIMEOUT_S = 45  # a schedule takes 3-6 s here; initdb is slower on a loaded machine


def _pgrep(*args: str) -> list[str]:
    found = subprocess.run(["pgrep", "-a", *args], capture_output=True, text=True)
    return found.stdout.splitlines()


def run_schedule(release: str) -> History:
    """Run the benchmark's ``--stall --release RELEASE`` for ROUNDS rounds; the history of all rounds.

    Its PostgreSQL lives in a private temporary directory and gdb in the script's own session: once the
    script has exited, any process still in that session or running from that directory is a leftover,
    which this stops and then reports as a failure."""
    require(os.geteuid() == 0, "runs PostgreSQL as user postgres and attaches gdb: needs root")
    require((PG_BIN / "initdb").exists(), f"PostgreSQL 15 server binaries missing in {PG_BIN}")
    require(release == "none" or shutil.which("gdb") is not None, "gdb missing (scripts/setup.sh installs it)")
    work = Path(tempfile.mkdtemp(prefix=f"chaoscert-pgrace-{release}-"))
    work.chmod(0o711)  # the postgres user reaches its data directory below
    history = work / "history.jsonl"
    argv = [sys.executable, str(SCRIPT), "--stall", "--release", release, "--rounds", str(ROUNDS),
            "--write-history", str(history)]
    script = subprocess.Popen(argv, env={**os.environ, "TMPDIR": str(work)}, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        try:
            output, _ = script.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            script.terminate()  # its SIGTERM handler lets W go and stops its PostgreSQL
            with contextlib.suppress(subprocess.TimeoutExpired):
                script.communicate(timeout=20)
            pytest.fail(f"{' '.join(argv)} took over {TIMEOUT_S} s")
        assert script.returncode == 0, output
        print(output.splitlines()[-1])  # the script's summary, e.g. "3 rounds, W released after-p: {...}"
        return read_history(history)
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()
        _remove_leftovers(script.pid, work)


def _remove_leftovers(session: int, work: Path) -> None:
    """Stop what the script left behind (its session's processes, a PostgreSQL in ``work``), then fail
    if there was anything."""
    in_session, servers = _pgrep("-s", str(session)), _pgrep("-f", str(work))
    for line in in_session:  # the script's own session: its gdb, nothing else
        os.kill(int(line.split()[0]), signal.SIGKILL)
    for data in work.glob("pgssi-repro-*/data"):
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data),
                        "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    assert not in_session and not servers, f"left behind: {in_session + servers}"


def check(history: History, model: str) -> Result:
    return get_checker("list-append")(history, CheckOptions(consistency_models=(model,)))


def outcomes(history: History) -> list[str]:
    """Each round's P, W, R completions, e.g. ``"P ok, W ok, R fail"``."""
    done = [op for op in history if op.type != "invoke" and op.process != 0]
    return [", ".join(f"{op.extra['txn']} {op.type}" for op in sorted(done[i:i + 3], key=lambda op: op.process))
            for i in range(0, len(done), 3)]


def test_held_commit_commits_a_g2_item_cycle_every_round():
    history = run_schedule("after-p")
    assert outcomes(history) == ["P ok, W ok, R ok"] * ROUNDS
    serializable = check(history, "serializable")
    assert serializable.valid is False
    assert set(serializable.details["anomalies"]) == {"G2-item"}
    cycles = sorted(serializable.details["anomalies"]["G2-item"], key=lambda c: min(s["key"] for s in c["steps"]))
    assert [held_commit_steps(c) for c in cycles] == [
        [("P", "rw", "W", a), ("R", "rw", "P", a + 1), ("W", "wr", "R", a)] for a in range(2, 2 * ROUNDS + 1, 2)]
    assert check(history, "snapshot-isolation").valid is True


@pytest.mark.parametrize("release", ["before-p", "none"])
def test_without_the_race_postgres_cancels_the_reader(release):
    history = run_schedule(release)
    assert outcomes(history) == ["P ok, W ok, R fail"] * ROUNDS
    serializable = check(history, "serializable")
    assert serializable.valid is True, serializable.details.get("anomalies")
