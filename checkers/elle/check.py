"""The Elle check: analyse, build the graph, search each SCC, and derive Elle's result map.

Result keys follow Elle: ``valid?`` (false when a prohibited anomaly is present; unknown when
only ``empty-transaction-graph`` or ``cycle-search-timeout`` is), ``anomaly-types``,
``anomalies``, ``not`` and ``also-not`` (from every anomaly found, reportable or not).
Each SCC also yields Elle's ``<model>-cycle-exists`` cases (no search needed), and a timed-out
search adds some cycle of the SCC, so an SCC never passes as valid when its cycle is forbidden.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from checkers.elle import models
from checkers.elle.analysis import Analysis, Explainer
from checkers.elle.cycle_exists import cycle_exists, fallback_cycle, impossible_cycle_anomalies
from checkers.elle.cycles import CATALOGUE, Cycle, search_scc
from checkers.elle.graph import build_graph
from checkers.elle.txns import PROCESS, REALTIME, Txns, UnexpectedMop, txns_of
from checkers.history import History
from checkers.registry import CheckOptions
from checkers.result import Result, unknown

__all__ = ["check", "explain_cycle", "render_cycle", "result_map"]


def _extra_edges(reportable: set[str]) -> str | None:
    """Realtime edges when a realtime anomaly matters, else process edges when a process one does."""
    if any(a.endswith("-realtime") for a in reportable):
        return "realtime"
    if any(a.endswith("-process") for a in reportable):
        return "process"
    return None


def explain_cycle(txns: Txns, explainer: Explainer, cycle: Cycle) -> dict[str, Any]:
    """A cycle as data: its type, the txns (op maps), and one explained step per edge."""
    steps = []
    for a, b, kind in cycle.steps:
        if kind == PROCESS:
            step = {"type": "process", "process": txns.process[a]}
        elif kind == REALTIME:
            step = {"type": "realtime", "completed": int(txns.completed[a]), "invoked": int(txns.invoked[b])}
        else:
            step = explainer.explain(a, b, kind)
        steps.append({"from": txns.ops[a].index, "to": txns.ops[b].index, **step})
    return {"type": cycle.type, "cycle": [txns.ops[a].to_dict() for a, _, _ in cycle.steps], "steps": steps}


def render_cycle(explained: dict[str, Any], explainer: Explainer) -> str:
    """Elle's prose: "Let T1 = ..., Then: T1 < T2, because ...; However, T2 < T1 ...: a contradiction!"."""
    names = {op["index"]: f"T{i + 1}" for i, op in enumerate(explained["cycle"])}
    lines = ["Let:"] + [f"  {names[op['index']]} = {op}" for op in explained["cycle"]] + ["", "Then:"]
    steps = explained["steps"]
    for i, step in enumerate(steps):
        a, b = names[step["from"]], names[step["to"]]
        if step["type"] == "process":
            why = f"process {step['process']} executed {a} before {b}"
        elif step["type"] == "realtime":
            why = f"{a} completed (op {step['completed']}) before {b} was invoked (op {step['invoked']})"
        else:
            why = explainer.render(a, b, step)
        last = i == len(steps) - 1
        lead = "  - However, " if last and i else "  - "
        lines.append(f"{lead}{a} < {b}, because {why}{': a contradiction!' if last else '.'}")
    return "\n".join(lines)


def result_map(anomalies: dict[str, Any], consistency_models: tuple[str, ...], wanted: tuple[str, ...]) -> dict:
    """Elle's ``result-map``: verdict, reportable anomaly types, and the model boundary."""
    prohibited = models.prohibited_anomaly_types(consistency_models, wanted)
    reportable = {k: v for k, v in anomalies.items() if k in prohibited or k in models.UNKNOWN_ANOMALY_TYPES}
    reportable = _without_redundant_cycle_exists(reportable)
    if not reportable:
        return {"valid?": True}
    bad = any(k in prohibited for k in reportable)
    return {"valid?": False if bad else "unknown", "anomaly-types": sorted(reportable),
            "anomalies": reportable, **models.boundary(anomalies)}


def _without_redundant_cycle_exists(anomalies: dict[str, Any]) -> dict[str, Any]:
    """Drop ``<model>-cycle-exists`` when other anomalies already rule ``model`` out (Elle's fallback only)."""
    other = [k for k in anomalies if not k.endswith(_EXISTS)]
    ruled_out = models.anomalies_to_impossible_models(other)
    return {k: v for k, v in anomalies.items() if not (k.endswith(_EXISTS) and k.removesuffix(_EXISTS) in ruled_out)}


_EXISTS = "-cycle-exists"
_CYCLE_TYPES = {s.name for s in CATALOGUE}


def check(history: History, options: CheckOptions, functions: frozenset[str],
          analyze: Callable[[Txns, CheckOptions], Analysis]) -> Result:
    """Run an Elle-style check of a transactional history with one workload's analysis."""
    try:
        models.validate_models(options.consistency_models)
        txns = txns_of(history, functions)
        analysis = analyze(txns, options)
    except UnexpectedMop as e:
        return unknown(str(e), **{"anomaly-types": ["unexpected-txn-micro-op-types"]})
    except ValueError as e:
        return unknown(str(e))
    anomalies: dict[str, Any] = dict(analysis.anomalies)
    reportable = models.reportable_anomaly_types(options.consistency_models, options.anomalies)
    graph = build_graph(len(txns), analysis.edges, txns, analysis.members, _extra_edges(reportable))
    if not (graph.kind != REALTIME).any():  # realtime edges alone only enter the completion chain
        anomalies["empty-transaction-graph"] = True
    explained: dict[str, list[dict[str, Any]]] = {}
    for nodes, (src, dst, kind) in graph.scc_edges():
        exists = cycle_exists(graph.n, graph.nodes, src, dst, kind)
        for case in exists:
            anomalies.setdefault(case["type"], []).append(
                {**case, "scc": sorted(txns.ops[t].index for t in case["scc"])})
        found = search_scc(graph.n, src, dst, kind, options.cycle_search_timeout_ms / 1000,
                           impossible_cycle_anomalies(exists, _CYCLE_TYPES))
        cycles = found.cycles
        if found.timed_out is not None:
            anomalies.setdefault("cycle-search-timeout", []).append(
                {"anomaly-spec-type": found.timed_out, "scc-size": int((nodes < graph.n).sum())})
            cycles = [*cycles, fallback_cycle(graph.n, src, dst, kind)]
        for cycle in cycles:
            explained.setdefault(cycle.type, []).append(explain_cycle(txns, analysis.explainer, cycle))
    anomalies.update(explained)
    details = result_map(anomalies, options.consistency_models, options.anomalies)
    if options.directory is not None and "anomalies" in details:
        _write_explanations(Path(options.directory), details["anomalies"], analysis.explainer)
    valid = details["valid?"]
    cause = None if valid != "unknown" else "only " + ", ".join(details["anomaly-types"]) + " found"
    checked = {"consistency-models": list(options.consistency_models)}  # what a valid verdict vouches for
    return Result(valid, {**checked, **{k: v for k, v in details.items() if k != "valid?"}}, cause)


def _write_explanations(directory: Path, anomalies: dict[str, Any], explainer: Explainer) -> None:
    """One text file per anomaly type, Elle-style (``G-single-item.txt``); cycles rendered as prose."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, cases in anomalies.items():
        if not isinstance(cases, list):
            continue
        parts = [render_cycle(c, explainer) if "steps" in c else repr(c) for c in cases]
        (directory / f"{name}.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")

