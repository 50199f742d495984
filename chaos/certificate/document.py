"""SLA certificates: one document per run or suite that a vendor can publish and an auditor can check.

``write_certificate(DIR)`` reads a run folder (results.json + history.jsonl) or a suite folder
(suite.json, suite.toml and one run folder per test), judges the claims over the evidence of every
test, and writes ``certificate.json`` (verdicts, every fault's figures, assumptions, SHA-256 of every
file it rests on) and ``certificate.html`` (the same, self-contained, with plots) into DIR.
``verify_certificate(DIR)`` checks the hashes and recomputes the verdicts from the stored histories.

How the suite's claims are judged over its tests:

- ``rto_seconds``: per fault kind over every fault of that kind in every test (and every kind of the
  fault model), with :func:`checkers.sla_stats.rto_quantile_verdict` at ``rto_quantile`` and
  ``confidence``; certified when every kind is.
- ``availability`` with a ``[fault_model]``: projected annual availability from the per-fault downtimes
  of every test (:func:`checkers.sla_stats.project_availability`). Without one, about the runs
  themselves: each test judged on its own history, as ``chaoscert sla`` does.
- any other claim: each test whose own claims name it is judged on its history and recomputed
  checker results; violated when one test is, certified when every such test is, inconclusive when
  none claims it.

Per-fault figures (:func:`fault_records`) come from today's :class:`checkers.sla.SlaFigures`: the RTO
runs until every affected client was answered again (its upper and lower bounds); the downtime of a
fault is its clients' outage time from its start, per client, within its window (its start to the
next fault's start, or the end of the history); its most adds each outage from the answered request before it
and the time clients were blind in it, its least takes each outage to its last unanswered request,
less the gaps its client was idle. A fault no request saw, one whose injection's outcome is
unknown, or one not recovered within its window is *censored*: its downtime is not known, which
leaves the projection undecided.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from chaos.report.store import RunDir, StoreError
from chaos.report.view import RunView, load_view
from chaos.sla.claims import (
    CERTIFIED,
    INCONCLUSIVE,
    VIOLATED,
    ClaimError,
    Claims,
    Verdict,
    claims_from_mapping,
    evaluate,
    load_claims,
    merge_verdicts,
)
from checkers.formats import HistoryFormatError
from checkers.quantiles import quantiles
from checkers.result import Result
from checkers.sla import NS_PER_S, SlaFigures
from checkers.sla_stats import QuantileVerdict, project_availability, rto_quantile_verdict

__all__ = ["CERTIFICATE_HTML", "CERTIFICATE_JSON", "CertificateError", "Evidence", "FaultRecord", "TestEvidence",
           "certificate_data", "fault_kind", "fault_records", "judge", "load_evidence",
           "verify_certificate", "write_certificate"]

CERTIFICATE_JSON, CERTIFICATE_HTML, CERTIFICATE_PDF = "certificate.json", "certificate.html", "certificate.pdf"
_KIND_NAMES = {"bump-clock": "clock", "strobe-clock": "clock"}


class CertificateError(ValueError):
    """A folder that cannot be certified or verified; ``str()`` is one line naming the file."""


def fault_kind(kind: str) -> str:
    """The fault model's name of a fault: ``start-partition`` -> ``partition``, ``bump-clock`` -> ``clock``."""
    return _KIND_NAMES.get(kind, kind.removeprefix("start-"))


@dataclass(frozen=True)
class FaultRecord:
    """One fault's figures (seconds); see the module's docstring for how they are measured."""

    test: str
    kind: str
    start_s: float  # since the history's first op
    nodes: Any
    rto_s: float | None  # the most it can be (see FaultRecovery.rto_ns)
    downtime_s: float
    window_s: float
    censored: bool  # not recovered within its window
    rto_least_s: float | None = None  # the least it can be
    downtime_most_s: float | None = None  # with the time clients were blind in it (None: as downtime_s)
    downtime_least_s: float | None = None  # its outages at their least (None: as downtime_s)

    def to_json(self) -> dict[str, Any]:
        return {"test": self.test, "kind": self.kind, "start-s": self.start_s, "nodes": self.nodes,
                "rto-s": self.rto_s, "rto-least-s": self.rto_least_s, "downtime-s": self.downtime_s,
                "downtime-most-s": self.downtime_most_s, "downtime-least-s": self.downtime_least_s,
                "window-s": self.window_s, "censored": self.censored}


