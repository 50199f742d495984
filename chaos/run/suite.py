"""Certification suites: a TOML file naming a cluster, its tests and the claims they must certify.

``chaoscert suite run FILE`` runs every test through the runner (one results folder each; the
runner judges each test's claims), and writes a suite summary (summary.md, junit.xml, suite.json) whose exit code
is a release gate: 0 every test passed, 1 a claim was violated or a checker found the history
invalid, 2 nothing violated but something undecided, 255 an error (bad suite, a run that failed)::

    [suite]
    name = "three-zeros-galera"

    [cluster]                         # where and what: the same for every test
    backend = "netns"
    db = "galera"
    nodes = 3
    options = { sync_wait = 0 }       # keyword arguments of the database adapter

    [defaults]                        # any RunSpec field, for every test
    time_limit = 60
    nemesis_interval = 12

    [claims]                          # or: claims = "claims/three-zeros.toml"
    data_loss = 0
    rto_seconds = 8

    [[test]]
    name = "bank-kill"
    workload = "bank"
    nemesis = "kill"
    claims = { data_loss = 0 }        # optional: replaces the suite's claims for this test

Every problem in a suite file is one line naming the file, the line and the key, found before
anything runs; a database, workload or fault this build lacks is named with what is available.
``--time-scale`` multiplies every duration (0.25 for a quick CI pass).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.report import ci
from chaos.report.view import FAIL, PASS, UNKNOWN, load_view, merge_status
from chaos.run.exits import EXIT_ERROR
from chaos.run.runner import BACKENDS, DBS, WORKLOADS, RunSpec, run
from chaos.sla.claims import ClaimError, Claims, claims_from_mapping, load_claims

__all__ = ["Suite", "SuiteError", "SuiteOutcome", "SuiteTest", "gate", "load_suite", "run_suite"]

CLUSTER_KEYS = ("backend", "db", "nodes", "options")
DURATIONS = ("time_limit", "nemesis_interval", "nemesis_down", "nemesis_quiet")
NOT_PER_TEST = {"backend", "db", "nodes", "db_options", "results_dir"}
ERROR = "error"
COUNTS = {"concurrency"}  # str fields that take a plain number too ("6" or "2n")


class SuiteError(ValueError):
    """A suite file that cannot be run; ``str()`` is the one line the user sees."""


@dataclass(frozen=True)
class SuiteTest:
    name: str
    spec: RunSpec  # its claims (if any) are judged by the runner

    @property
    def claims(self) -> Claims | None:
        return self.spec.claims


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    description: str
    tests: tuple[SuiteTest, ...]


@dataclass(frozen=True)
class SuiteOutcome:
    directory: Path
    statuses: dict[str, str]  # test name -> pass / fail / unknown / error
    exit_code: int


def _spec_fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(RunSpec) if f.name not in NOT_PER_TEST}


class _Where:
    """``file:line`` of a key, looked up in the text (tomllib gives no positions)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def __call__(self, key: str, section: str | None = None, index: int = 0) -> str:
        start = 0
        if section is not None:
            header = re.compile(rf"\s*\[\[?\s*{re.escape(section)}\s*\]\]?\s*(#.*)?$")
            hits = [n for n, line in enumerate(self.lines) if header.match(line)]
            if index < len(hits):
                start = hits[index]
        k = re.escape(key)
        pattern = re.compile(rf"\s*{k}\s*=|.*[{{,]\s*{k}\s*=|\s*\[\[?\s*{k}\s*\]")
        for n in range(start, len(self.lines)):
            if pattern.match(self.lines[n]):
                return f"{self.path}:{n + 1}"
        return f"{self.path}:{start + 1}" if section is not None else str(self.path)


def _table(data: Mapping[str, Any], key: str, where: _Where, section: str | None = None, index: int = 0
           ) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SuiteError(f"{where(key, section, index)}: {key}: expected a table, got {type(value).__name__}")
    return value


def _check_type(key: str, value: Any, f: dataclasses.Field[Any], where: str) -> Any:
    """Check a RunSpec field's TOML value against the field's type; ints are fine where floats are
    (and where a count like ``concurrency`` is written as text)."""
    kind = str(f.type)
    if f.name in COUNTS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    ok = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    for name, types in ok.items():
        if kind.startswith(name) or kind.startswith(f"{name} |"):
            if isinstance(value, bool) and name != "bool":
                break
            if isinstance(value, types):
                return float(value) if name == "float" else value
            break
    else:
        return value
    raise SuiteError(f"{where}: {key}: expected {kind}, got {type(value).__name__} {value!r}")


