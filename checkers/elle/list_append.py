"""list-append: transactions of ``[append k v]`` and ``[r k [v ...]]`` over lists.

Every read is a prefix of the key's final list, so the longest read of a key is its version
order. Example: T1 ``[[append x 1]]``, T2 ``[[append x 2]]``, T3 ``[[r x [1 2]]]`` give
``T1 -ww-> T2`` (2 was appended after 1) and ``T2 -wr-> T3``; a T4 that read ``[1]`` gets
``T4 -rw-> T2`` (it did not see 2). An append nobody read still comes after every element read.
Values appended to a key must be unique, as in Elle.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, count
from operator import itemgetter
from typing import Any

import numpy as np

from checkers.elle.analysis import Analysis, garbage_and_aborted, lost_updates
from checkers.elle.graph import edges
from checkers.elle.txns import RW, WR, WW, Txns
from checkers.registry import CheckOptions

__all__ = ["FUNCTIONS", "analyze"]

FUNCTIONS = frozenset({"append", "r"})
INIT = object()  # the empty list, before any append
UNKNOWN_PREFIX = object()  # in an expected list: elements the txn did not see


class DuplicateAppends(ValueError):
    """A value appended twice to one key: the version order cannot be read (Elle: unknown)."""


Read = tuple[int, Any, list[Any], int]  # an ok read: (txn, key, list read, mop index)
_NOTHING: list[Any] = []  # the list a nil read saw (shared, never changed)
_NO_ONE: dict[Any, Any] = {}  # no element of a key (shared, never changed)
_key = itemgetter(1)


# Maps are by key, then by element: a lookup by a (key, element) tuple hashes and compares the tuple,
# which took 7 times as long. The reads and appends themselves are not listed: they are in the txns,
# and a 10M-txn history did not fit in 24 GB with a tuple for each.
@dataclass(frozen=True)
class _Index:
    writer: dict[Any, dict[Any, int]]  # key -> element -> txn that appended it, failed ones included
    order: dict[Any, list[Any]]  # key -> version order (distinct elements of the longest read)
    pos: dict[Any, dict[Any, int]]  # key -> element -> position in order
    witness: dict[Any, int]  # key -> txn whose read gave the order
    readers: dict[Any, dict[Any, list[int]]]  # key -> last element read (or INIT) -> ok txns that read it
    repeated: list[int]  # txns touching a key twice: the only ones with internal, G1b or lost-update cases
    failed_keys: set[Any]  # keys whose order has an element a failed txn appended: the only ones with dirty updates
    writers: dict[Any, list[int | None]]  # key -> the writer of each element of its order (None: nobody's)
    failed: set[int]  # failed txns
    unread_keys: set[Any]  # keys with an append by an ok or info txn that no read saw


def _index(txns: Txns) -> _Index:
    writer: dict[Any, dict[Any, int]] = defaultdict(dict)
    readers: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    repeated: list[int] = []
    failed_keys: set[Any] = set()  # keys a failed txn appended to
    longest: dict[Any, list[Any]] = {}
    witness: dict[Any, int] = {}
    for t, (typ, mops) in enumerate(zip(txns.typ, txns.mops, strict=True)):
        if len(mops) > 1 and len(set(map(_key, mops))) < len(mops):
            repeated.append(t)
        for f, k, v in mops:
            if f == "append":
                wk = writer[k]
                if v in wk:
                    raise DuplicateAppends(f"value {v!r} appended to key {k!r} more than once "
                                           f"(ops {txns.ops[wk[v]].index} and {txns.ops[t].index})")
                wk[v] = t
                if typ == "fail":
                    failed_keys.add(k)
            elif typ == "ok":
                readers[k][v[-1] if v else INIT].append(t)
                if v and len(v) > len(longest.get(k, _NOTHING)):
                    longest[k], witness[k] = v, t
    failed = set(compress(count(), map("fail".__eq__, txns.typ)))
    committed = {k: _committed(wk.values(), failed) if k in failed_keys else len(wk) for k, wk in writer.items()}
    for k, c in committed.items():
        if c == 1 and k not in longest:  # an unread key with one append: its order is that append
            v, t = next((v, t) for v, t in writer[k].items() if t not in failed)
            longest[k], witness[k] = [v], t
    order = {k: list(dict.fromkeys(lst)) for k, lst in longest.items()}
    pos = {k: dict(zip(vs, range(len(vs)), strict=True)) for k, vs in order.items()}
    writers = {k: list(map(writer.get(k, _NO_ONE).get, vs)) for k, vs in order.items()}
    unread_keys = {k for k, c in committed.items() if c > _committed(writers.get(k, ()), failed)}
    failed_keys = {k for k in failed_keys if k in writers and not failed.isdisjoint(writers[k])}
    return _Index(dict(writer), order, pos, witness, {k: dict(r) for k, r in readers.items()}, repeated,
                  failed_keys, writers, failed, unread_keys)


def _committed(writers: Iterable[int | None], failed: set[int]) -> int:
    """How many of these appends (by their writers; None: nobody's) were by txns that did not fail."""
    return sum(w is not None and w not in failed for w in writers)


def _suspect_reads(txns: Txns, idx: _Index) -> list[Read]:
    """The ok reads that may show duplicates, garbage, aborted elements or an incompatible order: all but
    those equal to a prefix of their key's version order when each element of that order was appended
    by a txn that did not fail. Most reads are such prefixes, which one comparison clears."""
    order, failed = idx.order, idx.failed
    clean = {k for k, ws in idx.writers.items() if None not in ws and failed.isdisjoint(ws)}
    suspect: list[Read] = []
    for t in compress(count(), map("ok".__eq__, txns.typ)):
        for i, (f, k, v) in enumerate(txns.mops[t]):
            if f != "append":
                lst = v or _NOTHING
                if not (k in clean and order[k][: len(lst)] == lst):
                    suspect.append((t, k, lst, i))
    return suspect


def _previous(idx: _Index, k: Any, v: Any) -> Any:
    """The element appended just before ``v`` (INIT for the first); for an unread append, the last read one."""
    order = idx.order.get(k, ())
    p = idx.pos.get(k, _NO_ONE).get(v)
    if p is None:
        return order[-1] if order else INIT
    return order[p - 1] if p else INIT


# ---------------------------------------------------------------- non-cycle anomalies

def _incompatible_orders(idx: _Index, reads: list[Read]) -> list[dict[str, Any]]:
    bad: dict[Any, dict[str, Any]] = {}
    for _, k, lst, _ in reads:
        full = idx.order.get(k, _NOTHING)
        if k not in bad and lst and lst[: len(full)] != full[: len(lst)]:
            bad[k] = {"key": k, "values": [list(lst), list(full)]}
    return list(bad.values())


def _duplicates(txns: Txns, reads: list[Read]) -> list[dict[str, Any]]:
    out = []
    for t, _, lst, i in reads:
        if len(set(lst)) != len(lst):
            dups = {v: c for v, c in Counter(lst).items() if c > 1}
            out.append({"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i], "duplicates": dups})
    return out


def _intermediate_reads(txns: Txns, idx: _Index) -> list[dict[str, Any]]:
    """G1b: a read ending in an element its writer later overwrote with another append to that key."""
    intermediate: dict[tuple[Any, Any], int] = {}
    for t in idx.repeated:
        last: dict[Any, Any] = {}
        for f, k, v in txns.mops[t]:
            if f == "append":
                if k in last:
                    intermediate[(k, last[k])] = t
                last[k] = v
    found: list[tuple[int, int, int]] = []  # (reader, its mop, writer)
    for (k, v), w in intermediate.items():
        for t in dict.fromkeys(idx.readers.get(k, _NO_ONE).get(v, ())):
            if t != w:
                found += [(t, i, w) for i, (f, k2, got) in enumerate(txns.mops[t])
                          if f == "r" and k2 == k and got and got[-1] == v]
    return [{"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i], "writer": txns.ops[w].to_dict(),
             "element": txns.mops[t][i][2][-1]} for t, i, w in sorted(found)]


def _internal(txns: Txns, idx: _Index) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """internal: a read that disagrees with the txn's own earlier reads and appends; future-read:
    a read of an element the txn appends later."""
    internal, future = [], []
    for t in idx.repeated:
        if txns.typ[t] != "ok":
            continue
        mops = txns.mops[t]
        state: dict[Any, list[Any]] = {}  # key -> expected list; starting with ... when the prefix is unknown
        earlier_reads: dict[Any, list[list[Any]]] = {}  # key -> this txn's reads of it so far
        future_case = internal_case = None
        for f, k, v in mops:
            if f == "append":
                if future_case is None:
                    mop = next((m for m in earlier_reads.get(k, ()) if v in (m[2] or ())), None)
                    if mop is not None:
                        future_case = {"op": txns.ops[t].to_dict(), "mop": mop, "element": v}
                state[k] = [*state.get(k, [UNKNOWN_PREFIX]), v]
                continue
            lst = list(v or [])
            s = state.get(k)
            if s is not None and internal_case is None:  # the first case; future reads are looked for after it
                if s[:1] == [UNKNOWN_PREFIX]:
                    tail = s[1:]
                    bad = len(lst) < len(tail) or lst[len(lst) - len(tail):] != tail
                else:
                    bad = s != lst
                if bad:
                    expected = ["..." if e is UNKNOWN_PREFIX else e for e in s]
                    internal_case = {"op": txns.ops[t].to_dict(), "mop": [f, k, v], "expected": expected}
                    internal.append(internal_case)
            state[k] = lst
            earlier_reads.setdefault(k, []).append([f, k, v])
        if future_case is not None:
            future.append(future_case)
    return internal, future


def _dirty_updates(txns: Txns, idx: _Index) -> list[dict[str, Any]]:
    """An element appended by a failed txn, followed in the version order by a committed one."""
    out = []
    for k, vs in idx.order.items():
        if k not in idx.failed_keys:
            continue
        ws = idx.writers[k]
        t1_type, t1, span = "ok", None, []
        for v, w in zip(vs, ws, strict=True):
            if w is None:
                continue
            t2_type = txns.typ[w]
            span = [*span, v]
            if t1_type == "fail" and t2_type == "ok":
                out.append({"key": k, "values": span, "txns": [txns.ops[t1].to_dict(), "...", txns.ops[w].to_dict()]})
            if t2_type == "info" or (t1_type == "fail" and t2_type == "fail"):
                continue
            t1_type, t1, span = t2_type, w, [v]
    return out


# ---------------------------------------------------------------- edges

def _edges(txns: Txns, idx: _Index) -> list:
    typ, writer, readers, failed = txns.typ, idx.writer, idx.readers, idx.failed
    wr_s, wr_d = [], []
    for k, by_last in readers.items():  # each ok read of a list ending in an element, after its writer
        wk = writer.get(k, _NO_ONE)
        for last, ts in by_last.items():
            w = wk.get(last) if last is not INIT else None
            if w is not None and typ[w] != "fail":
                wr_s.extend([w] * len(ts))
                wr_d.extend(ts)
    ww_s, ww_d, rw_s, rw_d = [], [], [], []

    def follows(t: int, k: Any, prev: Any, w: int | None) -> None:
        """Txn ``t`` appended to ``k`` right after ``prev`` (appended by ``w``; INIT: first)."""
        if w is not None and w not in failed:
            ww_s.append(w)
            ww_d.append(t)
        rs = readers.get(k, _NO_ONE).get(prev)
        if rs:
            rw_s.extend(rs)
            rw_d.extend([t] * len(rs))

    for k, vs in idx.order.items():  # the appends in the version order, along it
        ws = idx.writers[k]
        for i, t in enumerate(ws):
            if t is not None and t not in failed:
                follows(t, k, vs[i - 1] if i else INIT, ws[i - 1] if i else None)
    for k in idx.unread_keys:  # the appends no read saw: after every element read
        vs, in_order = idx.order.get(k), idx.pos.get(k, _NO_ONE)
        for v, t in writer[k].items():
            if t not in failed and v not in in_order:
                follows(t, k, vs[-1] if vs else INIT, idx.writers[k][-1] if vs else None)
    return [edges(ww_s, ww_d, WW), edges(wr_s, wr_d, WR), edges(rw_s, rw_d, RW)]


# ---------------------------------------------------------------- explanations

@dataclass(frozen=True)
class _Explainer:
    txns: Txns
    idx: _Index

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        idx, mops = self.idx, self.txns.mops
        if kind == WR:
            for f, k, v in mops[b]:
                if f == "r" and v and idx.writer.get(k, _NO_ONE).get(v[-1]) == a:
                    return {"type": "wr", "key": k, "value": v[-1], "read": list(v)}
        for f, k, v in mops[b]:
            if f != "append":
                continue
            prev = _previous(idx, k, v)
            witness = self._witness(k, prev, v)
            if kind == WW and prev is not INIT and idx.writer.get(k, _NO_ONE).get(prev) == a:
                return {"type": "ww", "key": k, "value": prev, "value'": v, **witness}
            if kind == RW:
                for g, k2, got in mops[a]:
                    if g == "r" and k2 == k and ((got[-1] if got else INIT) == prev):
                        return {"type": "rw", "key": k, "value": None if prev is INIT else prev, "value'": v,
                                "read": list(got or []), **witness}
        return {"type": ("ww", "wr", "rw")[kind]}

    def _witness(self, k: Any, prev: Any, v: Any) -> dict[str, Any]:
        """Which read shows ``v`` right after ``prev`` (the one that gave the version order)."""
        if v not in self.idx.pos.get(k, _NO_ONE) or k not in self.idx.witness:
            return {"unread": True}
        order = self.idx.order[k]
        p = self.idx.pos[k][v]
        return {"witness": self.txns.ops[self.idx.witness[k]].index, "witness-read": list(order[max(0, p - 1): p + 1]),
                "witness-from-start": p <= 1}

    def render(self, a: str, b: str, step: dict[str, Any]) -> str:
        k, v, v2 = step.get("key"), step.get("value"), step.get("value'")
        if step["type"] == "wr":
            return f"{b} read key {k!r} = {_tail(step['read'])}, which ends with {a}'s append of {v!r}"
        seen = self._seen(step)
        if step["type"] == "ww":
            return f"{b} appended {v2!r} to key {k!r} after {a}'s append of {v!r}{seen}"
        if step["type"] == "rw":
            read = "the empty list" if v is None else _tail(step["read"])
            return f"{a} read key {k!r} = {read}, which did not yet have {b}'s append of {v2!r}{seen}"
        return f"{a} precedes {b} ({step['type']})"

    def _seen(self, step: dict[str, Any]) -> str:
        if step.get("unread"):
            return (", because no read saw that append, so it came after every element read"
                    if step["type"] == "rw" or step.get("value") is not None else "")
        shown = step["witness-read"]
        text = ("[" if step["witness-from-start"] else "[.. ") + " ".join(repr(x) for x in shown) + "]"
        return f", because op {step['witness']} read {text}"


def _tail(lst: list[Any]) -> str:
    return "[" + ("" if len(lst) <= 2 else ".. ") + " ".join(repr(x) for x in lst[-2:]) + "]"


def analyze(txns: Txns, options: CheckOptions) -> Analysis:
    """Non-cycle anomalies, data edges and an explainer for a list-append history."""
    idx = _index(txns)
    internal, future = _internal(txns, idx)
    suspect = _suspect_reads(txns, idx)
    garbage, aborted = garbage_and_aborted(txns, ((t, k, lst, i, lst) for t, k, lst, i in suspect), idx.writer)
    anomalies = {
        "duplicate-elements": _duplicates(txns, suspect),
        "incompatible-order": _incompatible_orders(idx, suspect),
        "internal": internal,
        "future-read": future,
        "dirty-update": _dirty_updates(txns, idx),
        "G1a": aborted,
        "G1b": _intermediate_reads(txns, idx),
        "garbage-read": garbage,
        "lost-update": lost_updates(txns, "append", idx.repeated),
    }
    members = np.flatnonzero(np.asarray([t != "fail" for t in txns.typ], dtype=bool))
    return Analysis({k: v for k, v in anomalies.items() if v}, _edges(txns, idx), members,
                    _Explainer(txns, idx))
