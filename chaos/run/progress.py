"""The live progress line while clients run (only when stdout is a terminal)::

    12.4 / 60 s   1,930 ops/s   ok 21,004  fail 311  info 2   nemesis: kill ['n1']
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from rich.console import Console
from rich.live import Live
from rich.text import Text

from chaos.run.recorder import Recorder

__all__ = ["progress_line", "render"]


def render(elapsed_s: float, limit_s: float, rate: float, counts: dict[str, int], fault: str | None) -> str:
    return (f"{elapsed_s:5.1f} / {limit_s:g} s   {rate:,.0f} ops/s   ok {counts.get('ok', 0):,}  "
            f"fail {counts.get('fail', 0):,}  info {counts.get('info', 0):,}   nemesis: {fault or '-'}")


@contextlib.contextmanager
def progress_line(recorder: Recorder, limit_s: float) -> Iterator[None]:
    if not sys.stdout.isatty():
        yield
        return
    started = time.monotonic()
    last = [started, 0]  # time and completions at the previous refresh

    def line() -> Text:
        now, done = time.monotonic(), sum(recorder.completions.values())
        rate = (done - last[1]) / max(now - last[0], 1e-9)
        last[:] = [now, done]
        return Text(render(now - started, limit_s, rate, dict(recorder.completions), recorder.last_fault))

    with Live(get_renderable=line, console=Console(stderr=True), refresh_per_second=2, transient=True):
        yield