def _claims(value: Any, path: Path, where: Callable[[str], str], name: str) -> Claims:
    try:
        if isinstance(value, str):
            file = Path(value) if Path(value).is_absolute() else path.parent / value
            return load_claims(file)
        if isinstance(value, dict):
            return claims_from_mapping(value, where, name)
    except ClaimError as e:
        raise SuiteError(str(e)) from None
    raise SuiteError(f"{where('claims')}: claims: expected a table or a claims file path, got {value!r}")


def _known(kind: str, name: str, registry: Any, where: str) -> None:
    if name not in registry:
        raise SuiteError(f"{where}: {kind} {name!r} is not available in this build of chaoscert; "
                         f"available: {', '.join(registry)}")


def _db_options(db: str, options: dict[str, Any], where: str) -> None:
    try:
        inspect.signature(DBS[db]).bind("root", **options)
    except TypeError as e:
        params = [p for p in inspect.signature(DBS[db]).parameters.values() if p.kind == p.KEYWORD_ONLY]
        raise SuiteError(f"{where}: cluster.options: {e}; {db} takes: {', '.join(p.name for p in params)}") from None


def load_suite(path: str | Path, *, time_scale: float = 1.0, results_dir: Path = Path("results")) -> Suite:
    """Read and validate a suite file: every test's RunSpec built, every claim checked."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SuiteError(f"{path}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+)", str(e))
        raise SuiteError(f"{path}:{m.group(1) if m else '?'}: invalid TOML: {str(e).split(' (at line')[0]}") from None
    except ValueError as e:  # an integer past Python's digit limit
        raise SuiteError(f"{path}: invalid TOML: {str(e).split(':')[0]}") from None
    if time_scale <= 0:
        raise SuiteError(f"--time-scale must be positive, not {time_scale}")
    where = _Where(path, text)
    unknown = set(data) - {"suite", "cluster", "defaults", "claims", "test"}
    if unknown:
        key = sorted(unknown)[0]
        raise SuiteError(f"{where(key)}: {key}: unknown section; known: suite, cluster, defaults, claims, test")
    head = _table(data, "suite", where)
    name = head.get("name") or path.stem
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise SuiteError(f"{where('name', 'suite')}: suite.name: letters, digits, '.', '_', '-' only, not {name!r}")

    cluster = _table(data, "cluster", where)
    for key in cluster:
        if key not in CLUSTER_KEYS:
            raise SuiteError(f"{where(key, 'cluster')}: cluster.{key}: unknown key; known: {', '.join(CLUSTER_KEYS)}")
    for key in ("backend", "db"):
        if not isinstance(cluster.get(key), str):
            raise SuiteError(f"{where(key, 'cluster')}: cluster.{key}: required, a name")
    _known("backend", cluster["backend"], BACKENDS, where("backend", "cluster"))
    _known("database", cluster["db"], DBS, where("db", "cluster"))
    nodes = cluster.get("nodes", 1)
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise SuiteError(f"{where('nodes', 'cluster')}: cluster.nodes: a positive integer, not {nodes!r}")
    options = _table(cluster, "options", where, "cluster")
    _db_options(cluster["db"], options, where("options", "cluster"))

    suite_claims = None
    if "claims" in data:
        suite_claims = _claims(data["claims"], path, lambda k: where(k, "claims"), f"{path}: claims")
    defaults = _table(data, "defaults", where)
    tests_data = data.get("test")
    if not isinstance(tests_data, list) or not tests_data:
        raise SuiteError(f"{path}: no [[test]]: a suite needs at least one test")
    fields = _spec_fields()
    tests: list[SuiteTest] = []
    for i, raw in enumerate(tests_data):
        if not isinstance(raw, dict):
            raise SuiteError(f"{where('test')}: test: each [[test]] is a table, not {type(raw).__name__} "
                             f"{str(raw)[:40]}")
        test_name = raw.get("name", f"test-{i + 1}")
        if not isinstance(test_name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", test_name):
            raise SuiteError(f"{where('name', 'test', i)}: test.name: letters, digits, '.', '_', '-' only, "
                             f"not {test_name!r}")
        if test_name in {t.name for t in tests}:
            raise SuiteError(f"{where('name', 'test', i)}: test.name: {test_name!r} is used twice")
        values: dict[str, Any] = {}
        for source, table, section, index in (("defaults", defaults, "defaults", 0), ("test", raw, "test", i)):
            for key, value in table.items():
                if source == "test" and key in ("name", "claims"):
                    continue
                spot = where(key, section, index)
                if key == "claims_file":
                    raise SuiteError(f"{spot}: {source}.{key}: set by the suite, not by a test (write claims = "
                                     "a table or a claims file path)")
                if key not in fields:
                    hint = " (set it under [cluster])" if key in NOT_PER_TEST else ""
                    raise SuiteError(f"{spot}: {source}.{key}: unknown key{hint}; known: "
                                     f"{', '.join(sorted(fields))}")
                values[key] = _check_type(f"{source}.{key}", value, fields[key], spot)
        if "workload" in values:
            _known("workload", values["workload"], WORKLOADS, where("workload", "test", i))
        for key in DURATIONS:
            value = values.get(key, fields[key].default if key in fields else None)
            if isinstance(value, (int, float)):
                values[key] = value * time_scale
        test_claims = suite_claims
        if "claims" in raw:
            test_claims = _claims(raw["claims"], path, lambda k, i=i: where(k, "test", i), f"{path}: test {test_name}")
        try:
            spec = RunSpec(db=cluster["db"], backend=cluster["backend"], nodes=nodes, db_options=dict(options),
                           results_dir=results_dir, claims=test_claims,
                           claims_file=None if test_claims is None else path, **values)
        except ValueError as e:
            raise SuiteError(f"{where('name', 'test', i)}: test {test_name!r}: {e}") from None
        tests.append(SuiteTest(test_name, spec))
    description = head.get("description", "")
    return Suite(path, name, str(description), tuple(tests))


def gate(statuses: list[str]) -> int:
    """The suite's exit code: 1 any fail, else 255 any error, else 2 any unknown, else 0."""
    if FAIL in statuses:
        return 1
    if ERROR in statuses:
        return EXIT_ERROR
    return 2 if UNKNOWN in statuses or not statuses else 0


