"""timeline.html: every operation as a bar from invocation to completion, one row per process.

As Jepsen's timeline, but drawn on one canvas from inline JSON (``timeline.html.js``), so 100k
operations stay fast: the page holds compact arrays ``[lane, start s, end s (-1: never), type, f,
value]`` and draws only what is in view. Rows are the client processes in order, the nemesis last;
the nemesis's ops have a colour of their own (their completions are ``info`` by convention, which
for them says nothing about "may have happened"). Time 0 is the history's first op, as in
report.html; fault periods are shaded. No network is needed.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.report.view import RunView

__all__ = ["timeline_data", "timeline_html"]

SCRIPT = (Path(__file__).with_name("timeline.html.js")).read_text(encoding="utf-8")
TYPES = {"ok": 0, "fail": 1, "info": 2}
NEMESIS_TYPE = 3
VALUE_CHARS = 120
NS = 1e9


def _index(table: dict[str, int], key: str) -> int:
    return table.setdefault(key, len(table))


def _lane_order(process: object) -> tuple[bool, int, str]:
    """Client processes by number, then the others (the nemesis) by name."""
    return (not isinstance(process, int), process if isinstance(process, int) else 0, str(process))


def timeline_data(view: RunView) -> dict[str, Any]:
    """The compact arrays the page draws (client processes in order, then the nemesis)."""
    if view.history is None or not len(view.history):
        return {"lanes": [], "ops": [], "fs": [], "values": [], "faults": [], "end": 0, "longest": 0}
    t0 = min(op.time for op in view.history.ops)
    end = (max(op.time for op in view.history.ops) - t0) / NS
    processes = sorted({op.process for op in view.history.ops}, key=_lane_order)
    lanes = {str(p): i for i, p in enumerate(processes)}
    fs: dict[str, int] = {}
    values: dict[str, int] = {}
    ops = []
    longest = 0.0
    for p in sorted(view.history.pairs(client=None), key=lambda p: p.invoke.time):
        start = (p.invoke.time - t0) / NS
        stop = (p.complete.time - t0) / NS if p.complete is not None else -1
        longest = max(longest, (stop if stop >= 0 else end) - start)
        done = p.complete if p.complete is not None else p.invoke
        value = json.dumps(p.value, default=str) + (f"  error: {done.error}" if done.error is not None else "")
        kind = TYPES.get(p.type, 2) if isinstance(p.process, int) else NEMESIS_TYPE
        ops.append([lanes[str(p.process)], round(start, 6), round(stop, 6) if stop >= 0 else -1,
                    kind, _index(fs, str(p.f)), _index(values, value[:VALUE_CHARS])])
    faults = [[(f.start_ns - t0) / NS, -1 if f.end_ns is None else (f.end_ns - t0) / NS]
              for f in (view.figures.faults if view.figures else [])]
    return {"lanes": list(lanes), "ops": ops, "fs": list(fs), "values": list(values), "faults": faults,
            "end": end, "longest": longest}


def timeline_html(view: RunView) -> str:
    data = json.dumps(timeline_data(view), separators=(",", ":")).replace("<", "\\u003c")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>timeline: {escape(view.title)}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:12px}#wrap{width:100%;overflow-y:auto}"
            "#tip{position:absolute;display:none;background:#fff;border:1px solid #999;padding:4px 6px;"
            "font:12px monospace;white-space:pre-wrap;max-width:600px;pointer-events:none}"
            ".k{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px}</style></head><body>"
            f"<h1 style=\"font-size:18px\">Timeline: {escape(view.title)}</h1><p>"
            '<span class="k" style="background:#2e9d3e"></span>ok<span class="k" style="background:#d62728"></span>'
            'fail<span class="k" style="background:#f0a020"></span>info (may have happened)'
            '<span class="k" style="background:#6a51a3"></span>nemesis op'
            '<span class="k" style="background:rgba(148,103,189,0.3)"></span>fault in effect. '
            'Time from the first operation. Wheel: zoom; drag: pan. '
            '<button id="reset">reset view</button> <a href="report.html">report</a></p>'
            '<div id="wrap"><canvas id="tl"></canvas></div><div id="tip"></div>'
            f'<script id="data" type="application/json">{data}</script><script>{SCRIPT}</script></body></html>\n')
