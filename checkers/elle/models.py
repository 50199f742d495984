"""Elle's consistency-model lattice: which anomalies each model forbids, and which models a set of
anomalies rules out.

Three graphs, transcribed from Elle's ``elle.consistency-model``:

- ``IMPLIED_ANOMALIES``: ``a -> b`` when seeing ``a`` means ``b`` happened too (G0 implies G1c);
- ``MODELS``: ``a -> b`` when a history satisfying ``a`` also satisfies ``b`` (serializable ->
  snapshot-isolation), with model names canonicalised (``serializable`` is ``PL-3``);
- ``DIRECT_PROSCRIBED``: model -> the anomalies it forbids beyond the models it implies.

Example: ``boundary({"G-single"})`` is ``{"not": ["consistent-view"], "also-not": [...]}``: the
weakest models a G-single rules out, then every stronger one. ``garbage-read`` (a read of a value
no transaction wrote) is ours, not Elle's; it implies G1a, as a read of an aborted write does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "ALL_MODELS",
    "UNKNOWN_ANOMALY_TYPES",
    "all_anomalies_implying",
    "all_implied_anomalies",
    "all_impossible_models",
    "anomalies_prohibited_by",
    "boundary",
    "canonical_model_name",
    "friendly_model_name",
    "implies",
    "prohibited_anomaly_types",
    "reportable_anomaly_types",
    "validate_models",
]

Graph = Mapping[str, tuple[str, ...]]

IMPLIED_ANOMALIES: Graph = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "GSIb", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "GSIa": ("GSI",),
    "GSIb": ("GSI",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
    "garbage-read": ("G1a",),  # ours: a value nobody wrote is at least as bad as an aborted one
}

SEVERITY: Graph = {
    "G0": ("G1c",),
    "G0-process": ("G1c-process",),
    "G0-realtime": ("G1c-realtime",),
    "G1c": ("G-single", "G2-item"),
    "G1c-process": ("G-single-process", "G2-item-process"),
    "G1c-realtime": ("G-single-realtime", "G2-item-realtime"),
    "G2": ("G0-process",),
    "G2-process": ("G0-realtime",),
}

CANONICAL_NAMES: Mapping[str, str] = {
    "consistent-view": "PL-2+",
    "conflict-serializable": "PL-3",
    "cursor-stability": "PL-CS",
    "forward-consistent-view": "PL-FCV",
    "monotonic-snapshot-read": "PL-MSR",
    "monotonic-view": "PL-2L",
    "read-committed": "PL-2",
    "read-uncommitted": "PL-1",
    "repeatable-read": "PL-2.99",
    "serializable": "PL-3",
    "snapshot-isolation": "PL-SI",
    "strict-serializable": "PL-SS",
    "strong-serializable": "PL-SS",
    "update-serializable": "PL-3U",
    "strong-session-read-uncommitted": "strong-session-PL-1",
    "strong-session-read-committed": "strong-session-PL-2",
    "strong-read-uncommitted": "strong-PL-1",
    "strong-read-committed": "strong-PL-2",
}

# Elle renamed ROLA to update-atomic; the old name is still read.
ALIASES = {"ROLA": "update-atomic"}

_FRIENDLY = {canonical: friendly for friendly, canonical in CANONICAL_NAMES.items()}
_FRIENDLY.update({"PL-3": "serializable", "PL-SS": "strict-serializable"})


def canonical_model_name(model: str) -> str:
    model = ALIASES.get(model, model)
    return CANONICAL_NAMES.get(model, model)


def friendly_model_name(model: str) -> str:
    return _FRIENDLY.get(model, model)


def _canonical_graph(raw: Graph) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, bs in raw.items():
        out.setdefault(canonical_model_name(a), []).extend(canonical_model_name(b) for b in bs)
    return {a: tuple(dict.fromkeys(bs)) for a, bs in out.items()}


MODELS: Graph = _canonical_graph({
    "causal-cerone": ("read-atomic",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "conflict-serializable": ("view-serializable",),
    "cursor-stability": ("read-committed", "PL-2"),
    "forward-consistent-view": ("consistent-view",),
    "PL-2": ("PL-1",),
    "PL-3": ("repeatable-read", "update-serializable"),
    "update-serializable": ("forward-consistent-view",),
    "monotonic-atomic-view": ("read-committed",),
    "monotonic-view": ("PL-2",),
    "monotonic-snapshot-read": ("PL-2",),
    "parallel-snapshot-isolation": ("causal-cerone", "update-atomic"),
    "prefix": ("causal-cerone",),
    "read-atomic": ("monotonic-atomic-view",),
    "read-committed": ("read-uncommitted",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "update-atomic": ("read-atomic",),
    "serializable": ("repeatable-read", "snapshot-isolation", "view-serializable"),
    "session-serializable": ("1SR",),
    "snapshot-isolation": ("forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
                           "parallel-snapshot-isolation", "prefix"),
    "strict-serializable": ("PL-3", "serializable", "linearizable", "snapshot-isolation",
                            "strong-snapshot-isolation", "strong-session-serializable"),
    "strong-session-PL-1": ("PL-1",),
    "strong-session-PL-2": ("PL-2", "strong-session-PL-1"),
    "strong-PL-1": ("strong-session-PL-1",),
    "strong-PL-2": ("strong-session-PL-2", "strong-PL-1"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-PL-2"),
    "strong-serializable": ("session-serializable",),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-PL-2"),
    "linearizable": ("sequential",),
    "sequential": ("causal",),
    "causal": ("writes-follow-reads", "PRAM"),
    "PRAM": ("monotonic-reads", "monotonic-writes", "read-your-writes"),
})

DIRECT_PROSCRIBED: Graph = _canonical_graph({
    "causal-cerone": ("internal", "G1a"),
    "cursor-stability": ("G1", "G-cursor", "lost-update"),
    "monotonic-view": ("G1", "G-monotonic"),
    "monotonic-snapshot-read": ("G1", "G-MSR"),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1", "G-SIb"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "PL-3": ("G1", "G2", "predicate-read-miss", "PL-3-cycle-exists"),
    "PL-2": ("G1", "PL-2-cycle-exists"),
    "PL-1": ("G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"),
    "prefix": ("internal", "G1a"),
    "serializable": ("internal",),
    "snapshot-isolation": ("internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"),
    "read-atomic": ("internal", "G1a", "future-read"),
    "repeatable-read": ("G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"),
    "update-atomic": ("lost-update",),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"),
    "strong-session-PL-1": ("strong-session-PL-1-cycle-exists", "G0-process"),
    "strong-session-PL-2": ("strong-session-PL-2-cycle-exists", "G1c-process"),
    "strong-PL-1": ("strong-PL-1-cycle-exists", "G0-realtime"),
    "strong-PL-2": ("strong-PL-2-cycle-exists", "G1c-realtime"),
    "strong-session-snapshot-isolation": ("internal", "G1-process", "G-nonadjacent-process",
                                          "strong-session-snapshot-isolation-cycle-exists"),
    "strong-snapshot-isolation": ("internal", "G1-realtime", "G-nonadjacent-realtime",
                                  "strong-snapshot-isolation-cycle-exists"),
    "strong-session-serializable": ("G1-process", "G2-process", "strong-session-serializable-cycle-exists"),
    "update-serializable": ("G1", "G-update"),
})

UNKNOWN_ANOMALY_TYPES = frozenset({"empty-transaction-graph", "cycle-search-timeout"})


def _reverse(g: Graph) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, bs in g.items():
        for b in bs:
            out.setdefault(b, []).append(a)
    return {b: tuple(a) for b, a in out.items()}


def _bfs(step: Callable[[str], Iterable[str]], start: Iterable[str]) -> set[str]:
    """Every vertex reachable from ``start``, the starts included."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for w in step(todo.pop()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def _out(g: Graph) -> Callable[[str], tuple[str, ...]]:
    return lambda v: g.get(v, ())


