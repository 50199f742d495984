"""The report's plots, drawn with matplotlib (Agg) into PNG files, fault periods shaded on each.

- ``latency``: every client operation at its invocation time, its latency on a log scale, coloured by
  outcome (ok / fail / info; an operation that never completed is drawn at the top as info);
- ``latency-quantiles``: p50 / p95 / p99 / max of ok operations per time bucket;
- ``throughput``: completions per second by outcome;
- ``availability``: ok / attempted per second.

``rto_plot`` draws a certificate's per-fault recovery times against the claimed bound.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from chaos.report.view import RunView

__all__ = ["TYPE_COLOURS", "availability_plot", "rto_plot", "write_plots"]

TYPE_COLOURS = {"ok": "#2e9d3e", "fail": "#d62728", "info": "#f0a020"}
FAULT_COLOURS = ("#9467bd", "#8c564b", "#1f77b4", "#e377c2", "#7f7f7f")
NS = 1e9


def _shade_faults(ax: Axes, view: RunView, t0: int, end: float) -> None:
    if view.figures is None:
        return
    kinds: dict[str, str] = {}
    for fault in view.figures.faults:
        first = fault.kind not in kinds
        colour = kinds.setdefault(fault.kind, FAULT_COLOURS[len(kinds) % len(FAULT_COLOURS)])
        stop = end if fault.end_ns is None else (fault.end_ns - t0) / NS
        ax.axvspan((fault.start_ns - t0) / NS, stop, color=colour, alpha=0.15, lw=0,
                   label=f"fault: {fault.kind}" if first else None)


def _figure(view: RunView, title: str, ylabel: str) -> tuple[plt.Figure, Axes]:
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel("time since the run began (s)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: plt.Figure, ax: Axes, path: Path) -> Path:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def write_plots(view: RunView, folder: Path) -> dict[str, Path]:
    """Draw every plot of a run into ``folder``; returns name -> PNG path."""
    assert view.history is not None
    folder.mkdir(parents=True, exist_ok=True)
    pairs = view.history.pairs()
    times = [op.time for op in view.history.ops] or [0]
    t0, end = min(times), (max(times) - min(times)) / NS
    out: dict[str, Path] = {}

    fig, ax = _figure(view, "Latency of every operation", "latency (ms, log)")
    _shade_faults(ax, view, t0, end)
    lat = [(p.invoke.time, p.latency if p.latency is not None else None, p.type) for p in pairs]
    top = max((x for _, x, _ in lat if x), default=NS) * 1.5
    for kind, colour in TYPE_COLOURS.items():
        xs = [(t - t0) / NS for t, _, k in lat if k == kind]
        ys = [max(x if x is not None else top, 1000) / 1e6 for _, x, k in lat if k == kind]
        if xs:
            ax.scatter(xs, ys, s=4, c=colour, label=f"{kind} ({len(xs)})", linewidths=0, alpha=0.7, rasterized=True)
    ax.set_yscale("log")
    out["latency"] = _save(fig, ax, folder / "latency.png")

    fig, ax = _figure(view, "Latency quantiles of ok operations", "latency (ms, log)")
    _shade_faults(ax, view, t0, end)
    ok = np.array([((p.invoke.time - t0) / NS, p.latency / 1e6) for p in pairs
                   if p.type == "ok" and p.latency is not None]).reshape(-1, 2)
    if len(ok):
        width = max(end / 100, 0.1)
        buckets = np.floor(ok[:, 0] / width).astype(int)
        keys = np.arange(buckets.max() + 1)  # empty buckets are gaps in the lines, not interpolated
        for q, colour in ((0.5, "#1f77b4"), (0.95, "#ff7f0e"), (0.99, "#d62728"), (1.0, "#444444")):
            ys = [np.quantile(ok[buckets == b, 1], q) if (buckets == b).any() else np.nan for b in keys]
            ax.plot((keys + 0.5) * width, ys, lw=1.2, color=colour, label="max" if q == 1 else f"p{q * 100:g}")
        ax.set_yscale("log")
    out["latency-quantiles"] = _save(fig, ax, folder / "latency-quantiles.png")

    fig, ax = _figure(view, "Throughput", "operations / s")
    _shade_faults(ax, view, t0, end)
    seconds = int(end) + 1
    for kind, colour in TYPE_COLOURS.items():
        counts = np.zeros(seconds)
        for p in pairs:
            if p.type == kind:
                when = p.complete.time if p.complete is not None else p.invoke.time
                counts[min(int((when - t0) // NS), seconds - 1)] += 1
        if counts.any():
            ax.step(np.arange(seconds), counts, where="post", lw=1.2, color=colour, label=kind)
    out["throughput"] = _save(fig, ax, folder / "throughput.png")

    out["availability"] = availability_plot(view, folder / "availability.png")
    return out


def availability_plot(view: RunView, path: Path, title: str = "Availability per second (ok / attempted)") -> Path:
    """ok / attempted per second, fault periods shaded."""
    assert view.history is not None
    times = [op.time for op in view.history.ops] or [0]
    t0 = min(times)
    fig, ax = _figure(view, title, "availability")
    _shade_faults(ax, view, t0, (max(times) - t0) / NS)
    if view.figures is not None and view.figures.per_second:
        offset = (view.figures.start_ns - t0) / NS
        xs = [s + offset for s, _, _ in view.figures.per_second]
        ax.step(xs, [ok / n for _, ok, n in view.figures.per_second], where="post", color="#2e9d3e", lw=1.2,
                label="ok / attempted")
    ax.set_ylim(-0.05, 1.05)
    return _save(fig, ax, path)


def rto_plot(points: dict[str, list[float | None]], bound: float, path: Path) -> Path:
    """Every fault's recovery time (s) by kind, one point each in injection order; the claimed bound as a
    line; faults that never recovered drawn at the top as crosses."""
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    ax.set_title("Recovery time of every fault", fontsize=11, loc="left")
    ax.set_xlabel("fault (in injection order, by kind)")
    ax.set_ylabel("RTO (s)")
    ax.grid(True, alpha=0.3)
    done = [r for rtos in points.values() for r in rtos if r is not None]
    top = max([bound, *done]) * 1.15
    for i, (kind, rtos) in enumerate(points.items()):
        colour = FAULT_COLOURS[i % len(FAULT_COLOURS)]
        xs = [k for k, r in enumerate(rtos) if r is not None]
        ax.scatter(xs, [r for r in rtos if r is not None], s=14, color=colour, label=f"{kind} ({len(rtos)})")
        lost = [k for k, r in enumerate(rtos) if r is None]
        if lost:
            ax.scatter(lost, [top] * len(lost), marker="x", s=30, color="#d62728",
                       label=f"{kind}: never recovered ({len(lost)})")
    ax.axhline(bound, color="#d62728", lw=1.5, ls="--", label=f"claimed bound {bound:g} s")
    ax.set_ylim(0, top * 1.05)
    return _save(fig, ax, path)
