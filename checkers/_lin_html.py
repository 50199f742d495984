"""A linearizability check as one self-contained HTML file (inline SVG and CSS, no scripts, no network).

One lane per process; each op is a bar from invocation to completion (crashed ops run to the end,
faded). Ops in the order found carry their position in it (``#3``) and, on hover, the model state
after them. The op that cannot be linearized is red. Nemesis faults are grey bands behind the lanes.
The x axis is the op's position in the history, which is its real-time order.
"""

from __future__ import annotations

import html
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checkers.history import History
from checkers.models import Choice, Model, show

if TYPE_CHECKING:
    from checkers.linearizable import Call, Outcome

__all__ = ["render_html", "write_html"]

_LANE, _BAR, _LEFT, _WIDTH = 28, 16, 110, 1200


def write_html(path: Path, history: History, model: Model, outcomes: dict[Hashable, Outcome],
               parts: dict[Hashable, list[Call]]) -> None:
    Path(path).write_text(render_html(history, model, outcomes, parts), encoding="utf-8")


def _shown(outcomes: dict[Hashable, Outcome]) -> tuple[Hashable, Outcome] | None:
    for key, o in outcomes.items():
        if o.valid is False:
            return key, o
    return next(iter(outcomes.items()), None)


def render_html(history: History, model: Model, outcomes: dict[Hashable, Outcome],
                parts: dict[Hashable, list[Call]]) -> str:
    """The page for the first failing key (or the first key when every key is fine); ``parts`` are the
    calls by key the search was given."""
    shown = _shown(outcomes)
    key, outcome = shown if shown is not None else (None, None)
    calls = parts.get(key, []) if shown is not None else []
    failure = outcome.failure if outcome is not None else None
    order = list(failure.linearized if failure else (outcome.linearization if outcome else ()))
    rank = {c.index: n for n, c in enumerate(order, 1)}
    after: dict[int, str] = {}
    state = model.init()
    for c in order:
        nxt = model.step(state, c)
        state = nxt[0] if isinstance(nxt, Choice) else nxt
        after[c.index] = model.describe(state)
    total = max(len(history.ops), 1)
    processes = sorted({c.process for c in calls}, key=repr)
    lane_of = {p: i for i, p in enumerate(processes)}
    height = _LANE * (len(processes) + 1) + 20

    def x(pos: float) -> float:
        return _LEFT + (_WIDTH - _LEFT - 10) * pos / total

    parts: list[str] = []
    for start, end, label in _faults(history):
        parts.append(f'<rect class="fault" x="{x(start):.1f}" y="0" width="{max(x(end) - x(start), 2):.1f}" '
                     f'height="{height}"><title>{html.escape(label)}</title></rect>')
    for p, i in lane_of.items():
        parts.append(f'<text class="lane" x="4" y="{_LANE * (i + 1) + 4}">process {html.escape(str(p))}</text>')
    failing = failure.op.index if failure else None
    for c in calls:
        y = _LANE * (lane_of[c.process] + 1) - _BAR / 2
        end = c.ret if c.ret is not None else total
        crashed = " crashed" if c.ret is None else ""
        cls = "fail" if c.index == failing else ("lin" if c.index in rank else "op") + crashed
        label = f"{c.f} {show(c.value)}" if c.value is not None else str(c.f)
        tip = f"op {c.index} ({c.type}): {label}"
        if c.index in rank:
            tip += f"\nlinearized #{rank[c.index]}; state after: {after[c.index]}"
        if c.index == failing and failure is not None:
            tip += "\ncannot be linearized: " + "; ".join(failure.reasons or ("dead end further on",))
        w = max(x(end) - x(c.call), 3)
        parts.append(f'<g class="{cls}"><rect x="{x(c.call):.1f}" y="{y:.1f}" width="{w:.1f}" height="{_BAR}" rx="3"/>'
                     f'<text x="{x(c.call) + 2:.1f}" y="{y + 12:.1f}">'
                     f'{html.escape(label[:24])}{" #" + str(rank[c.index]) if c.index in rank else ""}</text>'
                     f'<title>{html.escape(tip)}</title></g>')
    verdict = {True: "linearizable", False: "NOT linearizable"}.get(outcome.valid, "unknown") if outcome else "empty"  # type: ignore[call-overload]
    heading = f"{model.name}{f' key {key!r}' if key is not None else ''}: {verdict}"
    text = failure.explanation if failure else (f"cause: {outcome.cause}" if outcome and outcome.cause else "")
    return _PAGE.format(title=html.escape(heading), explanation=html.escape(text), width=_WIDTH, height=height,
                        body="\n".join(parts))


def _faults(history: History) -> list[tuple[int, int, str]]:
    """(start, end, label) of each nemesis op, by position; one still open runs to the end."""
    bands: list[tuple[int, int, str]] = []
    pairs = history.pairs(client=False)
    for pair, start, completed in zip(pairs, *history.pair_positions(pairs), strict=True):
        end = completed if completed is not None else len(history.ops)
        label: Any = f"{pair.process}: {pair.f} {pair.invoke.value if pair.invoke.value is not None else ''}"
        bands.append((start, max(end, start + 1), str(label)))
    return bands


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 13px sans-serif; margin: 16px; }}
svg text {{ font: 11px monospace; pointer-events: none; }}
.op rect {{ fill: #9ecae1; }} .lin rect {{ fill: #74c476; }} .fail rect {{ fill: #e34a33; }}
.crashed rect {{ fill-opacity: .45; stroke: #555; stroke-dasharray: 3 2; }}
.fault {{ fill: #bbb; fill-opacity: .35; }}
.lane {{ font-weight: bold; }}
</style></head><body>
<h2>{title}</h2><p>{explanation}</p>
<p>Green: in the order found (#n, hover for the state after it). Red: cannot be linearized. Blue: not reached.
Dashed: crashed (may or may not have happened). Grey bands: faults.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">
{body}
</svg></body></html>
"""
