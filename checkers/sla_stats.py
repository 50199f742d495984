"""SLA statistics over many faults: RTO quantiles with confidence, availability projected from a fault model.

Both take plain numbers (one figure per fault), so they work with any per-fault record.

**RTO quantile.** ``rto_seconds = 8`` with ``rto_quantile = 0.95`` promises that at least 95 % of faults
of a kind recover within 8 s. Each fault is a trial (recovered within the bound or not; a fault that
never recovered is late); the exact one-sided Clopper-Pearson bounds on the share within the bound at
``confidence`` decide: certified when the lower bound reaches the quantile, violated when the upper
bound stays below it, inconclusive otherwise, saying how many faults it would take. With no late
fault that is ``ceil(ln(1 - confidence) / ln(quantile))``: 59 for 0.95 at 95 %.

**Mean downtime per fault.** The upper confidence bound of the mean is Anderson's (1969): the mean of
the stochastically largest distribution that the one-sided Kolmogorov-Smirnov band allows, i.e. the
empirical distribution with a mass ``eps`` moved from its smallest samples to ``ceiling``, where
``eps`` is the exact one-sided KS quantile (``scipy.stats.ksone``) and ``ceiling`` a known bound of
every sample (a fault's downtime is measured inside its observation window, so the window's length is
one). It assumes nothing about the shape of the distribution (no normality), only independent samples
in ``[0, ceiling]``, and holds at every ``n`` (conservatively for distributions with ties, such as many
zero downtimes). A t bound would assume normality, which skewed downtimes (mostly short, a few long)
do not have at small ``n``. The lower bound mirrors it.

**Projection.** ``1 - sum_k rate_k * upper_mean_k / year`` for fault kinds ``k`` with ``rate_k`` faults
per year. With ``m`` kinds each bound is taken at ``1 - (1 - confidence) / m`` (Bonferroni), so the
projection as a whole holds at ``confidence``. A kind with a positive rate and no measured fault
leaves the projection undecided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["CERTIFIED", "INCONCLUSIVE", "VIOLATED", "YEAR_S", "KindProjection", "Projection", "QuantileVerdict",
           "faults_needed", "mean_bounds", "project_availability", "proportion_bounds", "rto_quantile_verdict",
           "trials_needed"]

CERTIFIED, VIOLATED, INCONCLUSIVE = "certified", "violated", "inconclusive"
YEAR_S = 365.25 * 86400
SEARCH_LIMIT = 1_000_000


def proportion_bounds(ok: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact one-sided Clopper-Pearson (lower, upper) bounds on a success rate at ``confidence``."""
    from scipy.stats import beta  # here: the checkers' registry imports this module, ``check`` needs no scipy

    alpha = 1 - confidence
    lower = 0.0 if ok == 0 else float(beta.ppf(alpha, ok, n - ok + 1))
    upper = 1.0 if ok == n else float(beta.ppf(confidence, ok + 1, n - ok))
    return lower, upper


def trials_needed(rate: float, confidence: float) -> int:
    """Failure-free trials needed for the lower bound to reach ``rate``: (1 - c)^(1/n) >= rate."""
    if rate >= 1:
        raise ValueError("a rate of 1 can never be certified from a finite sample")
    return math.ceil(math.log(1 - confidence) / math.log(rate))


def faults_needed(late: int, rate: float, confidence: float) -> int | None:
    """The fewest trials, ``late`` of them failures and the rest successes, whose lower bound reaches
    ``rate`` (None beyond a million)."""
    lo = trials_needed(rate, confidence) + late
    if proportion_bounds(lo - late, lo, confidence)[0] >= rate:
        return lo
    hi = lo
    while proportion_bounds(hi - late, hi, confidence)[0] < rate:
        if hi > SEARCH_LIMIT:
            return None
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # the lower bound grows with n at a fixed failure count
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if proportion_bounds(mid - late, mid, confidence)[0] >= rate else (mid, hi)
    return hi


@dataclass(frozen=True)
class QuantileVerdict:
    """The verdict on "at least ``quantile`` of faults recover within ``bound`` s"."""

    verdict: str
    n: int
    within: int
    lower: float
    upper: float
    needed: int | None  # faults it would take with no more late ones (inconclusive only)
    between: QuantileVerdict | None = None  # inconclusive: the verdict on the upper bounds (this one: lower)

    @property
    def reason(self) -> str:
        head = f"{self.within}/{self.n} faults recovered in time"
        if self.between is not None:
            return (f"{head} counted from each injection's end, {self.between.within}/{self.n} counted from its "
                    f"start or with the slowest answer in the fault: the fault took effect in between")
        if self.n == 0:
            return "no fault of this kind was injected"
        bounds = f"bounds {self.lower:.4f}..{self.upper:.4f}"
        if self.verdict == INCONCLUSIVE:
            more = f"it would take {self.needed} faults" if self.needed else "too many late faults to ever certify"
            return f"{head} ({bounds}): too few faults; with no late one more {more}"
        return f"{head} ({bounds})"


