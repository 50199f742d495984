"""Malformed input is refused with one line naming file, line and field (exit 255), never read as a
history nor answered with a traceback. Each case is an item of issue 22; all failed at d8d6f13."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chaos.cli.main import main

PAIR_EDN = '{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n'


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return int(e.value.code or 0), out, err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# (name, file name, file text, model, line, field or words in the message)
REFUSED = [
    ("completion without invocation (cas-register)", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :write, :value 1}\n"
     "{:index 1, :type :ok, :process 0, :f :write, :value 1}\n"
     "{:index 2, :type :ok, :process 1, :f :read, :value 7}\n", "cas-register", 3, "no invocation"),
    ("completion without invocation (list-append)", "h.edn",
     "{:index 0, :type :ok, :process 1, :f :txn, :value [[:r 1 [9]]]}\n", "list-append", 1, "no invocation"),
    # ignored before: invoke read, invoke write 1, ok write 1, ok read 7, none with a process, was true
    ("ops without a process that overlap", "h.edn",
     "{:index 0, :type :invoke, :f :read, :value nil}\n{:index 1, :type :invoke, :f :write, :value 1}\n"
     "{:index 2, :type :ok, :f :write, :value 1}\n{:index 3, :type :ok, :f :read, :value 7}\n", "cas-register", 2,
     "process: invoked without a process while op 0"),
    ("completion without a process nor invocation", "h.edn",
     "{:index 0, :type :invoke, :f :write, :value 1}\n{:index 1, :type :ok, :f :write, :value 1}\n"
     "{:index 2, :type :ok, :f :read, :value 7}\n", "cas-register", 3,
     "process: ok without a process has no invocation"),
    ("bank read value a string", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n"
     '{:index 1, :type :ok, :process 0, :f :read, :value "100"}\n', "bank", 2, "map of account"),
    ("bank read value a list", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 1, :type :ok, :process 0, :f :read, :value [10 20]}\n", "bank", 2, "map of account"),
    ("kv get value not a pair", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :get, :value [:x nil]}\n"
     "{:index 1, :type :ok, :process 0, :f :get, :value 3}\n", "kv", 2, "[key value]"),
    # a string state compared with the int read back: false before
    ("kv value not a string (key field)", "h.edn",
     '{:index 0, :type :invoke, :process 0, :f :put, :key "k", :value 5}\n'
     '{:index 1, :type :ok, :process 0, :f :put, :key "k", :value 5}\n', "kv", 1, "kv keeps strings"),
    ("kv get value not a string ([key value])", "h.edn",
     '{:index 0, :type :invoke, :process 0, :f :put, :value [:k "5"]}\n'
     '{:index 1, :type :ok, :process 0, :f :put, :value [:k "5"]}\n'
     "{:index 2, :type :invoke, :process 0, :f :get, :value [:k nil]}\n"
     "{:index 3, :type :ok, :process 0, :f :get, :value [:k 5]}\n", "kv", 4, "not int 5"),
    # an op the model does not know: ok, it made the history false; crashed, it was never taken: true
    ("register given a cas", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :cas, :value [nil 1]}\n"
     "{:index 1, :type :ok, :process 0, :f :cas, :value [nil 1]}\n", "register", 1, "register has no 'cas'"),
    ("a crashed op the model does not know", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :write, :value 1}\n"
     "{:index 1, :type :ok, :process 0, :f :write, :value 1}\n"
     "{:index 2, :type :invoke, :process 0, :f :incr, :value 1}\n"
     "{:index 3, :type :info, :process 0, :f :incr, :value 1}\n", "cas-register", 3,
     "cas-register has no 'incr' (it knows cas, read, write)"),
    ("duplicate index", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 0, :type :ok, :process 0, :f :read, :value nil}\n", "cas-register", 2, "index"),
    ("negative index", "h.edn",
     "{:index -1, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 1, :type :ok, :process 0, :f :read, :value nil}\n", "cas-register", 1, "index"),
    ("a process invokes twice", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 1, :type :invoke, :process 0, :f :read, :value nil}\n", "cas-register", 2, "process"),
    ("time going backwards in a process", "h.edn",
     "{:index 0, :time 50, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 1, :time 10, :type :ok, :process 0, :f :read, :value nil}\n", "cas-register", 2, "time"),
    ("duplicated map key (EDN)", "h.edn",
     "{:index 0, :type :invoke, :type :ok, :process 0, :f :read, :value nil}\n", "cas-register", 1, "duplicated"),
    ("duplicated map key (JSON)", "h.jsonl",
     '{"index": 0, "type": "invoke", "type": "ok", "process": 0, "f": "read"}\n', "cas-register", 1,
     "duplicated"),
    ("duplicated map key (JSON file)", "h.json",
     '[{"index":0,"type":"invoke","type":"ok","process":0,"f":"read"}]', "cas-register", None, "duplicated"),
    ("a JSON file with a value after its array of ops", "h.json",
     '[{"index":0,"type":"invoke","process":0,"f":"read"}],\n{"type":"garbage"}', "cas-register", None,
     "2 JSON values"),
    ("duplicated key in a nested JSON object", "h.jsonl",
     '{"index":0,"type":"invoke","process":0,"f":"write","value":{"a":1,"a":2}}\n', "cas-register", 1,
     "duplicated"),
    ("bare symbol", "h.edn", "{:type invoke, :process 0, :f :read, :value nil}\n", "cas-register", 1, "symbol"),
    ("huge integer (EDN)", "h.edn", "{:type :invoke, :process 0, :f :write, :value " + "9" * 5000 + "}\n",
     "cas-register", 1, "digits"),
    ("huge integer (JSON)", "h.json", '[{"type": "invoke", "process": 0, "f": "write", "value": ' + "9" * 5000 + "}]",
     "cas-register", None, "too large"),
    ("huge integer (JSONL)", "h.jsonl", '{"type": "invoke", "process": 0, "f": "write", "value": ' + "9" * 5000
     + "}\n", "cas-register", 1, "too large"),
    ("JSON nested 1,000 deep", "h.json", '[{"type": "invoke", "process": 0, "f": "w", "value": ' + "[" * 1000
     + "]" * 1000 + "}]", "cas-register", None, "nested"),
    ("time ##Inf", "h.edn", "{:type :invoke, :process 0, :f :read, :time ##Inf}\n", "cas-register", 1, "##Inf"),
    ("time 1e999", "h.edn", "{:type :invoke, :process 0, :f :read, :time 1e999}\n", "cas-register", 1,
     "out of range"),
    ("time 1e999 (JSON)", "h.jsonl", '{"type": "invoke", "process": 0, "f": "read", "time": 1e999}\n',
     "cas-register", 1, "out of range"),
    ("collection as map key", "h.edn", "{:type :invoke, :process 0, :f :read, [1 2] 3}\n", "cas-register", 1,
     "map key"),
    ("type [:ok]", "h.edn", "{:type [:ok], :process 0, :f :read}\n", "cas-register", 1, "type"),
    ("set-full read without invocation", "h.edn",
     "{:index 0, :type :ok, :process 0, :f :read, :value [1 2]}\n", "set-full", 1, "no invocation"),
    ("set-full mixed read shapes", "h.edn",
     "{:index 0, :type :invoke, :process 0, :f :add, :value 1}\n{:index 1, :type :ok, :process 0, :f :add, :value 1}\n"
     "{:index 2, :type :invoke, :process 0, :f :read, :value nil}\n"
     "{:index 3, :type :ok, :process 0, :f :read, :value {:a 1}}\n", "set-full", 4, "list of elements"),
    ("micro-op named by a list (list-append)", "h.edn", "{:type :invoke, :process 0, :f :txn, :value [[[1] :x 1]]}\n",
     "list-append", 1, "micro-op"),
    ("micro-op named by a map (rw-register)", "h.edn", "{:type :invoke, :process 0, :f :txn, :value [[{:a 1} :x 1]]}\n",
     "rw-register", 1, "micro-op"),
]


@pytest.mark.parametrize(("name", "file", "text", "model", "line", "words"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_naming_file_and_line(tmp_path, capsys, name, file, text, model, line, words):
    path = write(tmp_path, file, text)
    code, out, err = run(["check", "-m", model, path], capsys)
    assert code == 255, (out, err)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert err.startswith(f"chaoscert: {where}"), err
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_lenient_warns_and_records_the_problem(tmp_path, capsys):
    path = write(tmp_path, "h.edn", PAIR_EDN + "{:index 1, :type :ok, :process 0, :f :read, :value nil}\n"
                 "{:index 2, :type :ok, :process 5, :f :read, :value nil}\n")
    code, out, err = run(["check", "-m", "cas-register", "--lenient", "--json", path], capsys)
    assert code == 0
    assert "warning" in err and f"{path}:3" in err
    assert json.loads(out)["warnings"] == [f"{path}:3: type: ok of process 5 has no invocation"]


def test_lenient_set_full_refuses_a_read_it_cannot_place(tmp_path, capsys):
    """Found by fuzz_bench: with --lenient, a read with no process nor invocation reached set-full, which
    said "internal error: KeyError"; it is refused naming its line."""
    path = write(tmp_path, "h.edn", PAIR_EDN + "{:index 1, :type :ok, :process 0, :f :read, :value nil}\n"
                 "{:index 2, :type :ok, :f :read, :value nil}\n")
    code, _, err = run(["check", "-m", "set-full", "--lenient", path], capsys)
    assert code == 255 and f"{path}:3: process: op 2: a read with no invocation" in err, err


INDEPENDENT_WRITE = ("{:index 0, :type :invoke, :process 0, :f :write, :value [:a 1]}\n"
                     "{:index 1, :type :ok, :process 0, :f :write, :value [:a 1]}\n"
                     "{:index 2, :type :invoke, :process 0, :f :read, :value [:a nil]}\n")


@pytest.mark.parametrize(("read", "verdict"), [("7", 255), ("[:a 7]", 1), ("[:a 1]", 0)])
def test_independent_values_are_key_value_tuples(tmp_path, capsys, read, verdict):
    """With --independent, a read returning 7 rather than [key 7] was read as nil: ``true``."""
    read_op = f"{{:index 3, :type :ok, :process 0, :f :read, :value {read}}}\n"
    path = write(tmp_path, "h.edn", INDEPENDENT_WRITE + read_op)
    code, out, err = run(["check", "-m", "cas-register", "--independent", path], capsys)
    assert code == verdict, (out, err)
    if verdict == 255:
        assert f"{path}:4: value: op 3: a keyed op's value is [key value], not int 7" in err


@pytest.mark.parametrize(("model", "value", "words"), [
    ("mutex", "1", "mutex takes no --initial-value"),  # ignored before
    ("fifo-queue", "[1]", "fifo-queue takes no --initial-value"),  # ignored: a dequeue of 1 was false
    ("multi-register", "5", "multi-register: --initial-value must be a map"),  # unknown before, exit 2
    ("kv", "5", "kv: --initial-value must be a string, not 5"),  # read as "5" before
])
def test_an_initial_value_the_model_cannot_use_is_refused(tmp_path, capsys, model, value, words):
    path = write(tmp_path, "h.edn", "{:index 0, :type :invoke, :process 0, :f :dequeue, :value nil}\n")
    code, _, err = run(["check", "-m", model, "--initial-value", value, "--lenient", path], capsys)
    assert code == 255 and f"chaoscert: {words}" in err, err


def test_deep_edn_is_refused_in_linear_time(tmp_path, capsys):
    path = write(tmp_path, "h.edn", "{:type :invoke, :process 0, :f :w, :value " + "[" * 100_000 + "]" * 100_000 + "}")
    start = time.monotonic()
    code, _, err = run(["check", "-m", "cas-register", path], capsys)
    assert code == 255 and "nested deeper" in err
    assert time.monotonic() - start < 5


def _op_nested(fmt: str, depth: int) -> str:
    """One op whose value nests so that the op itself is ``depth`` levels deep, as a file of ``fmt``."""
    value = "[" * (depth - 1) + "]" * (depth - 1)
    if fmt == "edn":
        return f"{{:index 0, :type :invoke, :process 0, :f :write, :value {value}}}\n"
    op = f'{{"index": 0, "type": "invoke", "process": 0, "f": "write", "value": {value}}}'
    return f"[{op}]" if fmt == "json" else op + "\n"


@pytest.mark.parametrize("fmt", ["edn", "json", "jsonl"])
def test_every_format_reads_ops_nested_max_depth_deep_and_refuses_one_level_more(tmp_path, fmt):
    """JSON used to read ops nested up to about twice MAX_DEPTH, and said "nested deeper than 100 levels"
    only past that."""
    from checkers.formats import MAX_DEPTH, HistoryFormatError, read_history

    assert len(read_history(write(tmp_path, f"ok.{fmt}", _op_nested(fmt, MAX_DEPTH))).ops) == 1
    with pytest.raises(HistoryFormatError, match=f"nested deeper than {MAX_DEPTH} levels"):
        read_history(write(tmp_path, f"deep.{fmt}", _op_nested(fmt, MAX_DEPTH + 1)))


def test_history_convert_into_a_missing_folder(tmp_path, capsys):
    path = write(tmp_path, "h.edn", PAIR_EDN)
    code, _, err = run(["history", "convert", path, tmp_path / "no" / "such" / "h.jsonl"], capsys)
    assert code == 255 and "cannot write" in err


def test_sla_min_downtime_nan(tmp_path, capsys):
    history = write(tmp_path, "h.edn", PAIR_EDN)
    claims = write(tmp_path, "c.toml", "availability = 0.99\n")
    code, _, err = run(["sla", history, "--claims", claims, "--min-downtime-ms", "nan"], capsys)
    assert code == 255 and "--min-downtime-ms" in err


@pytest.mark.parametrize("value", ["9" * 5000, "1" + "0" * 400, "1e999", "-" + "9" * 4000])
def test_claims_values_of_thousands_of_digits(tmp_path, capsys, value):
    history = write(tmp_path, "h.edn", PAIR_EDN)
    claims = write(tmp_path, "c.toml", f"rto_seconds = {value}\n")
    code, _, err = run(["sla", history, "--claims", claims], capsys)
    assert code == 255 and str(claims) in err, err


@pytest.mark.parametrize("text", [
    'test = [{name = "a"}, 3]\n[suite]\nname = "s"\n[cluster]\nbackend = "local"\ndb = "etcd"\nnodes = 1\n',
    '[suite]\nname = "s"\n[cluster]\nbackend = "local"\ndb = "etcd"\nnodes = 1\n'
    '[[test]]\nname = "a"\nworkload = "register"\nclaims = {availability = 0.9}\nclaims_file = "c.toml"\n',
])
def test_suite_check_refuses_bad_tests(tmp_path, capsys, text):
    path = write(tmp_path, "suite.toml", text)
    code, _, err = run(["suite", "check", path], capsys)
    assert code == 255 and str(path) in err


@pytest.mark.parametrize("results", ['[]', '{"checkers": 3}', '{"checkers": {"a": 3}}',
                                     '{"claims": {"verdicts": 3}}', '{"figures": []}'])
@pytest.mark.parametrize("command", [["analyze", "-m", "stats"], ["report"]])
def test_analyze_and_report_on_results_of_the_wrong_shape(tmp_path, capsys, results, command):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "history.jsonl").write_text('{"index":0,"time":0,"type":"invoke","process":0,"f":"read"}\n'
                                           '{"index":1,"time":1,"type":"ok","process":0,"f":"read"}\n')
    (run_dir / "results.json").write_text(results)
    code, _, err = run([command[0], run_dir, *command[1:]], capsys)
    assert code == 255 and "results.json" in err, err


def test_initial_value_in_edn(tmp_path, capsys):
    path = write(tmp_path, "h.edn", "{:index 0, :type :invoke, :process 0, :f :txn, :value [[:read :x nil]]}\n"
                 "{:index 1, :type :ok, :process 0, :f :txn, :value [[:read :x 0]]}\n")
    for initial in ('{:x 0, :y 0}', '{"x": 0, "y": 0}'):
        code, out, err = run(["check", "-m", "multi-register", "--initial-value", initial, path], capsys)
        assert (code, out.split("\t")[-1].strip()) == (0, "true"), err
    code, out, _ = run(["check", "-m", "multi-register", "--initial-value", "{:x 5}", path], capsys)
    assert code == 1


def test_checker_crash_is_an_internal_error_not_unknown(tmp_path, capsys, monkeypatch):
    from checkers import registry

    def boom(history, options):
        raise TypeError("boom")

    registry._load_all()
    monkeypatch.setitem(registry._CHECKERS, "stats", registry._Entry("stats", boom, "x"))
    path = write(tmp_path, "h.edn", PAIR_EDN)
    code, out, err = run(["check", "-m", "stats", path], capsys)
    assert code == 255 and "internal error" in err and "unknown" not in out


def test_suite_check_refuses_a_huge_integer(tmp_path, capsys):
    path = write(tmp_path, "suite.toml", "[suite]\nname = " + "9" * 5000 + "\n")
    code, _, err = run(["suite", "check", path], capsys)
    assert code == 255 and str(path) in err


def test_analyze_on_results_with_a_huge_integer(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "history.jsonl").write_text('{"index":0,"time":0,"type":"invoke","process":0,"f":"read"}\n'
                                           '{"index":1,"time":1,"type":"ok","process":0,"f":"read"}\n')
    (run_dir / "results.json").write_text("9" * 5000)
    code, _, err = run(["analyze", run_dir, "-m", "stats"], capsys)
    assert code == 255 and "results.json" in err
