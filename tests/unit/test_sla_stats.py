"""RTO quantiles with confidence and the availability projection (checkers/sla_stats.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from checkers.sla_stats import (
    CERTIFIED,
    INCONCLUSIVE,
    VIOLATED,
    YEAR_S,
    faults_needed,
    mean_bounds,
    project_availability,
    proportion_bounds,
    rto_quantile_verdict,
)


def test_58_clean_faults_are_not_enough_for_095_at_95_percent_and_59_are() -> None:
    v58 = rto_quantile_verdict([2.0] * 58, 8, 0.95, 0.95)
    assert v58.verdict == INCONCLUSIVE and v58.needed == 59
    assert "it would take 59 faults" in v58.reason
    assert v58.lower == pytest.approx(0.05 ** (1 / 58))  # (1 - c)^(1/n) with no failure
    v59 = rto_quantile_verdict([2.0] * 59, 8, 0.95, 0.95)
    assert v59.verdict == CERTIFIED and v59.lower == pytest.approx(0.05 ** (1 / 59)) and v59.lower >= 0.95


def test_one_late_fault_among_100_still_certifies_095_but_not_among_60() -> None:
    v = rto_quantile_verdict([3.0] * 99 + [9.5], 8, 0.95, 0.95)
    assert (v.verdict, v.within, v.n) == (CERTIFIED, 99, 100)
    assert v.lower == pytest.approx(stats.beta.ppf(0.05, 99, 2))
    few = rto_quantile_verdict([3.0] * 59 + [9.5], 8, 0.95, 0.95)
    assert few.verdict == INCONCLUSIVE
    assert few.needed == faults_needed(1, 0.95, 0.95)
    n = few.needed
    assert n is not None and proportion_bounds(n - 1, n, 0.95)[0] >= 0.95 > proportion_bounds(n - 2, n - 1, 0.95)[0]


def test_a_fault_that_never_recovered_is_late_and_many_late_faults_violate() -> None:
    assert rto_quantile_verdict([1.0] * 59 + [None], 8, 0.95, 0.95).within == 59
    v = rto_quantile_verdict([1.0] * 80 + [12.0] * 20, 8, 0.95, 0.95)
    assert v.verdict == VIOLATED and v.upper < 0.95


def test_no_fault_of_a_kind_is_inconclusive() -> None:
    v = rto_quantile_verdict([], 8, 0.95, 0.95)
    assert v.verdict == INCONCLUSIVE and "no fault" in v.reason


def test_mean_bounds_by_hand() -> None:
    """Samples 1..5 in [0, 10], eps from scipy's one-sided KS distribution: the upper bound moves eps of
    the mass from the smallest samples to 10, the lower one moves eps from the largest to 0."""
    eps = stats.ksone.ppf(0.95, 5)
    lower, upper = mean_bounds([1, 2, 3, 4, 5], 10, 0.95)
    # eps ~ 0.5094: the upper CDF is max(i/5 - eps, 0): 0 up to x=3, then 0.0906 at 3, 0.2906 at 4, 0.4906 at 5
    by_hand_upper = 3 + (1 - (0.6 - eps)) + (1 - (0.8 - eps)) + 5 * (1 - (1 - eps))
    by_hand_lower = (1 - eps) + (0.8 - eps) + (0.6 - eps)
    assert upper == pytest.approx(by_hand_upper) and lower == pytest.approx(by_hand_lower)


def test_mean_bounds_against_scipy_integration() -> None:
    rng = np.random.default_rng(3)
    xs = list(rng.exponential(2.0, 40).clip(0, 30))
    eps = stats.ksone.ppf(0.9, 40)

    def survival_upper(t: float) -> float:
        return 1 - max(np.mean(np.array(xs) <= t) - eps, 0)

    expected, _ = integrate.quad(survival_upper, 0, 30, points=sorted(xs), limit=200)
    assert mean_bounds(xs, 30, 0.9)[1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dist", [stats.expon(scale=2.0), stats.lognorm(s=1.2, scale=1.0), stats.bernoulli(0.05)],
                         ids=["exponential", "lognormal", "rare-outage"])
def test_mean_upper_bound_covers_the_true_mean_at_small_n(dist: object) -> None:
    """On skewed downtimes (clipped to a known ceiling) the bound covers the true mean in >= 95 % of
    samples of 8, where the t bound (normality assumed) does not for the rare-outage case."""
    ceiling = 20.0
    grid = np.linspace(0, ceiling, 200_001)
    true_mean = float(np.trapezoid(1 - dist.cdf(grid), grid))  # type: ignore[attr-defined]
    rng = np.random.default_rng(11)
    covered = t_covered = 0
    trials = 2000
    for _ in range(trials):
        xs = np.clip(dist.rvs(size=8, random_state=rng), 0, ceiling)  # type: ignore[attr-defined]
        covered += mean_bounds(list(xs), ceiling, 0.95)[1] >= true_mean
        t_upper = xs.mean() + stats.t.ppf(0.95, 7) * xs.std(ddof=1) / np.sqrt(8)
        t_covered += t_upper >= true_mean
    assert covered / trials >= 0.95
    if isinstance(dist.dist, stats.rv_discrete):  # type: ignore[attr-defined]
        assert t_covered / trials < 0.9  # a sample of 8 without an outage gives a t bound of 0


def test_projection_by_hand() -> None:
    """Two kinds, one sample each: with n = 1 the KS band is eps = c, so the upper mean is
    x + c * (ceiling - x); each kind at 1 - 0.05 / 2 (Bonferroni)."""
    p = project_availability({"kill": 12, "partition": 4}, {"kill": [5.0], "partition": [2.0]},
                             {"kill": 10.0, "partition": 10.0}, 0.95)
    c = 0.975
    kill_up, part_up = 5 + c * 5, 2 + c * 8
    assert p.per_kind_confidence == pytest.approx(c)
    assert p.lower == pytest.approx(1 - (12 * kill_up + 4 * part_up) / YEAR_S)
    assert p.point == pytest.approx(1 - (12 * 5 + 4 * 2) / YEAR_S)
    assert p.lower == pytest.approx(1 - (12 * 9.875 + 4 * 9.8) / 31_557_600)
    assert p.verdict(0.99999) == CERTIFIED  # 157.7 s a year of downtime: 0.999995
    assert p.verdict(0.9999999) == INCONCLUSIVE  # the lower means (0.125 s, 0.05 s) give 1.7 s a year
    assert p.verdict(0.99999999) == VIOLATED  # 0.3 s a year


def test_a_kind_in_the_model_never_injected_is_inconclusive() -> None:
    p = project_availability({"kill": 12, "clock": 2}, {"kill": [1.0] * 80}, {"kill": 10.0}, 0.95)
    assert p.missing == ("clock",) and p.verdict(0.9) == INCONCLUSIVE and p.lower is None


def test_a_kind_with_rate_zero_needs_no_evidence() -> None:
    p = project_availability({"kill": 12, "clock": 0}, {"kill": [1.0] * 80}, {"kill": 10.0}, 0.95)
    assert p.missing == () and [k.kind for k in p.kinds] == ["kill"]


def test_samples_outside_the_ceiling_are_refused() -> None:
    with pytest.raises(ValueError):
        mean_bounds([1.0, 12.0], 10.0, 0.95)
