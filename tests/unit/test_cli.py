import json

import pytest

from chaos.cli.main import main


def run(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_history_stats_prints_counts(capsys, corpus):
    code, out, _ = run(capsys, "history", "stats", str(corpus / "elle-cli/histories/jepsen/bank-tidb.edn"))
    assert code == 0
    assert "7132 ops" in out and "transfer: ok 1444, fail 317" in out


def test_check_prints_path_tab_verdict(capsys, corpus):
    path = corpus / "elle-cli/histories/jepsen/counter.json"
    code, out, _ = run(capsys, "check", "-m", "stats", str(path))
    assert (code, out) == (0, f"{path}\ttrue\n")
    code, out, _ = run(capsys, "check", "-m", "stats", "--json", str(path))
    assert json.loads(out)["valid?"] is True


@pytest.mark.parametrize(("text", "name", "where"), [
    ("{:type :invoke :f :read}\n{:type :ok :f", "truncated.edn", ":2: invalid EDN"),
    ('[{"type": "invoke"}, {"type": ok}]', "bad.json", ":1: invalid JSON"),
    ("{:type :invoke :f :read}\n{:type :maybe :f :read}", "type.edn", ":2: type: unknown op type"),
    ('{"type":"invoke","f":"r"}\n{"type":"ok","f":"r","index":1.5}\n', "index.jsonl", ":2: index: not an integer"),
])
@pytest.mark.parametrize("command", [("history", "stats"), ("check", "-m", "stats")])
def test_malformed_input_is_one_line_and_exit_255(capsys, tmp_path, text, name, where, command):
    p = tmp_path / name
    p.write_text(text)
    code, _, err = run(capsys, *command, str(p))
    assert code == 255
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"chaoscert: {p}{where}")


def test_bad_option_and_unknown_model_exit_255(capsys, tmp_path):
    assert run(capsys, "check", "--no-such-flag", "x")[0] == 255
    p = tmp_path / "h.jsonl"
    p.write_text('{"type":"invoke","f":"r"}\n')
    code, _, err = run(capsys, "check", "-m", "no-such-model", str(p))
    assert code == 255 and "unknown model" in err


def test_convert_round_trip(capsys, corpus, tmp_path):
    src = corpus / "elle-cli/histories/jepsen/bank.edn"
    assert run(capsys, "history", "convert", str(src), str(tmp_path / "b.jsonl"))[0] == 0
    assert run(capsys, "history", "convert", str(tmp_path / "b.jsonl"), str(tmp_path / "b.edn"))[0] == 0
    assert (tmp_path / "b.edn").read_text().count("\n") == 680


def test_unknown_consistency_model_is_an_error_not_unknown(capsys, corpus):
    path = corpus / "elle-cli/histories/elle/paper-example.edn"
    code, _, err = run(capsys, "check", "-m", "list-append", "-c", "serialisable", str(path))
    assert code == 255 and "unknown consistency model serialisable" in err


def test_check_path_imports_no_heavy_library(tmp_path):
    """`chaoscert check` on many files is dominated by start-up: it must not import the run side."""
    import subprocess
    import sys

    p = tmp_path / "h.jsonl"
    p.write_text('{"type":"invoke","f":"read","process":0}\n')
    code = ("import sys\nfrom chaos.cli.main import main\n"
            "try:\n    main(['check', '-m', 'cas-register', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "heavy = {'scipy', 'numpy', 'pandas', 'psycopg', 'docker', 'paramiko', 'matplotlib'}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_no_docker_engine_says_exactly_what_to_run(capsys, monkeypatch):
    """An engine that does not answer: one line naming the socket and the commands that start one."""
    from clusters.docker_backend import ROOT_SCRIPTS

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    code, out, err = run(capsys, "image", "build", "bare")
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("chaoscert: no Docker engine answers at unix:///nonexistent/docker.sock; start one: `")
    assert f"bash {ROOT_SCRIPTS / 'ensure-dockerd.sh'}`" in err
    assert f"python3 {ROOT_SCRIPTS / 'dockerd.py'} release`" in err


def test_help_is_not_cut_at_80_columns_when_piped():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    for command in (["--help"], ["run", "--help"], ["check", "--help"]):
        done = subprocess.run([sys.executable, "-m", "chaos", *command], capture_output=True, text=True, env=env,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, command
        assert max(map(len, done.stdout.splitlines())) <= 120


def test_check_whose_reader_leaves_still_ends_with_its_verdict(tmp_path):
    """`chaoscert check ... | head -1`: once the reader has gone the rest of the output is dropped, every
    file is still checked, and the exit code is the verdict (it was 1, invalid, for valid histories)."""
    import subprocess
    import sys

    good = tmp_path / "good.jsonl"
    good.write_text('{"type":"invoke","f":"write","value":1,"process":0}\n{"type":"ok","f":"write","value":1,"process":0}\n')
    bad = tmp_path / "bad.jsonl"  # a read of a value nobody wrote: invalid
    bad.write_text('{"type":"invoke","f":"read","process":0}\n{"type":"ok","f":"read","process":0,"value":7}\n')
    for files, code in (([good] * 2000, 0), ([good] * 2000 + [bad], 1)):
        check = subprocess.Popen([sys.executable, "-m", "chaos", "check", "-m", "cas-register", *map(str, files)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert check.stdout is not None and check.stdout.readline() == f"{good}\ttrue\n"
        check.stdout.close()  # the reader leaves
        assert check.wait(timeout=120) == code
        assert check.stderr is not None and check.stderr.read() == ""


def test_check_as_a_process_prints_everything_and_keeps_its_exit_code(tmp_path):
    """`chaoscert check` ends its process without freeing what it read: output and exit code must survive."""
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"  # a read of a value nobody wrote: invalid
    bad.write_text('{"type":"invoke","f":"read","process":0}\n{"type":"ok","f":"read","process":0,"value":7}\n')
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"type":"ok","f":"read","process":0,"value":1}\n')
    for files, code, out, err in (([bad], 1, f"{bad}\tfalse\n", ""),
                                  ([bad, broken], 255, f"{bad}\tfalse\n", f"chaoscert: {broken}:1: type: ")):
        done = subprocess.run([sys.executable, "-m", "chaos", "check", "-m", "cas-register", *map(str, files)],
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout) == (code, out)
        assert done.stderr.startswith(err) and done.stderr.count("\n") == (1 if err else 0)
