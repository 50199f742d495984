"""Key slots: which key the next op touches, with a bounded number of writes per key.

``slots`` keys are live at a time. A slot is picked uniformly or, as Elle's workloads do, with
probability 2^-(i+1) for slot i (a few hot keys, a long tail). Once a slot's key has taken
``per_key`` writes, the slot moves to a fresh key, so per-key histories stay small enough to check
(linearizability is exponential in concurrency per key; list-append reads grow with appends)::

    KeySlots.new(3, per_key=2).wrote(0).wrote(0).keys  ->  (3, 1, 2)   # slot 0 moved to key 3
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["KeySlots"]


@dataclass(frozen=True)
class KeySlots:
    keys: tuple[int, ...]
    writes: tuple[int, ...]
    per_key: int
    weights: tuple[float, ...] | None = None  # None: uniform

    @classmethod
    def new(cls, slots: int, *, per_key: int, exponential: bool = False) -> KeySlots:
        if slots < 1 or per_key < 1:
            raise ValueError("key slots: need at least one slot and one write per key")
        weights = tuple(2.0 ** -(i + 1) for i in range(slots)) if exponential else None
        return cls(tuple(range(slots)), (0,) * slots, per_key, weights)

    def pick(self, rng: random.Random) -> int:
        """A slot index."""
        if self.weights is None:
            return rng.randrange(len(self.keys))
        return rng.choices(range(len(self.keys)), self.weights)[0]

    def wrote(self, slot: int) -> KeySlots:
        """The slots after one more write to ``slot``'s key (a fresh key once it has had ``per_key``)."""
        if self.writes[slot] + 1 < self.per_key:
            return KeySlots(self.keys, _set(self.writes, slot, self.writes[slot] + 1), self.per_key, self.weights)
        fresh = max(self.keys) + 1
        return KeySlots(_set(self.keys, slot, fresh), _set(self.writes, slot, 0), self.per_key, self.weights)


def _set(t: tuple[int, ...], i: int, v: int) -> tuple[int, ...]:
    return (*t[:i], v, *t[i + 1:])
