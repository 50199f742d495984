"""The results store and what it writes: report.html, timeline.html, summary.md, junit.xml, serve's index."""

from __future__ import annotations

import json
import threading
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaos.cli.main import main
from chaos.report.outputs import write_run_outputs
from chaos.report.serve import index_html, make_server
from chaos.report.store import RunDir, find_runs, new_run_dir
from chaos.report.timeline import timeline_data
from chaos.report.view import load_view, scrub
from checkers.formats import read_history, write_history
from tests.helpers import fail, history, info, invoke, ok

XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"
S = 1_000_000_000


def _ops() -> list[dict]:
    """Two clients writing, a partition from 1 s to 2 s, failures during it, recovery after."""
    ops = []
    t = 0
    for i in range(30):
        p = i % 2
        t = i * 100_000_000
        ops.append(invoke(p, "write", i, time=t))
        kind = fail if 10 <= i < 20 else ok
        ops.append(kind(p, "write", i, time=t + 5_000_000, error="refused" if kind is fail else None))
    ops.append(invoke(1, "write", 99, time=t + 10_000_000))
    ops.append(info(1, "write", 99, time=t + 20_000_000, error="timeout"))
    nemesis = [invoke("nemesis", "start-partition", None, time=S - 1000),
               info("nemesis", "start-partition", {"n1": ["n2"]}, time=S),
               invoke("nemesis", "stop-partition", None, time=2 * S - 1000),
               info("nemesis", "stop-partition", "healed", time=2 * S)]
    merged = sorted(ops + nemesis, key=lambda d: d["time"])
    for i, d in enumerate(merged):
        d["index"] = i
    return merged


def make_run(root: Path, results: dict, test: str = "demo") -> RunDir:
    run = new_run_dir(root, test)
    write_history(history(*_ops()), run.history)
    run.save_results(results)
    return run


RESULTS = {
    "test": "demo", "interrupted": True, "valid?": False,
    "parameters": {"db": "seekdb", "workload": "bank", "nodes": 3, "seed": 42, "db_password": "hunter2",
                   "options": {"api_key": "sk-123", "timeout": 5}},
    "checkers": {
        "linear": {"valid?": False, "explanation": "write 3 <script>alert(1)</script> cannot follow read 4",
                   "final-paths": [["read 4", "write 3"]]},
        "stats": {"valid?": True},
        "elle": {"valid?": "unknown", "cause": "cycle search timed out"},
    },
    "claims": {"verdicts": [
        {"claim": "rto_seconds", "claimed": 8, "verdict": "certified", "measured": 1.1, "reason": "worst 1.1 s"},
        {"claim": "availability", "claimed": 0.9999, "verdict": "violated", "measured": 0.66,
         "reason": "20/31 ok"},
    ]},
}


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    run = make_run(tmp_path / "results", RESULTS)
    write_run_outputs(run.path)
    return run


def test_every_output_is_written_and_linked(run: RunDir, tmp_path: Path) -> None:
    for path in (run.history_edn, run.report, run.timeline, run.summary, run.junit, run.plots / "latency.png"):
        assert path.stat().st_size > 0, path
    assert len(read_history(run.history_edn)) == len(read_history(run.history))
    root = tmp_path / "results"
    assert (root / "latest").resolve() == run.path.resolve()
    assert (root / "demo" / "latest").resolve() == run.path.resolve()
    assert find_runs(root) == [run]


def test_no_secret_reaches_any_output(run: RunDir) -> None:
    for path in (run.report, run.summary, run.junit, run.timeline):
        text = path.read_text()
        assert "hunter2" not in text and "sk-123" not in text, path
    assert scrub({"password": "x", "n": {"secret_key": 1, "ok": 2}, "token": None}) == \
        {"password": "***", "n": {"secret_key": "***", "ok": 2}, "token": None}


def test_report_escapes_and_shows_verdicts_figures_and_interruption(run: RunDir) -> None:
    html = run.report.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "INTERRUPTED" in html and "FAILED" in html
    for text in ("violated", "certified", "cycle search timed out", "Downtime windows", "start-partition",
                 "Recovery time (RTO) per fault", "Latency quantiles", "--seed 42", "data:image/png;base64,"):
        assert text in html, text
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
    assert html.count("<img ") == 4


def test_view_statuses(run: RunDir) -> None:
    view = load_view(run.path)
    assert view.status == "fail"
    got = {(i.kind, i.name): i.status for i in view.items}
    assert got == {("run", "run"): "unknown", ("claim", "rto_seconds 8"): "pass",
                   ("claim", "availability 0.9999"): "fail", ("checker", "linear"): "fail",
                   ("checker", "stats"): "pass", ("checker", "elle"): "unknown"}
    fig = view.figures
    assert fig is not None and [f.kind for f in fig.faults] == ["start-partition"]