_IMPLIED_IN = _reverse(IMPLIED_ANOMALIES)
_MODELS_IN = _reverse(MODELS)
_PROSCRIBED_BY = _reverse(DIRECT_PROSCRIBED)

ALL_MODELS: frozenset[str] = frozenset(
    {*MODELS, *(m for ms in MODELS.values() for m in ms), *CANONICAL_NAMES, *CANONICAL_NAMES.values()})


def validate_models(models: Iterable[str]) -> list[str]:
    """The models, canonicalised; ValueError naming any unknown one and the known ones."""
    models = list(models)
    bad = [m for m in models if m not in ALL_MODELS]
    if bad:
        raise ValueError(f"unknown consistency model {', '.join(bad)}; known: {', '.join(sorted(ALL_MODELS))}")
    return [canonical_model_name(m) for m in models]


def all_implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    return _bfs(_out(IMPLIED_ANOMALIES), anomalies)


def all_anomalies_implying(anomalies: Iterable[str]) -> set[str]:
    return _bfs(_out(_IMPLIED_IN), anomalies)


def anomalies_prohibited_by(models: Iterable[str]) -> set[str]:
    """Every anomaly that cannot appear if all ``models`` hold."""
    implied = _bfs(_out(MODELS), validate_models(models))
    direct = [a for m in implied for a in DIRECT_PROSCRIBED.get(m, ())]
    return all_anomalies_implying(direct)


