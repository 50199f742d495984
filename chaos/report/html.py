"""report.html: one self-contained page (inline CSS, plots as base64 PNG, no network) per run.

Top to bottom: the overall verdict (and a banner when the run was interrupted or failed), the claims
and checkers with coloured verdicts, the SLA figures (availability, downtime windows, RTO per fault,
data loss, latency quantiles), the plots with fault periods shaded, each checker's full result with
its explanation, and the parameters with the command that reruns the test. Every string from the
run goes through ``html.escape``; parameters are scrubbed of secrets before they get here.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from chaos.report.rerun import rerun_command
from chaos.report.store import LOG_GZIP_BYTES
from chaos.report.units import duration, measured, millis, percent, seconds, size_words
from chaos.report.view import FAIL, PASS, UNKNOWN, RunView
from checkers.sla import SlaFigures

__all__ = ["STATUS_COLOURS", "STYLE", "badge", "report_html"]

# Solid, distinctive colours: tests look for them in screenshots.
STATUS_COLOURS = {PASS: "#1e8e3e", FAIL: "#d93025", UNKNOWN: "#e8a200"}
STATUS_WORDS = {PASS: "PASSED", FAIL: "FAILED", UNKNOWN: "UNKNOWN"}
DETAIL_LIMIT = 40_000
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0 auto;max-width:1100px;
 padding:16px 24px;color:#202124;line-height:1.4}
h1{font-size:22px;margin:8px 0} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px} th,td{border:1px solid #ddd;padding:3px 8px;
 text-align:left;vertical-align:top} th{background:#f4f4f4}
.badge{display:inline-block;color:#fff;font-weight:700;padding:2px 8px;border-radius:3px;white-space:nowrap}
.banner{color:#fff;font-size:20px;font-weight:700;padding:12px 16px;border-radius:4px;margin:8px 0}
.warn{background:#fff4e5;border:2px solid #e8a200;padding:10px 14px;font-weight:700;margin:8px 0}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:8px;font-size:12px;overflow:auto;max-height:480px;
 white-space:pre-wrap;word-break:break-word}
img{max-width:100%;display:block;margin:6px 0 14px} .muted{color:#666} code{background:#f1f1f1;padding:0 3px}
@media print{pre{max-height:none} .banner,.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def badge(status: str, text: str) -> str:
    return f'<span class="badge" style="background:{STATUS_COLOURS[status]}">{escape(text)}</span>'


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """A table; cells are HTML already (escape text before passing it)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _text(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.6g}"
    return escape(x if isinstance(x, str) else json.dumps(x, default=str))


def _items_html(view: RunView) -> str:
    parts = []
    claims = [i for i in view.items if i.kind == "claim"]
    if claims:
        rows = [[escape(str(i.detail.get("claim"))), _text(i.detail.get("claimed")),
                 escape(measured(str(i.detail.get("claim")), i.detail.get("measured"))),
                 badge(i.status, i.verdict), escape(i.message)] for i in claims]
        parts.append("<h2>SLA claims</h2>" + _table(["claim", "claimed", "measured", "verdict", "why"], rows))
    else:
        parts.append('<h2>SLA claims</h2><p class="muted">No claims were judged for this run. Judge some with '
                     f"<code>chaoscert analyze {escape(str(view.run.path))} --claims CLAIMS.toml</code>.</p>")
    checkers = [i for i in view.items if i.kind != "claim"]
    rows = [[escape(i.name), badge(i.status, i.verdict), escape(i.message)] for i in checkers]
    parts.append("<h2>Checkers</h2>" + (_table(["checker", "valid?", "note"], rows) if rows
                                        else '<p class="muted">No checker results.</p>'))
    return "".join(parts)


def _availability(fig: SlaFigures) -> str:
    rows = [["clients' time answered (the claim's figure)", percent(fig.time_availability),
             f"{fig.down_ns / 1e9:.3f} s down of {fig.observed_ns / 1e9:.1f} s, {len(fig.clients)} clients"],
            ["requests answered (ok, refused or aborted)", percent(fig.answered.ratio),
             f"{fig.answered.ok} / {fig.answered.n} ({fig.aborts.ok} refused or aborted)"],
            ["all operations ok", percent(fig.availability.ratio), f"{fig.availability.ok} / {fig.availability.n}"],
            ["during faults", percent(fig.during_faults.ratio), f"{fig.during_faults.ok} / {fig.during_faults.n}"],
            ["outside faults", percent(fig.outside_faults.ratio), f"{fig.outside_faults.ok} / {fig.outside_faults.n}"]]
    rows += [[f"f = {escape(k)}", percent(v.ratio), f"{v.ok} / {v.n}"] for k, v in fig.by_f.items()]
    rows += [[f"node {escape(k)}", percent(v.ratio), f"{v.ok} / {v.n}"] for k, v in fig.by_node.items()]
    return "<h3>Availability</h3>" + _table(["operations", "availability", "ok / attempted"], rows)