def test_junit_validates_against_the_schema_and_maps_verdicts(run: RunDir) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(run.junit))
    suite = ET.parse(run.junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "2")
    cases = {c.get("name"): [child.tag for child in c] for c in suite.iter("testcase")}
    assert cases == {"run": ["skipped"], "rto_seconds 8": [], "availability 0.9999": ["failure"],
                     "linear": ["failure"], "stats": [], "elle": ["skipped"]}
    assert "hunter2" not in run.junit.read_text()


def test_junit_schema_rejects_a_broken_report(tmp_path: Path) -> None:
    import xmlschema

    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="x" tests="1"><testcase/></testsuite></testsuites>')
    assert not xmlschema.XMLSchema(str(XSD)).is_valid(str(bad))


def test_summary_md(run: RunDir) -> None:
    md = run.summary.read_text()
    assert md.startswith("## chaoscert: demo /") and "FAILED" in md and "interrupted" in md
    assert "| ❌ | claim | availability 0.9999 | **violated** | 20/31 ok |" in md
    assert "worst RTO" in md


def test_timeline_data_has_every_op_in_a_lane(run: RunDir) -> None:
    data = timeline_data(load_view(run.path))
    assert data["lanes"] == ["0", "1", "nemesis"]
    assert len(data["ops"]) == 31 + 2
    never = [o for o in data["ops"] if o[3] == 2 and data["lanes"][o[0]] == "1"]
    assert len(never) == 1
    assert data["faults"] == [[0.999999, 2.0]]  # from the kill's invocation, 1 µs before it completed
    assert {o[3] for o in data["ops"] if data["lanes"][o[0]] == "nemesis"} == {3}  # not "info (may have happened)"


def test_timeline_rows_are_processes_in_order_then_the_nemesis(tmp_path: Path) -> None:
    ops = [invoke("nemesis", "kill", None, time=0), info("nemesis", "kill", "n1", time=1),
           invoke(10, "read", None, time=2), ok(10, "read", 1, time=3),
           invoke(2, "read", None, time=4), ok(2, "read", 1, time=5)]
    run = new_run_dir(tmp_path, "order")
    write_history(history(*[dict(o, index=i) for i, o in enumerate(ops)]), run.history)
    run.save_results({"test": "order", "parameters": {}, "checkers": {}})
    assert timeline_data(load_view(run.path))["lanes"] == ["2", "10", "nemesis"]


def test_analyze_judges_claims_on_a_stored_corpus_run(tmp_path: Path, corpus: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = new_run_dir(tmp_path / "results", "bank")
    write_history(read_history(corpus / "elle-cli/histories/jepsen/bank.edn"), run.history)
    original = {"test": "bank", "parameters": {}, "checkers": {}, "valid?": "unknown"}
    run.save_results(original)
    claims = tmp_path / "claims.toml"
    claims.write_text("data_loss = 0\nrto_seconds = 8\n")
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(run.path), "-m", "bank", "--claims", str(claims)])
    assert e.value.code == 1  # the last pause is never healed: RTO violated
    out = capsys.readouterr().out
    # Jepsen's transfers carry no id: which acknowledged transfers are missing cannot be told
    assert "claim\tdata_loss 0\tinconclusive\tbank: cannot tell which acknowledged transfers" in out
    assert "claim\trto_seconds 8\tviolated" in out
    assert run.load_results() == original  # the run's own verdict stays
    analysis = json.loads(run.analysis.read_text())
    assert analysis["checkers"]["bank"]["valid?"] is True and analysis["analysis-of"] == "results.json"
    assert [v["verdict"] for v in analysis["claims"]["verdicts"]] == ["inconclusive", "violated"]


@pytest.mark.parametrize("argv, message", [
    (["report", "{tmp}/nowhere"], "results.json: not found"),
    (["analyze", "{run}"], "nothing to do"),
    (["analyze", "{run}", "-m", "no-such-model"], "no-such-model"),
])
def test_commands_fail_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                     message: str) -> None:
    run = make_run(tmp_path / "results", {"test": "demo"})
    with pytest.raises(SystemExit) as e:
        main([a.format(tmp=tmp_path, run=run.path) for a in argv])
    err = capsys.readouterr().err
    assert e.value.code == 255 and message in err and len(err.strip().splitlines()) == 1


def test_pdf_without_chromium_is_a_clear_error(run: RunDir, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SystemExit) as e:
        main(["report", str(run.path), "--pdf"])
    assert e.value.code == 255 and "Chromium is not installed" in capsys.readouterr().err


