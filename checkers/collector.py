"""Reading and checking a history make millions of small containers and almost no reference cycles;
the cyclic garbage collector would only rescan them, again and again (a third of the time of a
100k-txn list-append check). Both run with it paused. What they made then joins the oldest
generation directly: enabled again, the collector would otherwise traverse it all at its next
allocation (0.3 s after reading 100k txns). Anything cyclic is collected by a later full collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, unless the caller had already."""
    collecting = gc.isenabled()
    if collecting:
        gc.collect(1)  # the caller's young garbage now: what joins the oldest generation after is the block's
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if gc.get_freeze_count() == 0:  # never unfreeze what the caller froze
                gc.freeze()  # every generation into the permanent one, young counts reset...
                gc.unfreeze()  # ...and all of it into the oldest generation
            gc.enable()
