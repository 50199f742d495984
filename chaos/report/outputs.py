"""Everything a run folder shows, rebuilt from what is on disk (history.jsonl + results.json).

``write_run_outputs(run_dir)`` is the one call the runner makes at the end of a run, and what
``chaoscert report`` does: history.edn, report.html, timeline.html, summary.md, junit.xml, plots/,
and the ``latest`` links, each written from one :class:`~chaos.report.view.RunView`.
"""

from __future__ import annotations

from pathlib import Path

from chaos.report.store import StoreError, link_latest
from chaos.report.view import load_view
from checkers.formats import write_history

__all__ = ["write_run_outputs"]


def write_run_outputs(run_dir: Path, *, link: bool = True) -> list[Path]:
    """Write every derived file of a run folder from its history and results.json; returns them."""
    from chaos.report import ci, html, plots, timeline

    view = load_view(run_dir)
    run = view.run
    written: list[Path] = []
    if view.history is not None:
        write_history(view.history, run.history_edn)
        written.append(run.history_edn)
    images = plots.write_plots(view, run.plots) if view.history is not None else {}
    written.extend(images.values())
    for path, text in ((run.report, html.report_html(view, images)),
                       (run.timeline, timeline.timeline_html(view)),
                       (run.summary, ci.summary_md(view)),
                       (run.junit, ci.junit_xml(view))):
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if link:
        try:
            link_latest(run)
        except OSError as e:
            raise StoreError(f"{run.path}: cannot update the latest links: {e}") from None
    return written
