"""Generated inputs for the no-traceback fuzz test (tests/unit/test_fuzz.py, benchmarks/fuzz_bench.py).

Each input is a command line and the files it reads: a history in EDN, JSON, JSON Lines or
history.txt made of valid ops then broken by a few mutations (a token swapped for an odd one: a
huge integer, ``##Inf``, a bare symbol, a deep vector, a duplicated key...), or a suite, claims or
results.json file built the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from chaos.cli.main import main, register_all_commands

register_all_commands()  # imports done once, not inside the first timed input

MODELS = ["cas-register", "register", "kv", "list-append", "rw-register", "bank", "set", "set-full", "counter",
          "stats", "mutex", "multi-register", "long-fork", "linearizable-set", "fifo-queue"]
ODD = ["9" * 5000, "-0", "1e999", "##Inf", "##NaN", "nil", "invoke", ":ok", "[:ok]", "{:a 1 :a 2}", "{[1] 2}",
       "[" * 300 + "]" * 300, '"\\u0000"', "#inst \"2020\"", "#{1 1}", "1/0", "\\c", "{}", "[]", "()", "-1",
       ":nemesis", '"x"', "3.5", "true", "#_ 1", "; c", "{", "]", "1N", "2M", "[1 [2 [3]]]", "{:from 0}"]
JSON_ODD = ["9" * 5000, "1e999", "null", '"invoke"', '["ok"]', "{}", "[]", "[" * 1100 + "]" * 1100, "-1", "true",
            '{"a":1,"a":2}', '"\\ud800"', "NaN", "{", "]", '""', "3.5"]


@st.composite
def ops(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A short valid-looking history: invocations and completions of one model's ops."""
    f = draw(st.sampled_from(["read", "write", "cas", "txn", "add", "transfer", "get", "put", "acquire"]))
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 8))):
        value = draw(st.sampled_from([None, 1, [1, 2], [["append", 1, 2], ["r", 1, None]], {"from": 0, "to": 1,
                                                                                              "amount": 2}]))
        process = draw(st.integers(0, 3))
        out.append({"index": 2 * i, "time": 10 * i, "type": "invoke", "process": process, "f": f, "value": value})
        out.append({"index": 2 * i + 1, "time": 10 * i + 5, "process": process, "f": f,
                    "type": draw(st.sampled_from(["ok", "fail", "info"])),
                    "value": draw(st.sampled_from([value, None, 3, [1], {0: 5}, [["r", 1, [2]]]]))})
    return out


def _edn(x: Any) -> str:
    if x is None:
        return "nil"
    if isinstance(x, str):
        return ":" + x
    if isinstance(x, list):
        return "[" + " ".join(map(_edn, x)) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{_edn(k)} {_edn(v)}" for k, v in x.items()) + "}"
    return json.dumps(x)


def _render(history: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "edn":
        return "\n".join(map(_edn, history)) + "\n"
    if fmt == "jsonl":
        return "\n".join(json.dumps({str(k): v for k, v in op.items()}) for op in history) + "\n"
    if fmt == "json":
        return json.dumps(history, indent=1)
    sep = "\t"
    return "\n".join(sep.join([str(op["process"]), ":" + op["type"], ":" + op["f"], _edn(op["value"])])
                     for op in history) + "\n"


@st.composite
def mutated(draw: st.DrawFn, text: str, odd: list[str]) -> str:
    """``text`` with a few tokens swapped for odd ones, characters dropped or the text cut."""
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["swap", "insert", "drop", "cut"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "swap":
            end = min(len(text), at + draw(st.integers(1, 6)))
            text = text[:at] + draw(st.sampled_from(odd)) + text[end:]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from([*odd, " ", "\n", "\t", ",", '"'])) + text[at:]
        elif kind == "drop":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at]
    return text


@st.composite
def history_files(draw: st.DrawFn) -> tuple[str, str]:
    fmt = draw(st.sampled_from(["edn", "jsonl", "json", "txt"]))
    text = _render(draw(ops()), fmt)
    return f"h.{fmt}", draw(mutated(text, JSON_ODD if fmt.startswith("json") else ODD))


SUITE = ('[suite]\nname = "s"\n[cluster]\nbackend = "local"\ndb = "etcd"\nnodes = 3\n[claims]\nrto_seconds = 8\n'
         '[[test]]\nname = "a"\nworkload = "register"\nnemesis = "kill:one"\n')
CLAIMS = "availability = 0.99\nrto_seconds = 8\nzero_data_loss = true\n"
TOML_ODD = ["9" * 5000, "nan", "inf", "[1, 2]", '{name = "a"}', '"x"', "3", "true", "1e999", "[[test]]",
            'claims_file = "c.toml"', "test = [{name = \"a\"}, 3]", "=", "[", "\n"]
RESULTS = json.dumps({"checkers": {"stats": {"valid?": True}}, "claims": {"verdicts": []}, "figures": {}})


@st.composite
def commands(draw: st.DrawFn) -> tuple[list[str], dict[str, str]]:
    """(argv with @name for the file called name, files by name)."""
    which = draw(st.sampled_from(["check", "check", "check", "sla", "stats", "suite", "analyze"]))
    name, text = draw(history_files())
    if which == "check":
        extra = draw(st.sampled_from([[], ["--lenient"], ["--json"], ["--independent"], ["--initial-value", "{:x 0}"],
                                      ["--initial-value", "9" * 5000], ["--format", "edn"]]))
        return ["check", "-m", draw(st.sampled_from(MODELS)), *extra, "@" + name], {name: text}
    if which == "sla":
        claims = draw(mutated(CLAIMS, TOML_ODD))
        return (["sla", "@" + name, "--claims", "@c.toml",
                 "--min-downtime-ms", draw(st.sampled_from(["1000", "nan", "-1", "inf", "0"]))],
                {name: text, "c.toml": claims})
    if which == "stats":
        return ["history", "stats", "@" + name], {name: text}
    if which == "suite":
        return ["suite", "check", "@s.toml"], {"s.toml": draw(mutated(SUITE, TOML_ODD)), "c.toml": CLAIMS}
    jsonl = _render(draw(ops()), "jsonl")
    return (["analyze", "@run", "-m", draw(st.sampled_from(MODELS))],
            {"run/history.jsonl": draw(mutated(jsonl, JSON_ODD)),
             "run/results.json": draw(mutated(RESULTS, JSON_ODD))})


def run_command(folder: Path, argv: list[str], files: dict[str, str], capsys: Any = None) -> tuple[int, str]:
    """Write the files, run the command in this process; (exit code, stderr). Raises what main raises."""
    import contextlib
    import io

    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    args = [str(folder / a[1:]) if a.startswith("@") else a for a in argv]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as e:
            return int(e.code or 0), err.getvalue()
    return 0, err.getvalue()