def _downtimes(fig: SlaFigures) -> str:
    if not fig.downtimes:
        return '<h3>Downtime windows</h3><p class="muted">None of 1 s or more.</p>'
    rows = [[seconds(d.start_ns - fig.start_ns), seconds(d.end_ns - fig.start_ns), duration(d.length_ns),
             "yes" if d.recovered else "<b>no</b>", str(len(d.failed_indices)), escape(", ".join(d.faults) or "—")]
            for d in fig.downtimes]
    return "<h3>Downtime windows (1 s or more)</h3>" + _table(
        ["from", "to", "length", "recovered", "failed ops", "faults in effect"], rows)


def _recoveries(fig: SlaFigures) -> str:
    failed = [[escape(f.kind), _text(f.nodes), duration(f.start_ns - fig.start_ns), escape(f.injection_error or "")]
              for f in fig.faults if not f.injected]
    heal = [f"{escape(f.kind)}: {escape(f.heal_error)}" for f in fig.faults if f.heal_error]
    extra = ("<h3>Faults whose injection failed (not counted)</h3>"
             + _table(["fault", "nodes", "at", "error"], failed) if failed else "")
    extra += f"<p><b>Heal errors:</b> {'; '.join(heal)}</p>" if heal else ""
    if not fig.recoveries:
        return '<h3>Recovery time (RTO) per fault</h3><p class="muted">No injected fault.</p>' + extra
    rows = [[escape(r.fault.kind), _text(r.fault.nodes), duration(r.fault.start_ns - fig.start_ns),
             "never" if r.fault.end_ns is None else duration(r.fault.end_ns - fig.start_ns),
             escape(", ".join(map(str, r.affected)) or "none") if r.observed else "no request",
             duration(r.first_answer_ns), "<b>not all answered</b>" if r.rto_ns is None else duration(r.rto_ns),
             duration(r.heal_to_recovery_ns), duration(r.tool_delay_ns)]
            for r in fig.recoveries]
    return "<h3>Recovery time (RTO) per fault</h3>" + _table(
        ["fault", "nodes", "start", "healed", "clients affected", "first answer", "RTO (all affected answered)",
         "heal to recovery", "of it, the tool's restart delay"], rows) + extra


def _data_loss(view: RunView) -> str:
    rows = []
    for name, r in (view.results.get("checkers") or {}).items():
        if "lost-count" in r:
            rows.append([escape(name), "acknowledged elements lost", _text(r["lost-count"])])
        for node, lost in (r.get("lost-by-node") or {}).items():
            rows.append([escape(name), escape(f"acknowledged elements missing from {node}'s final read"),
                         _text(len(lost))])
        if r.get("divergent"):
            rows.append([escape(name), "elements on some nodes but not all (divergent final reads)",
                         _text(r.get("divergent-count"))])
        if name == "bank" and isinstance(r.get("errors"), dict):
            for kind, e in r["errors"].items():
                rows.append([escape(name), escape(f"reads with {kind}"), _text(e.get("count"))])
    bank = (view.results.get("figures") or {}).get("bank") or {}
    for key in ("money-delta", "transfers-acknowledged-missing", "transfers-failed-but-committed-count"):
        if key in bank:
            rows.append(["runner", escape(key), _text(bank[key])])
    for i in view.items:
        if i.kind == "claim" and i.detail.get("claim") == "data_loss":
            rows.append(["claim data_loss", escape(i.message), _text(i.detail.get("measured"))])
    body = _table(["source", "figure", "value"], rows) if rows else \
        '<p class="muted">No data-loss figure: no set, set-full or bank checker ran on this history.</p>'
    return "<h3>Data loss</h3>" + body


def _latency(fig: SlaFigures) -> str:
    def row(name: str, q: dict[float, int] | None) -> list[str]:
        return [name, *(millis(q.get(p)) if q else "—" for p in (0.5, 0.95, 0.99, 0.999, 1))]

    lower = f" ({fig.latency_censored} timed out: at least their latency)" if fig.latency_censored else ""
    rows = [row(f"every request{lower}", fig.latency_ns), row("invoked during faults", fig.latency_during_faults_ns)]
    if fig.staleness_ns:
        rows.append(row("staleness (set-full)", fig.staleness_ns))
    return "<h3>Latency quantiles</h3>" + _table(["", "p50", "p95", "p99", "p99.9", "max"], rows)


def _figures_html(view: RunView) -> str:
    if view.figures is None:
        return f'<h2>Figures</h2><p class="muted">{escape(view.history_problem or "empty history")}</p>'
    fig = view.figures
    return ("<h2>Figures</h2>" + _availability(fig) + _downtimes(fig) + _recoveries(fig) + _data_loss(view)
            + _latency(fig))