def fault_records(test: str, fig: SlaFigures) -> list[FaultRecord]:
    """Every injected fault of a history with its RTO (until every affected client was answered again),
    the clients' downtime it caused (client-seconds over the run's clients) and its observation window.
    A fault no request saw, one whose injection's outcome is unknown, or one not recovered before the
    next began, is censored. Its downtime is at most the clients' down time and the time they were
    blind (idle or stalled) in it. The RTO's lower bound
    of a fault no request saw, or that may not have happened, is 0; its upper bound is unknown (None)
    for one that may not have happened: it shows nothing recovered."""
    out = []
    clients = max(len(fig.clients), 1)
    starts = [r.fault.start_ns for r in fig.recoveries]
    for i, r in enumerate(fig.recoveries):
        end = max(starts[i + 1] if i + 1 < len(starts) else fig.end_ns, r.fault.start_ns)
        rto = None if r.rto_ns is None or r.fault.uncertain else r.rto_ns / NS_PER_S
        least = 0.0 if not r.observed or r.fault.uncertain else None if r.rto_least_ns is None \
            else r.rto_least_ns / NS_PER_S
        censored = (not r.observed or r.fault.uncertain or r.rto_ns is None
                    or r.fault.start_ns + r.rto_ns > end)
        window = (end - r.fault.start_ns) / NS_PER_S
        down = min(r.client_down_ns / clients / NS_PER_S, window)  # beyond its window only when censored
        most = min((r.client_down_most_ns + r.unseen_ns) / clients / NS_PER_S, window)
        out.append(FaultRecord(test, fault_kind(r.fault.kind), (r.fault.start_ns - fig.start_ns) / NS_PER_S,
                               r.fault.nodes, rto, down, window, censored, least, most,
                               min(r.client_down_least_ns / clients / NS_PER_S, down)))
    return out


@dataclass(frozen=True)
class TestEvidence:
    """One test's run: its stored results, history and figures, recomputed checker results, faults."""

    name: str
    view: RunView
    claims: Claims | None
    checks: dict[str, Result]
    records: list[FaultRecord]

    @property
    def figures(self) -> SlaFigures:
        assert self.view.figures is not None
        return self.view.figures


@dataclass(frozen=True)
class Evidence:
    """What a certificate rests on: the claims and every test's evidence."""

    root: Path
    name: str
    suite_file: str | None  # None for a single run
    claims: Claims
    tests: list[TestEvidence]
    files: list[Path]  # every file the verdicts are computed from

    @property
    def records(self) -> list[FaultRecord]:
        return [r for t in self.tests for r in t.records]


def _claims(mapping: Any, where: Path) -> Claims:
    if not isinstance(mapping, dict):
        raise CertificateError(f"{where}: no claims to certify")
    try:
        return claims_from_mapping(mapping, lambda key: str(where), str(where))
    except ClaimError as e:
        raise CertificateError(str(e)) from None


def _test(name: str | None, run_dir: Path) -> TestEvidence:
    """A run folder's evidence, named ``name`` (by default the run's test name)."""
    from chaos.run.runner import WORKLOADS, check_history, workload_options

    try:
        view = load_view(run_dir)
    except StoreError as e:
        raise CertificateError(str(e)) from None
    if view.history is None or view.figures is None:
        raise CertificateError(f"{view.run.history}: {view.history_problem or 'empty history'}")
    p = view.results.get("parameters") or {}
    claims = None if p.get("claims") is None else _claims(p["claims"], view.run.results)
    try:
        checks = check_history(WORKLOADS[p["workload"]], workload_options(p), view.history)
    except (KeyError, TypeError, ValueError) as e:
        raise CertificateError(f"{view.run.results}: parameters: cannot rebuild the workload's checks: {e}") from None
    name = name or str(view.results.get("test") or view.run.test_name)
    return TestEvidence(name, view, claims, checks, fault_records(name, view.figures))


