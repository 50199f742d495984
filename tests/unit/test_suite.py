"""Suite files: validation (one line naming file:line and key), time scaling, claims, the gate."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chaos.report.view import FAIL, PASS, UNKNOWN
from chaos.run.runner import DBS, WORKLOADS
from chaos.run.suite import ERROR, SuiteError, gate, load_suite, run_suite

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
[suite]
name = "smoke"

[cluster]
backend = "local"
db = "seekdb"
nodes = 1
options = { memory_budget = "2G" }

[defaults]
time_limit = 20
nemesis_interval = 8

[claims]
data_loss = 0
rto_seconds = 8

[[test]]
name = "a"
workload = "bank"

[[test]]
name = "b"
workload = "bank"
nemesis = "none"
claims = { availability = 0.99 }
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str, **kw) -> str:
    with pytest.raises(SuiteError) as e:
        load_suite(_write(tmp_path, text), **kw)
    return str(e.value)


def test_good_suite_builds_every_runspec(tmp_path):
    suite = load_suite(_write(tmp_path, GOOD), time_scale=0.5)
    assert suite.name == "smoke" and [t.name for t in suite.tests] == ["a", "b"]
    a, b = suite.tests
    assert (a.spec.db, a.spec.backend, a.spec.nodes) == ("seekdb", "local", 1)
    assert a.spec.db_options == {"memory_budget": "2G"}
    assert (a.spec.time_limit, a.spec.nemesis_interval, a.spec.nemesis_down) == (10.0, 4.0, 1.0)
    assert a.spec.nemesis == "kill" and b.spec.nemesis == "none"
    assert a.claims.values == {"data_loss": 0, "rto_seconds": 8}
    assert b.claims.values == {"availability": 0.99}


def test_claims_file_path_relative_to_the_suite(tmp_path):
    (tmp_path / "c.toml").write_text("data_loss = 0\n")
    text = GOOD.replace("[claims]\ndata_loss = 0\nrto_seconds = 8\n", "")
    text = text.replace("[suite]", 'claims = "c.toml"\n[suite]')
    assert load_suite(_write(tmp_path, text)).tests[0].claims.values == {"data_loss": 0}


@pytest.mark.parametrize(("change", "expected"), [
    (("time_limit = 20", "time_limt = 20"), "s.toml:11: defaults.time_limt: unknown key"),
    (('workload = "bank"\n\n[[test]]', 'workload = "bank"\nnodes = 3\n\n[[test]]'),
     "s.toml:21: test.nodes: unknown key (set it under [cluster])"),
    (("time_limit = 20", 'time_limit = "long"'), "s.toml:11: defaults.time_limit: expected float, got str 'long'"),
    (('db = "seekdb"', 'db = "cockroach"'), "s.toml:6: database 'cockroach' is not available in this build"),
    (('name = "b"\nworkload = "bank"', 'name = "b"\nworkload = "nosuch"'),
     "s.toml:24: workload 'nosuch' is not available in this build"),
    (("data_loss = 0", "data_los = 0"), "s.toml:15: data_los: unknown claim; did you mean 'data_loss'?"),
    (("{ availability = 0.99 }", "{ availability = 2 }"), "s.toml:26: availability: must be in (0, 1]"),
    (('name = "b"', 'name = "a"'), "s.toml:23: test.name: 'a' is used twice"),
    (('nemesis = "none"', 'nemesis = "meteor"'), "s.toml:23: test 'b': --nemesis"),
    (('options = { memory_budget = "2G" }', "options = { colour = 1 }"), "s.toml:8: cluster.options:"),
    (("nodes = 1", "nodes = 0"), "s.toml:7: cluster.nodes: a positive integer"),
    (("[defaults]", "[defaultz]"), "s.toml:10: defaultz: unknown section"),
    (("[[test]]", "[[tset]]"), "unknown section"),
    (("time_limit = 20", "time_limit = [20"), "s.toml:12: invalid TOML: Unclosed array"),
])
def test_each_problem_is_one_line_naming_file_line_and_key(tmp_path, change, expected):
    message = _error(tmp_path, GOOD.replace(*change))
    assert expected in message and "\n" not in message


def test_no_tests_and_bad_scale(tmp_path):
    assert "no [[test]]" in _error(tmp_path, GOOD.split("[[test]]")[0])
    assert "--time-scale must be positive" in _error(tmp_path, GOOD, time_scale=0)


def test_gate_is_a_release_gate():
    assert gate([PASS, PASS]) == 0
    assert gate([PASS, UNKNOWN]) == 2
    assert gate([UNKNOWN, ERROR]) == 255
    assert gate([ERROR, FAIL, PASS]) == 1
    assert gate([]) == 2  # nothing checked is never a pass


def test_a_test_that_errors_says_why_and_gates_255(tmp_path):
    """The runner refuses bank on etcd before any node starts: the suite names the cause."""
    text = GOOD.replace('db = "seekdb"', 'db = "etcd"').replace('options = { memory_budget = "2G" }\n', "")
    said: list[str] = []
    outcome = run_suite(load_suite(_write(tmp_path, text)), tmp_path, say=said.append)
    assert outcome.statuses == {"a": ERROR, "b": ERROR} and outcome.exit_code == 255
    assert "suite smoke: test a: error (ValueError: the bank workload cannot run on etcd" in "\n".join(said)


@pytest.mark.parametrize("path", sorted((ROOT / "suites").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_suites_are_valid_or_name_what_this_build_lacks(path):
    """A shipped suite either loads, or fails only because a piece it needs has not landed."""
    try:
        suite = load_suite(path)
    except SuiteError as e:
        assert "is not available in this build" in str(e) or "--nemesis: unknown" in str(e), str(e)
        return
    assert suite.tests and all(t.claims for t in suite.tests)
    assert {t.spec.db for t in suite.tests} <= set(DBS)
    assert {t.spec.workload for t in suite.tests} <= set(WORKLOADS)


def test_cli_bad_suite_is_one_line_exit_255(tmp_path):
    path = _write(tmp_path, GOOD.replace('db = "seekdb"', 'db = "cockroach"'))
    done = subprocess.run([sys.executable, "-m", "chaos", "suite", "run", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 255
    assert done.stderr.count("\n") == 1 and "cockroach" in done.stderr and "Traceback" not in done.stderr


def test_example_workflow_uses_real_commands():
    """Every ``chaoscert`` subcommand the release-gate example calls exists."""
    import re

    text = (ROOT / "examples" / "release-gate.yml").read_text()
    calls = set(re.findall(r"bin/chaoscert ((?:suite )?[a-z]+)", text))
    assert {"suite run", "suite check", "clean"} <= calls
    for call in calls:
        done = subprocess.run([sys.executable, "-m", "chaos", *call.split(), "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, call
    assert "upload-artifact" in text and "results/" in text


@pytest.mark.parametrize("path", sorted(p for p in (Path(__file__).parents[2] / "suites").glob("certify-*.toml")
                                         if "fault_model" in p.read_text()),  # the projecting profiles
                         ids=lambda p: p.stem)
def test_certification_profiles_schedule_60_faults_of_every_kind_they_claim_about(path):
    """Fault k of a test starts at quiet + k x interval (quiet defaults to the interval): pooled over the
    suite's tests, every kind of the fault model gets 60 or more, and the suite claims the three zeros,
    RTO and a projected availability."""
    suite = load_suite(path)
    scheduled: dict[str, int] = {}
    for test in suite.tests:
        spec = test.spec
        quiet = spec.nemesis_interval if spec.nemesis_quiet is None else spec.nemesis_quiet
        kind = spec.nemesis.split(":")[0]
        assert "," not in spec.nemesis, "one fault kind per test: the schedule picks among kinds at random"
        count = int((spec.time_limit - quiet) // spec.nemesis_interval) + 1
        scheduled[kind] = scheduled.get(kind, 0) + count
    claims = tomllib.loads(path.read_text())["claims"]
    assert {"data_loss", "consistency", "rto_seconds", "availability", "fault_model"} <= set(claims)
    for kind in claims["fault_model"]:
        assert scheduled.get(kind, 0) >= 60, (kind, scheduled)
