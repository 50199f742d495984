"""SLA claims: a TOML file of promises, each judged certified, violated or inconclusive.

A claims file::

    rto_seconds = 8            # every fault: first ok answer within 8 s of the fault's start
    availability = 0.9999      # ok / attempted client operations
    data_loss = 0              # acknowledged writes lost (set, set-full) or money lost/created (bank)
    consistency = "serializable"
    p99_latency_ms = 250
    staleness_ms = 1           # set-full: acknowledged element visible to every read within 1 ms
    confidence = 0.95          # for proportions (optional; default 0.95)

Claims on proportions (availability, p99 latency) are judged with exact one-sided Clopper-Pearson
bounds at ``confidence``: certified when the lower bound of the success rate reaches the claim,
violated when the upper bound stays below it, inconclusive in between (too few operations: the
verdict says how many failure-free operations would certify it). Claims that need a checker's result
(data loss, consistency) read it from ``results``, a dict of checker name to Result that the runner
or the CLI passes in; without one they are inconclusive and say why. Adding a claim is adding one
:class:`ClaimSpec` to ``CLAIMS``.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import beta

from checkers.elle.models import ALL_MODELS, implies
from checkers.result import Result
from checkers.sla import SlaFigures

__all__ = ["CLAIMS", "ClaimError", "ClaimSpec", "Claims", "Verdict", "claims_from_mapping", "evaluate", "load_claims",
           "ops_needed", "proportion_bounds"]

CERTIFIED, VIOLATED, INCONCLUSIVE = "certified", "violated", "inconclusive"
DATA_LOSS_CHECKERS = ("set", "set-full", "bank")
NOT_CONSISTENCY = (*DATA_LOSS_CHECKERS, "stats", "counter")


class ClaimError(ValueError):
    """A claims file that cannot be used; ``str()`` is the one line the user sees."""


@dataclass(frozen=True)
class Verdict:
    claim: str
    claimed: Any
    verdict: str
    measured: Any
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "claimed": self.claimed, "verdict": self.verdict, "measured": self.measured,
                "reason": self.reason, "evidence": self.evidence}


@dataclass(frozen=True)
class Claims:
    values: dict[str, Any]
    confidence: float = 0.95


Evaluate = Callable[[Any, Claims, SlaFigures, Mapping[str, Result]], Verdict]


@dataclass(frozen=True)
class ClaimSpec:
    """One claim key: its TOML type, what values make sense, and how to judge it."""

    key: str
    types: tuple[type, ...]
    type_name: str
    check: Callable[[Any], bool]
    range_text: str
    evaluate: Evaluate | None  # None for settings such as ``confidence``


def proportion_bounds(ok: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact one-sided Clopper-Pearson (lower, upper) bounds on a success rate at ``confidence``."""
    alpha = 1 - confidence
    lower = 0.0 if ok == 0 else float(beta.ppf(alpha, ok, n - ok + 1))
    upper = 1.0 if ok == n else float(beta.ppf(confidence, ok + 1, n - ok))
    return lower, upper


def ops_needed(rate: float, confidence: float) -> int:
    """Failure-free operations needed for the lower bound to reach ``rate``: (1 - c)^(1/n) >= rate."""
    if rate >= 1:
        raise ValueError("a rate of 1 can never be certified from a finite sample")
    return math.ceil(math.log(1 - confidence) / math.log(rate))


def _judge_rate(claim: str, claimed: Any, target: float, ok: int, n: int, confidence: float,
                evidence: dict[str, Any], measured: Any) -> Verdict:
    """Judge a success rate against ``target`` with Clopper-Pearson bounds."""
    if n == 0:
        return Verdict(claim, claimed, INCONCLUSIVE, measured, evidence, "no operations to judge")
    lower, upper = proportion_bounds(ok, n, confidence)
    evidence = {**evidence, "ok": ok, "n": n, "confidence": confidence, "lower-bound": lower, "upper-bound": upper}
    pct = f"{confidence:.0%}"
    if lower >= target:
        return Verdict(claim, claimed, CERTIFIED, measured, evidence,
                       f"{ok}/{n} ok; {pct} lower bound {lower:.6f} >= {target}")
    if upper < target:
        return Verdict(claim, claimed, VIOLATED, measured, evidence,
                       f"{ok}/{n} ok; {pct} upper bound {upper:.6f} < {target}")
    need = ops_needed(target, confidence) if target < 1 else None
    more = f"; with zero failures it would take {need} ops" if need else "; a rate of 1 cannot be certified"
    evidence["ops-needed-with-zero-failures"] = need
    return Verdict(claim, claimed, INCONCLUSIVE, measured, evidence,
                   f"{ok}/{n} ok: too few ops for {target} at {pct} (bounds {lower:.6f}..{upper:.6f}){more}")