def run_suite(suite: Suite, results_dir: Path, say: Callable[[str], None] = print) -> SuiteOutcome:
    """Run every test of ``suite`` in order; write the suite summary; return the gate's exit code."""
    directory = results_dir / "suites" / suite.name / time.strftime("%Y%m%dT%H%M%S")
    n = 1
    while directory.exists():
        n += 1
        directory = directory.with_name(f"{directory.name.split('-')[0]}-{n}")
    directory.mkdir(parents=True)
    (directory / "suite.toml").write_bytes(suite.path.read_bytes())  # what the certificate's claims come from
    views, statuses, runs = [], {}, {}
    for test in suite.tests:
        say(f"suite {suite.name}: test {test.name}")
        spec = dataclasses.replace(test.spec, results_dir=directory / test.name)
        outcome = run(spec, say=say)
        view = load_view(outcome.directory)
        views.append(view)
        error = view.results.get("error")
        statuses[test.name] = ERROR if error else merge_status(view.items)
        runs[test.name] = str(outcome.directory.relative_to(directory))
        why = f" ({str(error).splitlines()[0]})" if error else ""
        say(f"suite {suite.name}: test {test.name}: {statuses[test.name]}{why}")
    code = gate(list(statuses.values()))
    (directory / "summary.md").write_text(_summary_md(suite, statuses, runs, views, code), encoding="utf-8")
    (directory / "junit.xml").write_text(ci.junit_xml(*views, name=f"chaoscert suite {suite.name}"),
                                         encoding="utf-8")
    (directory / "suite.json").write_text(json.dumps(
        {"suite": suite.name, "file": str(suite.path), "exit-code": code, "tests": statuses, "runs": runs},
        indent=2) + "\n", encoding="utf-8")
    return SuiteOutcome(directory, statuses, code)


WORDS = {PASS: "✅ passed", FAIL: "❌ FAILED", UNKNOWN: "⚠️ undecided", ERROR: "💥 ERROR"}


def _summary_md(suite: Suite, statuses: dict[str, str], runs: dict[str, str], views: list[Any], code: int) -> str:
    lines = [f"# chaoscert suite {suite.name}: exit {code}", ""]
    if suite.description:
        lines += [suite.description.strip(), ""]
    lines += ["| test | result | results folder |", "|---|---|---|"]
    lines += [f"| {name} | {WORDS[status]} | `{runs[name]}` |" for name, status in statuses.items()]
    lines.append("")
    for view in views:
        lines.append(ci.summary_md(view).replace("## chaoscert:", "### chaoscert:", 1))
    return "\n".join(lines)