def _plots_html(images: dict[str, Path]) -> str:
    if not images:
        return ""
    parts = ["<h2>Plots</h2><p class=\"muted\">Shaded bands: fault periods (from the nemesis's start to its "
             "heal).</p>"]
    for name, path in images.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f'<img alt="{escape(name)}" src="data:image/png;base64,{data}">')
    return "".join(parts)


def _explanation(result: dict[str, Any]) -> str:
    """Text fields first (cause, explanations), then the whole result as JSON."""
    texts = [(k, v) for k, v in result.items() if isinstance(v, str) and k != "valid?" and len(v) > 20]
    head = "".join(f"<p><b>{escape(k)}</b>: {escape(v)}</p>" for k, v in texts)
    dump = json.dumps(result, indent=1, default=str)
    if len(dump) > DETAIL_LIMIT:
        dump = dump[:DETAIL_LIMIT] + f"\n... ({len(dump) - DETAIL_LIMIT} more characters in results.json)"
    return head + f"<pre>{escape(dump)}</pre>"


def _checkers_html(view: RunView) -> str:
    parts = ["<h2>Checker results</h2>"]
    for i in view.items:
        if i.kind == "checker":
            parts.append(f"<h3>{escape(i.name)} {badge(i.status, i.verdict)}</h3>{_explanation(i.detail)}")
    return "".join(parts) if len(parts) > 1 else ""


def _parameters_html(view: RunView) -> str:
    p = view.parameters
    rows = [[escape(str(k)), _text(v)] for k, v in p.items()]
    parts = ["<h2>Parameters</h2>", _table(["parameter", "value"], rows) if rows
             else '<p class="muted">No parameters recorded (a history checked on its own).</p>']
    if p.get("db") or p.get("workload"):
        command, others = rerun_command(p)
        fixed = f" (not options of <code>run</code>: {escape(', '.join(others))})" if others else ""
        parts.append(f"<p>Rerun with: <code>{escape(command)}</code>{fixed}</p>")
    runner = view.results.get("figures")
    if runner:
        parts.append(f"<h3>Runner figures</h3><pre>{escape(json.dumps(runner, indent=1, default=str))}</pre>")
    if view.history is not None:
        stats = view.history.stats()
        parts.append(f"<p class=\"muted\">History: {stats['ops']} ops ({stats['client-ops']} client, "
                     f"{stats['nemesis-ops']} fault), {stats['processes']} processes, "
                     f"{stats['time-span-ns'] / 1e9:.3f} s.</p>")
    files = ["timeline.html", "history.jsonl", "history.edn", "results.json", "summary.md", "junit.xml", "run.log",
             "logs/"]
    parts.append("<p>Files next to this report: " + ", ".join(
        f'<a href="{f}">{f}</a>' for f in files if (view.run.path / f).exists()) + "</p>")
    return "".join(parts) + _logs_html(view)


def _logs_html(view: RunView) -> str:
    """The node logs: how many, how big, and which are compressed."""
    logs = view.run.log_files()
    if not logs:
        return ""
    packed = [name for name, _ in logs if name.endswith(".gz")]
    note = (f"; {len(packed)} over {LOG_GZIP_BYTES // 1024} KiB {'was' if len(packed) == 1 else 'were'} "
            "gzip-compressed when collected "
            "(read them with <code>zless</code>)" if packed else "")
    rows = [[f'<a href="logs/{escape(name)}">{escape(name)}</a>', size_words(size)] for name, size in logs]
    return (f"<h3>Node logs</h3><p>{len(logs)} files, {size_words(sum(s for _, s in logs))} on disk{note}.</p>"
            + _table(["file", "size"], rows))


def report_html(view: RunView, images: dict[str, Path]) -> str:
    """The whole report page."""
    status = view.status
    banners = [f'<div class="banner" style="background:{STATUS_COLOURS[status]}">{STATUS_WORDS[status]}: '
               f"{escape(_headline(view))}</div>"]
    if view.interrupted:
        banners.append('<div class="warn">This run was INTERRUPTED: the history is partial and the verdicts '
                       "cover only what was recorded.</div>")
    if view.results.get("error"):
        banners.append(f'<div class="warn">The run failed: {escape(str(view.results["error"]))}</div>')
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>chaoscert: {escape(view.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>chaoscert report: {escape(view.title)}</h1>" + "".join(banners)
            + _items_html(view) + _figures_html(view) + _plots_html(images) + _checkers_html(view)
            + _parameters_html(view) + "</body></html>\n")


def _headline(view: RunView) -> str:
    counts: dict[str, int] = {}
    for i in view.items:
        counts[i.status] = counts.get(i.status, 0) + 1
    words = {PASS: "passed", FAIL: "failed", UNKNOWN: "undecided"}
    what = ", ".join(f"{counts[s]} {words[s]}" for s in (FAIL, UNKNOWN, PASS) if s in counts)
    return what or "nothing was checked"