def rto_quantile_verdict(rtos: Sequence[float | None], bound: float, quantile: float,
                         confidence: float) -> QuantileVerdict:
    """Judge per-fault recovery times (s; None: never recovered) of one fault kind against ``bound``."""
    n = len(rtos)
    within = sum(1 for r in rtos if r is not None and r <= bound)
    if n == 0:
        return QuantileVerdict(INCONCLUSIVE, 0, 0, 0.0, 1.0, trials_needed(quantile, confidence))
    lower, upper = proportion_bounds(within, n, confidence)
    if lower >= quantile:
        return QuantileVerdict(CERTIFIED, n, within, lower, upper, None)
    if upper < quantile:
        return QuantileVerdict(VIOLATED, n, within, lower, upper, None)
    return QuantileVerdict(INCONCLUSIVE, n, within, lower, upper, faults_needed(n - within, quantile, confidence))


def _ks_eps(n: int, confidence: float) -> float:
    from scipy.stats import ksone

    return float(ksone.ppf(confidence, n))


def mean_bounds(samples: Sequence[float], ceiling: float, confidence: float) -> tuple[float, float]:
    """One-sided (lower, upper) confidence bounds on the mean of samples in ``[0, ceiling]`` (Anderson's
    bounds from the exact one-sided Kolmogorov-Smirnov band; see the module's docstring)."""
    if not samples:
        raise ValueError("no samples")
    if min(samples) < 0 or max(samples) > ceiling:
        raise ValueError(f"samples must lie in [0, {ceiling}]")
    xs = sorted(samples)
    n, eps = len(xs), _ks_eps(len(xs), confidence)
    edges = [0.0, *xs, ceiling]
    lower = upper = 0.0
    for i in range(n + 1):  # on [x_(i), x_(i+1)) the empirical CDF is i / n
        width = edges[i + 1] - edges[i]
        upper += width * (1 - max(i / n - eps, 0.0))
        lower += width * max(1 - i / n - eps, 0.0)
    return lower, upper


@dataclass(frozen=True)
class KindProjection:
    """One fault kind's part of the projection (seconds of downtime per fault)."""

    kind: str
    rate: float  # faults per year
    n: int
    mean: float | None
    lower: float | None
    upper: float | None
    ceiling: float | None

    @property
    def yearly_upper_s(self) -> float | None:
        return None if self.upper is None else self.rate * self.upper


@dataclass(frozen=True)
class Projection:
    """Projected annual availability: ``lower`` at the stated confidence, ``point`` from the means."""

    kinds: tuple[KindProjection, ...]
    confidence: float
    per_kind_confidence: float
    missing: tuple[str, ...]  # kinds with a rate and no measured fault
    lower: float | None
    upper: float | None
    point: float | None

    def verdict(self, claimed: float) -> str:
        if self.missing or self.lower is None or self.upper is None:
            return INCONCLUSIVE
        return CERTIFIED if self.lower >= claimed else VIOLATED if self.upper < claimed else INCONCLUSIVE


def project_availability(rates: Mapping[str, float], downtimes: Mapping[str, Sequence[float]],
                         ceilings: Mapping[str, float], confidence: float) -> Projection:
    """Annual availability from faults per year by kind and measured downtimes per fault (s) by kind,
    each kind's samples bounded by ``ceilings[kind]``."""
    active = {k: r for k, r in rates.items() if r > 0}
    each = 1 - (1 - confidence) / max(len(active), 1)
    kinds, missing = [], []
    for kind, rate in sorted(active.items()):
        samples = list(downtimes.get(kind, ()))
        if not samples:
            missing.append(kind)
            kinds.append(KindProjection(kind, rate, 0, None, None, None, None))
            continue
        ceiling = ceilings[kind]
        lower, upper = mean_bounds(samples, ceiling, each)
        kinds.append(KindProjection(kind, rate, len(samples), sum(samples) / len(samples), lower, upper, ceiling))
    if missing:
        return Projection(tuple(kinds), confidence, each, tuple(missing), None, None, None)

    def project(values: list[float]) -> float:
        return 1 - sum(k.rate * v for k, v in zip(kinds, values, strict=True)) / YEAR_S

    return Projection(tuple(kinds), confidence, each, (), project([k.upper or 0.0 for k in kinds]),
                      project([k.lower or 0.0 for k in kinds]), project([k.mean or 0.0 for k in kinds]))
