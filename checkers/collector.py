"""Reading and checking a history make millions of small containers and almost no reference cycles;
the cyclic garbage collector would only rescan them, again and again (a third of the time of a
100k-txn list-append check). Both run with it paused; anything cyclic is collected after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, unless the caller had already."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