def test_a_run_without_history_still_gets_a_report(tmp_path: Path) -> None:
    run = new_run_dir(tmp_path / "results", "broken")
    run.save_results({"test": "broken", "error": "RemoteError: ssh refused", "checkers": {}})
    write_run_outputs(run.path)
    html = run.report.read_text()
    assert "no history was recorded" in html and "ssh refused" in html
    assert load_view(run.path).status == "unknown"


def test_serve_lists_runs_and_serves_their_files(run: RunDir, tmp_path: Path) -> None:
    root = tmp_path / "results"
    page = index_html(root)
    assert "demo" in page and "failed" in page and "report.html" in page and "interrupted" in page
    assert "<th>backend</th><th>database</th><th>seed</th>" in page
    assert "<td>—</td><td>seekdb</td><td>42</td>" in page  # RESULTS records no backend
    server = make_server(root, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            assert "chaoscert runs" in r.read().decode()
        rel = run.path.relative_to(root).as_posix()
        with urllib.request.urlopen(f"{base}/{rel}/results.json", timeout=10) as r:
            assert json.loads(r.read())["test"] == "demo"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_find_runs_sees_example_folders_one_level_deeper(tmp_path: Path) -> None:
    root = tmp_path / "results"
    top = make_run(root, {"test": "a"}, "a")
    nested = make_run(root / "examples", {"test": "b"}, "b")
    write_run_outputs(nested.path)  # adds examples/latest and examples/b/latest: not runs
    assert {r.path for r in find_runs(root)} == {top.path, nested.path}


def test_junit_properties_are_plain_values(run: RunDir) -> None:
    props = {p.get("name"): p.get("value") for p in ET.parse(run.junit).getroot().iter("property")}
    assert props["db"] == "seekdb" and props["nodes"] == "3" and props["seed"] == "42"
    assert props["options"] == '{"api_key":"***","timeout":5}'


def test_units_round_to_what_the_measure_holds() -> None:
    from chaos.report.units import measured, millis, percent, seconds

    assert seconds(3_179_618_450) == "3.18 s" and seconds(None) == "—"
    assert millis(297_426_080) == "297 ms" and millis(12_345_000) == "12.3 ms" and millis(850_000) == "0.85 ms"
    assert percent(0.7176368375325803) == "71.76 %" and percent(1) == "100 %" and percent(0) == "0 %"
    assert percent(0.9995) == "99.950 %" and percent(0.99993) == "99.9930 %"
    assert measured("rto_seconds", 3.17961845) == "3.18 s" and measured("rto_seconds", 0.0032) == "3.2 ms"
    assert measured("p99_latency_ms", 297.42608) == "297 ms"
    assert measured("availability", 0.7176368375325803) == "71.76 %"
    assert measured("data_loss", 0) == "0" and measured("data_loss", None) == "—"
    assert measured("consistency", {"cas-register": True, "list-append": "unknown"}) == \
        "cas-register valid, list-append unknown"


def test_console_and_report_share_one_time_zero(run: RunDir) -> None:
    """The console's fault times count from the history's first op, as report.html's do."""
    from chaos.cli.run import summary
    from chaos.report.units import seconds

    view = load_view(run.path)
    fig = view.figures
    assert fig is not None and fig.start_ns == 0
    late = dict(RESULTS, figures={"sla": {**fig.to_json(), "start-ns": 250_000_000}})
    lines = summary(late)
    fault_line = next(line for line in lines if line.startswith("start-partition"))
    at = seconds(fig.faults[0].start_ns - 250_000_000)
    assert fault_line.startswith(f'start-partition {{"n1": ["n2"]}} at {at}, ')
    assert "at 0.75 s, healed at 1.75 s" in fault_line
    assert seconds(fig.faults[0].start_ns - fig.start_ns) in run.report.read_text()
    assert "measured 1.10 s" in "\n".join(lines) and "measured 66.00 %" in "\n".join(lines)


def test_big_node_logs_are_compressed_and_the_report_says_so(run: RunDir) -> None:
    import gzip

    from chaos.report.store import LOG_GZIP_BYTES

    node = run.node_logs("n1")
    node.mkdir(parents=True)
    chatty = b"".join(b"2026-12-06 05:00:00.%06d INFO election tick\n" % i for i in range(40_000))
    assert len(chatty) > 4 * LOG_GZIP_BYTES
    (node / "server.log").write_bytes(chatty)
    (node / "small.log").write_text("started\n")
    run.compress_logs()
    assert sorted(name for name, _ in run.log_files()) == ["n1/server.log.gz", "n1/small.log"]
    assert gzip.decompress((node / "server.log.gz").read_bytes()) == chatty  # nothing lost
    assert (node / "server.log.gz").stat().st_size < len(chatty) / 5
    write_run_outputs(run.path)
    html = run.report.read_text()
    assert "Node logs" in html and "2 files" in html and "1 over 256 KiB was gzip-compressed" in html
