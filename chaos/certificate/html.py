"""certificate.html: the certificate as one self-contained page (inline CSS, plots as base64 PNG).

Top to bottom: the overall verdict, the claims with verdicts, evidence and confidence, the assumptions,
the per-fault RTO plot and table, availability over time per test, what was not tested, the commands
that reproduce the runs, and the SHA-256 of every file it rests on with how to verify them.
"""

from __future__ import annotations

import base64
import json
import tempfile
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.report.html import STATUS_COLOURS, STYLE, badge
from chaos.report.plots import availability_plot, rto_plot
from chaos.report.view import FAIL, PASS, UNKNOWN
from chaos.sla.claims import merge_verdicts

if TYPE_CHECKING:
    from chaos.certificate.document import Evidence

__all__ = ["certificate_html"]

_STATUS = {"certified": PASS, "violated": FAIL, "inconclusive": UNKNOWN}
_HEADLINE = {PASS: "CERTIFIED: every claim holds on this evidence", FAIL: "VIOLATED: a claim does not hold",
             UNKNOWN: "INCONCLUSIVE: some claims are undecided on this evidence"}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _t(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, dict) and all(isinstance(v, float) for v in x.values()):
        return escape(", ".join(f"{k}: {v:.4g}" for k, v in x.items()))
    return escape(x if isinstance(x, str) else json.dumps(x, default=str))