def load_evidence(path: Path) -> Evidence:
    """A run folder or a suite folder's evidence; CertificateError when it cannot be read."""
    path = Path(path)
    if (path / "suite.json").exists():
        try:
            suite = json.loads((path / "suite.json").read_text(encoding="utf-8"))
            runs = dict(suite["runs"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CertificateError(f"{path / 'suite.json'}: cannot read: {e}") from None
        source = path / "suite.toml"
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise CertificateError(f"{source}: cannot read the suite's claims: {e}") from None
        tests = [_test(name, path / rel) for name, rel in runs.items()]
        files = [source] + [f for t in tests for f in (t.view.run.results, t.view.run.history)]
        return Evidence(path, str(suite.get("suite", path.name)), str(suite.get("file")),
                        _claims(data.get("claims"), source), tests, files)
    test = _test(None, path)
    files = [test.view.run.results, test.view.run.history]
    claims = test.claims
    if claims is None:  # judged later by ``chaoscert analyze --claims FILE``: that file, if still there
        file = Path(str((test.view.results.get("claims") or {}).get("file") or ""))
        file = file if file.is_absolute() else path / file.name
        if not file.is_file():
            raise CertificateError(f"{test.view.run.results}: the run judged no claims; run it with --claims")
        try:
            claims = load_claims(file)
        except ClaimError as e:
            raise CertificateError(str(e)) from None
        test = replace(test, claims=claims)
        files.append(file)
    return Evidence(path, test.name, None, claims, [test], files)


def _combine(key: str, claimed: Any, judged: Sequence[tuple[str, Verdict]]) -> Verdict:
    if not judged:
        return Verdict(key, claimed, INCONCLUSIVE, None, {}, "no test of the suite claims it")
    verdict = merge_verdicts(v.verdict for _, v in judged)
    evidence = {name: {"verdict": v.verdict, "reason": v.reason, "evidence": v.evidence} for name, v in judged}
    measured = judged[0][1].measured if len(judged) == 1 else {name: v.measured for name, v in judged}
    reason = "; ".join(f"{name}: {v.verdict}: {v.reason}" for name, v in judged)
    return Verdict(key, claimed, verdict, measured, evidence, reason)


def _per_test(key: str, claimed: Any, ev: Evidence) -> Verdict:
    one = Claims({key: claimed}, ev.claims.confidence, ev.claims.rto_quantile, ev.claims.fault_model)
    judged = [(t.name, evaluate(one, t.figures, t.checks)[0]) for t in ev.tests
              if t.claims is not None and key in t.claims.values]
    return _combine(key, claimed, judged)


def _model_kinds(claims: Claims) -> list[str]:
    return [k for k, rate in (claims.fault_model or {}).items() if rate > 0]


def _rto(claimed: float, ev: Evidence) -> Verdict:
    c = ev.claims
    by_kind: dict[str, list[float | None]] = {k: [] for k in _model_kinds(c)}
    least: dict[str, list[float | None]] = {k: [] for k in _model_kinds(c)}
    for r in ev.records:
        by_kind.setdefault(r.kind, []).append(r.rto_s)
        least.setdefault(r.kind, []).append(r.rto_least_s)
    if not by_kind:
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, None, {}, "no fault was injected")
    judged = {k: _bounded(rto_quantile_verdict(v, claimed, c.rto_quantile, c.confidence),
                          rto_quantile_verdict(least[k], claimed, c.rto_quantile, c.confidence))
              for k, v in sorted(by_kind.items())}
    verdict = merge_verdicts(q.verdict for q in judged.values())
    observed = {k: quantiles([x for x in v if x is not None], (c.rto_quantile, 1)) or {} for k, v in by_kind.items()}
    evidence = {"rto-quantile": c.rto_quantile, "confidence": c.confidence, "by-kind": {
        k: {"verdict": q.verdict, "faults": q.n, "within": q.within, "lower-bound": q.lower, "upper-bound": q.upper,
            "faults-needed": q.needed, "observed-quantile-s": observed[k].get(c.rto_quantile),
            "worst-s": observed[k].get(1), "never-recovered": sum(1 for x in by_kind[k] if x is None)}
        for k, q in judged.items()}}
    worst = {k: observed[k].get(1) for k in sorted(by_kind)}
    reason = "; ".join(f"{k}: {q.verdict}: {q.reason}" for k, q in judged.items())
    return Verdict("rto_seconds", claimed, verdict, worst, evidence,
                   f"{c.rto_quantile:g} of faults within {claimed:g} s at {c.confidence:.0%} confidence: {reason}")


def _bounded(most: QuantileVerdict, least: QuantileVerdict) -> QuantileVerdict:
    """Certified on the RTOs' upper bounds, violated on their lower bounds, else inconclusive."""
    if most.verdict == CERTIFIED or most.verdict == least.verdict:
        return most
    if least.verdict == VIOLATED:
        return least
    return replace(least, verdict=INCONCLUSIVE, needed=None, between=most)


def _projected(claimed: float, ev: Evidence) -> Verdict:
    c = ev.claims
    assert c.fault_model is not None
    downtimes: dict[str, list[float]] = {}
    most: dict[str, list[float]] = {}
    least: dict[str, list[float]] = {}
    ceilings: dict[str, float] = {}
    censored = {k: 0 for k in _model_kinds(c)}
    for r in ev.records:
        downtimes.setdefault(r.kind, []).append(r.downtime_s)
        most.setdefault(r.kind, []).append(r.downtime_s if r.downtime_most_s is None else r.downtime_most_s)
        least.setdefault(r.kind, []).append(r.downtime_s if r.downtime_least_s is None else r.downtime_least_s)
        ceilings[r.kind] = max(ceilings.get(r.kind, 0.0), r.window_s)
        if r.censored and r.kind in censored:
            censored[r.kind] += 1
    p = project_availability(c.fault_model, downtimes, ceilings, c.confidence)
    p_most = project_availability(c.fault_model, most, ceilings, c.confidence)  # with blind time as down
    p_least = project_availability(c.fault_model, least, ceilings, c.confidence)  # outages at their least
    evidence = {"fault-model-per-year": c.fault_model, "confidence": p.confidence,
                "per-kind-confidence": p.per_kind_confidence, "projected-lower": p.lower, "projected-upper": p.upper,
                "projected-point": p.point, "projected-lower-blind-as-down": p_most.lower,
                "projected-upper-outages-at-least": p_least.upper,
                "not-injected": list(p.missing),
                "by-kind": {k.kind: {"rate-per-year": k.rate, "faults": k.n, "mean-downtime-s": k.mean,
                                     "mean-downtime-upper-s": k.upper, "mean-downtime-lower-s": k.lower,
                                     "ceiling-s": k.ceiling, "downtime-per-year-upper-s": k.yearly_upper_s,
                                     "censored": censored.get(k.kind, 0)} for k in p.kinds}}
    if p.missing:
        return Verdict("availability", claimed, INCONCLUSIVE, None, evidence,
                       f"the fault model names {', '.join(p.missing)}, which the run never injected")
    late = {k: n for k, n in censored.items() if n}
    if late:
        return Verdict("availability", claimed, INCONCLUSIVE, p.lower, evidence,
                       "downtime not measured whole for faults no request saw, that may not have happened, or not "
                       "recovered before the next fault: "
                       + ", ".join(f"{n} {k}" for k, n in late.items()))
    assert p.lower is not None and p.upper is not None and p_most.lower is not None and p_least.upper is not None
    yearly = sum(k.yearly_upper_s or 0.0 for k in p_most.kinds)
    pct = f"{p.confidence:.0%}"
    if p_most.verdict(claimed) == CERTIFIED:
        return Verdict("availability", claimed, CERTIFIED, p_most.lower, evidence,
                       f"projected >= {p_most.lower:.7f} at {pct} ({yearly:.1f} s of downtime a year at most)")
    if p_least.verdict(claimed) == VIOLATED:
        return Verdict("availability", claimed, VIOLATED, p.lower, evidence,
                       f"projected <= {p_least.upper:.7f} at {pct}, below {claimed}, with every outage at its least")
    if p.verdict(claimed) == CERTIFIED:
        why = (f"projected >= {p.lower:.7f} at {pct}, but >= {p_most.lower:.7f} only if each outage began when "
               "the answered request before it was sent and the time clients were blind in faults (idle, or "
               "stalled on a request) was down")
    elif p.verdict(claimed) == VIOLATED:
        why = (f"projected <= {p.upper:.7f} at {pct}, but <= {p_least.upper:.7f} only with every outage at its "
               "least (to its last unanswered request, without the gaps the client was idle)")
    else:
        why = f"projected between {p.lower:.7f} and {p.upper:.7f} at {pct}: more faults would narrow it"
    return Verdict("availability", claimed, INCONCLUSIVE, p.lower, evidence, why)


def judge(ev: Evidence) -> list[Verdict]:
    """A verdict for every claim of the certificate (see the module's docstring)."""
    out = []
    for key, claimed in ev.claims.values.items():
        if key == "rto_seconds":
            out.append(_rto(claimed, ev))
        elif key == "availability" and ev.claims.fault_model:
            out.append(_projected(claimed, ev))
        else:
            out.append(_per_test(key, claimed, ev))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    try:
        chaoscert = metadata.version("chaoscert")
    except metadata.PackageNotFoundError:
        chaoscert = "unknown"
    return {"chaoscert": chaoscert, "python": platform.python_version()}


_DB_VERSION = re.compile(rb"Version: '[^']+'|Galera \d+\.\d+|observer version: [^,]+, revision: [0-9a-z-]{1,20}"
                         rb"|etcd Version: \S+|\"etcd-version\":\"[^\"]+\"|PostgreSQL \d+\.\d+")


def _db_versions(run: RunDir) -> list[str]:
    """Version strings the database wrote to its logs (the first 1 MB of each file), if any."""
    found: set[str] = set()
    for file in sorted(run.logs.glob("*/*")) if run.logs.is_dir() else []:
        with contextlib.suppress(OSError), file.open("rb") as f:
            found |= {m.decode(errors="replace") for m in _DB_VERSION.findall(f.read(1 << 20))}
    return sorted(found)


def _machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else None
    return {"system": f"{platform.system()} {platform.release()}", "machine": platform.machine(),
            "cpus": os.cpu_count(), "memory-gib": None if memory is None else round(memory / 2**30, 1)}


def _targets(nodes: Any) -> set[str]:
    """The nodes a fault hit: a list of names, or a partition's most cut-off nodes."""
    if isinstance(nodes, list):
        return {str(n) for n in nodes}
    if isinstance(nodes, dict) and nodes:
        widest = max(len(v) if isinstance(v, list) else 0 for v in nodes.values())
        return {str(k) for k, v in nodes.items() if isinstance(v, list) and len(v) == widest}
    return set()


def _untested(ev: Evidence) -> dict[str, Any]:
    from chaos.nemesis.package import FAULTS

    injected = sorted({r.kind for r in ev.records})
    names: set[str] = set()
    for t in ev.tests:
        count = t.view.parameters.get("nodes")
        names |= {f"n{i + 1}" for i in range(count if isinstance(count, int) else 0)} | set(t.figures.by_node)
    never = {}
    for kind in injected:
        hit = set().union(*(_targets(r.nodes) for r in ev.records if r.kind == kind))
        never[kind] = sorted(names - hit)
    return {"fault-kinds-not-injected": sorted(set(FAULTS) - set(injected)),
            "fault-model-kinds-not-injected": sorted(set(_model_kinds(ev.claims)) - set(injected)),
            "nodes-never-targeted": never, "nodes": sorted(names)}


def _schedule(t: TestEvidence) -> dict[str, Any]:
    p, fig = t.view.parameters, t.figures
    span = (fig.end_ns - fig.start_ns) / NS_PER_S
    counts: dict[str, int] = {}
    for r in t.records:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    keys = ("db", "backend", "nodes", "db_options", "workload", "nemesis", "nemesis_interval", "nemesis_down",
            "time_limit", "clients", "concurrency", "rate", "op_timeout", "isolation", "seed")
    return {"test": t.name, **{k: p.get(k) for k in keys}, "history-seconds": span, "faults": counts,
            "faults-per-hour": {k: n * 3600 / span for k, n in counts.items()} if span else {},
            "client-ops": fig.availability.n, "run-started": t.view.run.stamp,
            "database-version": ", ".join(_db_versions(t.view.run)) or "not in the run's logs",
            "run-problem": "; ".join(i.message for i in t.view.items if i.kind == "run") or None}


def certificate_data(ev: Evidence, verdicts: list[Verdict]) -> dict[str, Any]:
    """Everything the certificate states, as JSON."""
    from chaos.report.rerun import rerun_command

    # the claims are the suite's (or the run's stored ones), not a file ``run --claims`` could read back
    commands = [rerun_command({k: v for k, v in t.view.parameters.items() if k not in ("claims", "claims_file")})[0]
                for t in ev.tests]
    if ev.suite_file:
        commands.insert(0, f"chaoscert suite run {ev.suite_file}")
    return {
        "certificate": ev.name, "kind": "suite" if ev.suite_file else "run",
        "claims": ev.claims.to_mapping(),
        "verdicts": [v.to_json() for v in verdicts],
        "faults": [r.to_json() for r in ev.records],
        "assumptions": {"fault-model-per-year": ev.claims.fault_model, "tests": [_schedule(t) for t in ev.tests],
                        "versions": _versions(), "machine": _machine()},
        "not-tested": _untested(ev),
        "reproduce": commands,
        "sha256": {str(f.relative_to(ev.root)): _sha256(f) for f in ev.files},
    }


def write_certificate(path: Path, *, pdf: bool = False) -> tuple[list[Path], str]:
    """Write certificate.json and certificate.html (and certificate.pdf) into ``path``; returns the files
    and the overall verdict. CertificateError on unreadable input; BrowserError when the PDF fails."""
    from chaos.certificate.html import certificate_html

    path = Path(path)
    try:
        ev = load_evidence(path)
    except HistoryFormatError as e:
        raise CertificateError(str(e)) from None
    data = certificate_data(ev, judge(ev))
    out = [path / CERTIFICATE_JSON, path / CERTIFICATE_HTML]
    out[0].write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    out[1].write_text(certificate_html(ev, data), encoding="utf-8")
    if pdf:
        from chaos.report.browser import print_pdf

        out.append(print_pdf(out[1], path / CERTIFICATE_PDF))
    return out, merge_verdicts(v["verdict"] for v in data["verdicts"])


def verify_certificate(path: Path) -> list[str]:
    """What does not hold in ``path``'s certificate (empty: every hash matches and every verdict is
    recomputed the same from the stored histories). CertificateError when there is no certificate."""
    path = Path(path)
    try:
        stored = json.loads((path / CERTIFICATE_JSON).read_text(encoding="utf-8"))
        hashes, verdicts = dict(stored["sha256"]), list(stored["verdicts"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CertificateError(f"{path / CERTIFICATE_JSON}: cannot read the certificate: {e}") from None
    problems = []
    for name, digest in hashes.items():
        file = path / name
        if not file.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(file) != digest:
            problems.append(f"{name}: SHA-256 differs from the certificate's")
    try:
        recomputed = json.loads(json.dumps([v.to_json() for v in judge(load_evidence(path))], default=str))
    except (CertificateError, HistoryFormatError) as e:
        return [*problems, f"cannot recompute the verdicts: {e}"]
    before = {v.get("claim"): v for v in verdicts}
    for v in recomputed:
        old = before.pop(v["claim"], None)
        if old is None:
            problems.append(f"{v['claim']}: not in the certificate")
        elif (old.get("verdict"), old.get("measured")) != (v["verdict"], v["measured"]):
            problems.append(f"{v['claim']}: the certificate says {old.get('verdict')} ({old.get('measured')}), "
                            f"the histories give {v['verdict']} ({v['measured']})")
        elif old != v:
            keys = sorted(k for k in {*v, *old} if old.get(k) != v.get(k))
            made = stored.get("assumptions", {}).get("versions", {}).get("chaoscert")
            problems.append(f"{v['claim']}: same verdict, different {', '.join(keys)} when recomputed "
                            f"(the certificate was made by chaoscert {made})")
    problems += [f"{claim}: in the certificate, not among the claims" for claim in before]
    return problems