def all_impossible_models(models: Iterable[str]) -> set[str]:
    """The models, canonicalised, and every stronger one (each implies one of them)."""
    return _bfs(_out(_MODELS_IN), (canonical_model_name(m) for m in models))


def implies(model: str, other: str) -> bool:
    """Whether a history that satisfies ``model`` satisfies ``other`` (it is ``other`` or stronger)."""
    return canonical_model_name(model) in all_impossible_models(validate_models([other]))


def anomalies_to_impossible_models(anomalies: Iterable[str]) -> set[str]:
    direct = [m for a in all_implied_anomalies(anomalies) for m in _PROSCRIBED_BY.get(a, ())]
    return _bfs(_out(_MODELS_IN), direct)


def _weakest(models: set[str]) -> set[str]:
    """Drop each model that implies another one still in the set (Elle's ``most-models g/out``)."""
    kept = set(models)
    for m in sorted(models):
        others = kept - {m}
        if others & _bfs(_out(MODELS), [m]):
            kept = others
    return kept


def boundary(anomalies: Iterable[str]) -> dict[str, list[str]]:
    """``not``: the weakest models these anomalies rule out; ``also-not``: the stronger ones."""
    impossible = anomalies_to_impossible_models(anomalies)
    weakest = _weakest(impossible)
    return {"not": sorted({friendly_model_name(m) for m in weakest}),
            "also-not": sorted({friendly_model_name(m) for m in impossible - weakest})}


def prohibited_anomaly_types(models: Iterable[str], anomalies: Iterable[str] = ()) -> set[str]:
    """Anomalies that fail a check expecting ``models`` and ruling out ``anomalies``."""
    return all_anomalies_implying(anomalies) | anomalies_prohibited_by(models)


def reportable_anomaly_types(models: Iterable[str], anomalies: Iterable[str] = ()) -> set[str]:
    return prohibited_anomaly_types(models, anomalies) | UNKNOWN_ANOMALY_TYPES


def anomaly_depths() -> dict[str, int]:
    """Longest path from a root in implied anomalies + severity (Elle's search order)."""
    merged: dict[str, set[str]] = {}
    for g in (IMPLIED_ANOMALIES, SEVERITY):
        for a, bs in g.items():
            merged.setdefault(a, set()).update(bs)
    preds = _reverse({a: tuple(bs) for a, bs in merged.items()})
    depth: dict[str, int] = {}

    def d(v: str) -> int:
        if v not in depth:
            depth[v] = max((d(p) + 1 for p in preds.get(v, ())), default=0)
        return depth[v]

    for v in {*merged, *preds}:
        d(v)
    return depth