def _img(path: Path, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def _claims(data: dict[str, Any]) -> str:
    rows = [[escape(v["claim"]), _t(v["claimed"]), badge(_STATUS[v["verdict"]], v["verdict"]), _t(v["measured"]),
             escape(v["reason"])] for v in data["verdicts"]]
    parts = ["<h2>Claims and verdicts</h2>", _table(["claim", "claimed", "verdict", "measured", "why"], rows)]
    c = data["claims"]
    parts.append(f'<p class="muted">Confidence {c["confidence"]:g} (one-sided, exact Clopper-Pearson for '
                 f'proportions); RTO judged on the share of faults recovered in time, which must reach '
                 f'{c["rto_quantile"]:g}, per fault kind.</p>')
    for v in data["verdicts"]:
        by_kind = v["evidence"].get("by-kind")
        if v["claim"] == "rto_seconds" and by_kind:
            rows = [[escape(k), badge(_STATUS[e["verdict"]], e["verdict"]), str(e["faults"]), str(e["within"]),
                     f'{e["lower-bound"]:.4f}', f'{e["upper-bound"]:.4f}', _t(e["faults-needed"]),
                     _t(e["observed-quantile-s"]), _t(e["worst-s"]), str(e["never-recovered"])]
                    for k, e in by_kind.items()]
            q = f'{c["rto_quantile"]:g}'
            parts.append("<h3>RTO by fault kind</h3>" + _table(
                ["kind", "verdict", "faults", "within the bound", f"share in time: lower bound ({q} needed)",
                 "upper bound", "faults it would take", f"observed {q} quantile (s)", "worst (s)",
                 "never recovered"], rows))
        if v["claim"] == "availability" and by_kind:
            rows = [[escape(k), _t(e["rate-per-year"]), str(e["faults"]), _t(e["mean-downtime-s"]),
                     _t(e["mean-downtime-upper-s"]), _t(e["ceiling-s"]), _t(e["downtime-per-year-upper-s"]),
                     str(e["censored"])] for k, e in by_kind.items()]
            ev = v["evidence"]
            parts.append("<h3>Projected availability</h3>" + _table(
                ["kind", "faults / year", "faults measured", "mean downtime (s)", "upper bound (s)",
                 "ceiling (s)", "downtime / year, upper (s)", "censored"], rows)
                + f'<p class="muted">Projection 1 − Σ rate × upper mean downtime / year = {_t(ev["projected-lower"])}'
                f' at {ev["confidence"]:g} (each kind at {ev["per-kind-confidence"]:.4g}, Bonferroni); from the '
                f'means {_t(ev["projected-point"])}. The upper bound of a mean is Anderson\'s, from the exact '
                f"one-sided Kolmogorov-Smirnov band: no assumption on the distribution's shape, valid at every "
                f"number of faults, for independent downtimes within the ceiling (the longest observation window: "
                f"a fault's downtime is measured up to the next fault).</p>")
    return "".join(parts)


def _assumptions(data: dict[str, Any]) -> str:
    a = data["assumptions"]
    model = a["fault-model-per-year"]
    parts = ["<h2>Assumptions</h2>"]
    if model:
        parts.append("<p>Fault model (faults per year in production): "
                     + ", ".join(f"<b>{escape(k)}</b> {v:g}" for k, v in model.items()) + ".</p>")
    else:
        parts.append("<p>No fault model: the availability claim is about the runs themselves.</p>")
    keys = ["db", "backend", "nodes", "db_options", "workload", "nemesis", "nemesis_interval", "nemesis_down",
            "time_limit", "history-seconds", "faults", "faults-per-hour", "clients", "concurrency", "rate",
            "op_timeout", "isolation", "seed", "client-ops", "run-started", "database-version", "run-problem"]
    rows = [[escape(k)] + [_t(t.get(k)) for t in a["tests"]] for k in keys]
    parts.append("<h3>Runs: topology, workload, concurrency, fault schedule</h3>"
                 + _table(["", *(t["test"] for t in a["tests"])], rows))
    env = {**a["versions"], **{f"machine {k}": v for k, v in a["machine"].items()}}
    parts.append("<h3>Versions and machine</h3>" + _table(["", "value"], [[escape(k), _t(v)] for k, v in env.items()])
                 + '<p class="muted">The database version is what its logs said during the run; the machine is the '
                 "one that made this certificate.</p>")
    return "".join(parts)


def _faults(data: dict[str, Any], folder: Path) -> str:
    bound = data["claims"].get("rto_seconds")
    points: dict[str, list[float | None]] = {}
    for f in data["faults"]:
        points.setdefault(f["kind"], []).append(f["rto-s"])
    parts = ["<h2>Recovery of every fault</h2>"]
    if points and bound is not None:
        parts.append(_img(rto_plot(points, float(bound), folder / "rto.png"), "RTO of every fault"))
    rows = [[escape(f["test"]), escape(f["kind"]), f'{f["start-s"]:.3f}', _t(f["nodes"]), _t(f["rto-s"]),
             f'{f["downtime-s"]:.3f}', f'{f["window-s"]:.3f}', "yes" if f["censored"] else ""] for f in data["faults"]]
    parts.append(f"<details><summary>Every fault ({len(rows)})</summary>"
                 + _table(["test", "kind", "start (s)", "nodes", "RTO (s)", "downtime (s)", "window (s)", "censored"],
                          rows) + "</details>")
    return "".join(parts)


def _availability(ev: Evidence, folder: Path) -> str:
    parts = ["<h2>Availability over time</h2><p class=\"muted\">Shaded bands: fault periods.</p>"]
    for i, t in enumerate(ev.tests):
        png = availability_plot(t.view, folder / f"availability-{i}.png", f"{t.name}: ok / attempted per second")
        parts.append(_img(png, f"availability of {t.name}"))
    return "".join(parts)


def _untested(data: dict[str, Any]) -> str:
    n = data["not-tested"]
    items = [f"Fault kinds never injected: {escape(', '.join(n['fault-kinds-not-injected']) or 'none')}."]
    if n["fault-model-kinds-not-injected"]:
        items.append("<b>In the fault model but never injected</b>: "
                     + escape(", ".join(n["fault-model-kinds-not-injected"])) + ".")
    for kind, nodes in n["nodes-never-targeted"].items():
        items.append(f"Nodes never targeted by {escape(kind)}: {escape(', '.join(nodes) or 'none')}.")
    items.append("Faults of one kind at a time, at the schedule's rate, on this machine: production load, "
                 "hardware, simultaneous faults of several kinds and faults between the tests' runs are not covered.")
    return "<h2>What was not tested</h2><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _reproduce(data: dict[str, Any]) -> str:
    cmds = "\n".join(data["reproduce"])
    hashes = _table(["file", "SHA-256"], [[f"<code>{escape(k)}</code>", f"<code>{v}</code>"]
                                          for k, v in data["sha256"].items()])
    return ("<h2>Reproduce</h2><p>The seed is in each command (and in the suite's file).</p>"
            f"<pre>{escape(cmds)}</pre><h2>Integrity</h2><p>The verdicts rest on these files. "
            "<code>chaoscert certificate --verify DIR</code> checks every hash and recomputes every verdict "
            "from the stored histories.</p>" + hashes)


def certificate_html(ev: Evidence, data: dict[str, Any]) -> str:
    """The whole certificate page."""
    status = _STATUS[merge_verdicts(v["verdict"] for v in data["verdicts"])]
    banner = f'<div class="banner" style="background:{STATUS_COLOURS[status]}">{_HEADLINE[status]}</div>'
    partial = [t["test"] for t in data["assumptions"]["tests"] if t.get("run-problem")]
    if partial:
        banner += (f'<div class="warn">Runs interrupted or failed: {escape(", ".join(partial))}: their histories are '
                   "partial and the verdicts cover only what was recorded.</div>")
    with tempfile.TemporaryDirectory(prefix="chaoscert-certificate-") as tmp:
        folder = Path(tmp)
        body = (_claims(data) + _assumptions(data) + _faults(data, folder) + _availability(ev, folder)
                + _untested(data) + _reproduce(data))
    title = f"SLA certificate: {data['certificate']}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{banner}{body}</body></html>\n")