def _availability(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    a = fig.availability
    evidence = {"failed-op-indices": list(fig.failed_indices[:20]),
                "downtimes": [d.to_json() for d in fig.downtimes[:5]]}
    return _judge_rate("availability", claimed, claimed, a.ok, a.n, claims.confidence, evidence, a.ratio)


def _p99(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    lat = fig.ok_latencies_ns
    within = sum(1 for x in lat if x <= claimed * 1_000_000)
    p99 = fig.latency_ns[0.99] / 1e6 if fig.latency_ns else None
    evidence = {"slowest-ms": [x / 1e6 for x in sorted(lat, reverse=True)[:5]],
                "rule": "share of ok ops within the limit, judged against 0.99"}
    return _judge_rate("p99_latency_ms", claimed, 0.99, within, len(lat), claims.confidence, evidence, p99)


def _rto(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    if not fig.recoveries:
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, None, {}, "no fault in the history")
    limit = claimed * 1e9
    worst = max(fig.recoveries, key=lambda r: r.rto_ns if r.rto_ns is not None else fig.end_ns - r.fault.start_ns)
    evidence = {"faults": len(fig.recoveries), "worst": worst.to_json()}
    over = [r for r in fig.recoveries if (r.rto_ns is not None and r.rto_ns > limit)
            or (r.rto_ns is None and fig.end_ns - r.fault.start_ns > limit)]
    measured = None if worst.rto_ns is None else worst.rto_ns / 1e9
    if over:
        r = over[0]
        what = f"{r.rto_ns / 1e9:.3f} s" if r.rto_ns is not None else "no recovery before the history ended"
        return Verdict("rto_seconds", claimed, VIOLATED, measured, {**evidence, "first-over": r.to_json()},
                       f"{r.fault.kind} at {r.fault.start_ns / 1e9:.3f} s on {r.fault.nodes}: {what}")
    if any(r.rto_ns is None for r in fig.recoveries):
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, measured, evidence,
                       "a fault had no recovery yet when the history ended, before the claimed time passed")
    return Verdict("rto_seconds", claimed, CERTIFIED, measured, evidence,
                   f"worst of {len(fig.recoveries)} faults: {measured:.3f} s ({worst.fault.kind})")


def _data_loss(claimed: int, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    used = {k: results[k] for k in DATA_LOSS_CHECKERS if k in results}
    if not used:
        return Verdict("data_loss", claimed, INCONCLUSIVE, None, {},
                       "no set, set-full or bank result (pass --model set|set-full|bank)")
    lost: dict[str, Any] = {}
    for name, r in used.items():
        d = r.details
        if name == "bank":
            money = d.get("money", {})
            lost[name] = money.get("appeared", 0) + money.get("vanished", 0) + d.get("errors", {}).get(
                "balance-mismatch", {}).get("count", 0)
        else:
            lost[name] = d.get("lost-count", 0)
    total = sum(lost.values())
    evidence = {"lost": lost, **{f"{k}-lost": used[k].details.get("lost", [])[:20] for k in used if k != "bank"}}
    if total > claimed:
        return Verdict("data_loss", claimed, VIOLATED, total, evidence, _lost_words(lost))
    unknown = [k for k, r in used.items() if r.valid == "unknown"]
    if unknown:
        return Verdict("data_loss", claimed, INCONCLUSIVE, total, evidence,
                       f"{', '.join(unknown)} could not decide: {used[unknown[0]].cause}")
    return Verdict("data_loss", claimed, CERTIFIED, total, evidence, _lost_words(lost))


def _lost_words(lost: dict[str, Any]) -> str:
    """``lost 0 (bank)``, ``lost 3 (set-full 2, bank 1)``."""
    by = ", ".join(lost) if not any(lost.values()) else ", ".join(f"{k} {v}" for k, v in lost.items())
    return f"lost {sum(lost.values())} ({by})"


def _consistency(claimed: str, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Violated when a checker found the history invalid; certified only by a valid result of a checker
    that tested ``claimed`` or a stronger model (Elle's, the linearizability checkers'): a bank or set
    checker can refute serializability but never prove it."""
    used = {k: r for k, r in results.items() if k not in NOT_CONSISTENCY}
    verdicts = {k: r.valid for k, r in used.items()}
    evidence = {k: r.to_json() for k, r in used.items()}
    if False in verdicts.values():
        return Verdict("consistency", claimed, VIOLATED, verdicts, evidence, "a checker found the history invalid")
    if "unknown" in verdicts.values():
        return Verdict("consistency", claimed, INCONCLUSIVE, verdicts, evidence,
                       "; ".join(f"{k}: {r.cause}" for k, r in used.items() if r.valid == "unknown"))
    vouching = [k for k, r in used.items() if any(implies(m, claimed) for m in r.details.get("consistency-models", ()))]
    if not vouching:
        tested = {k: r.details["consistency-models"] for k, r in used.items() if "consistency-models" in r.details}
        why = (f"the checkers tested weaker models only ({tested})" if tested else
               f"no checker here tests a consistency model ({', '.join(used) or 'none ran'}): run a list-append, "
               "rw-register or register workload (or pass --model with such a checker)")
        return Verdict("consistency", claimed, INCONCLUSIVE, verdicts, evidence, why)
    return Verdict("consistency", claimed, CERTIFIED, verdicts, evidence, f"valid under {', '.join(vouching)}")


def _staleness(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    samples = fig.staleness_samples_ns
    if not samples:
        return Verdict("staleness_ms", claimed, INCONCLUSIVE, None, {}, "no set-full style reads in the history")
    worst = max(samples) / 1e6
    evidence = {"elements": len(samples), "stale": sum(1 for s in samples if s > 0)}
    if worst > claimed:
        return Verdict("staleness_ms", claimed, VIOLATED, worst, evidence, f"an element took {worst:.3f} ms")
    return Verdict("staleness_ms", claimed, CERTIFIED, worst, evidence,
                   f"worst {worst:.3f} ms over {len(samples)} elements (at the resolution of the reads)")


CLAIMS: dict[str, ClaimSpec] = {s.key: s for s in (
    ClaimSpec("rto_seconds", (int, float), "a number", lambda x: x > 0, "> 0", _rto),
    ClaimSpec("availability", (int, float), "a number", lambda x: 0 < x <= 1, "in (0, 1]",
              _availability),
    ClaimSpec("data_loss", (int,), "an integer", lambda x: x >= 0, ">= 0", _data_loss),
    ClaimSpec("consistency", (str,), "a string", lambda x: x in ALL_MODELS,
              "a consistency model Elle knows (e.g. serializable)", _consistency),
    ClaimSpec("p99_latency_ms", (int, float), "a number", lambda x: x > 0, "> 0", _p99),
    ClaimSpec("staleness_ms", (int, float), "a number", lambda x: x >= 0, ">= 0", _staleness),
    ClaimSpec("confidence", (int, float), "a number", lambda x: 0.5 <= x < 1, "in [0.5, 1)", None),
)}


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return n
    return None


def load_claims(path: str | Path) -> Claims:
    """Read and validate a claims file; ClaimError with one line naming file, line and key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ClaimError(f"{path}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+)", str(e))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ClaimError(f"{where}: invalid TOML: {str(e).split(' (at line')[0]}") from None
    def where(key: str) -> str:
        line = _line_of(text, key)
        return f"{path}:{line}" if line else str(path)

    return claims_from_mapping(data, where, str(path))


def claims_from_mapping(data: Mapping[str, Any], where: Callable[[str], str], name: str) -> Claims:
    """Validate parsed claims; ``where(key)`` says where a key is written (``file:line``) for errors."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = CLAIMS.get(key)
        if spec is None:
            near = difflib.get_close_matches(key, CLAIMS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(CLAIMS)}"
            raise ClaimError(f"{where(key)}: {key}: unknown claim{hint}")
        if not isinstance(value, spec.types) or isinstance(value, bool):
            raise ClaimError(f"{where(key)}: {key}: expected {spec.type_name}, got {type(value).__name__} {value!r}")
        if not spec.check(value):
            raise ClaimError(f"{where(key)}: {key}: must be {spec.range_text}, got {value!r}")
        values[key] = value
    confidence = values.pop("confidence", 0.95)
    if not values:
        raise ClaimError(f"{name}: no claims; known: {', '.join(k for k, s in CLAIMS.items() if s.evaluate)}")
    return Claims(values, float(confidence))


def evaluate(claims: Claims, figures: SlaFigures, results: Mapping[str, Result] | None = None) -> list[Verdict]:
    """A verdict for every claim, from the history's figures and other checkers' results by name."""
    out = []
    for key, value in claims.values.items():
        judge = CLAIMS[key].evaluate
        assert judge is not None
        out.append(judge(value, claims, figures, results or {}))
    return out
