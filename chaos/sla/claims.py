"""SLA claims: a TOML file of promises, each judged certified, violated or inconclusive.

A claims file::

    rto_seconds = 8            # every injected fault: every affected client answered again within 8 s
    availability = 0.9999      # share of time the clients were answered (per client, summed)
    data_loss = 0              # acknowledged writes lost (set, set-full, bank-log) or money lost/created (bank)
    consistency = "serializable"
    p99_latency_ms = 250       # every request counts: failed ones at their latency, timed-out ones censored
    staleness_ms = 1           # set-full: acknowledged element visible to every read within 1 ms
    confidence = 0.95          # for proportions (optional; default 0.95)
    rto_quantile = 0.95        # certificates: share of faults of each kind that must recover in time
    [fault_model]              # certificates: faults per year by kind, for the projected availability
    kill = 12

Every verdict names its evidence (requests, faults injected, elements read, seconds observed); a
claim whose evidence is empty or too coarse to resolve it is inconclusive and says what is missing
(the README's "How claims are judged" is the contract). The p99 claim is judged with exact
one-sided Clopper-Pearson bounds at ``confidence``. Claims that need a checker's result (data loss,
consistency) read it from ``results``, a dict of checker name to Result that the runner or the CLI
passes in. Adding a claim is adding one small evaluation function and one :class:`ClaimSpec` to
``CLAIMS``.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checkers.elle.models import ALL_MODELS, implies
from checkers.result import Result
from checkers.sla import FaultRecovery, SlaFigures
from checkers.sla_stats import proportion_bounds
from checkers.sla_stats import trials_needed as ops_needed

__all__ = ["CLAIMS", "ClaimError", "ClaimSpec", "Claims", "Verdict", "claims_from_mapping", "evaluate", "load_claims",
           "merge_verdicts", "ops_needed", "proportion_bounds"]

CERTIFIED, VIOLATED, INCONCLUSIVE = "certified", "violated", "inconclusive"
DATA_LOSS_CHECKERS = ("set", "set-full", "bank", "bank-log")
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
    rto_quantile: float = 0.95
    fault_model: dict[str, float] | None = None  # faults per year by kind (see chaos/certificate/document.py)

    def to_mapping(self) -> dict[str, Any]:
        """The claims as a claims file would state them (settings included)."""
        out = {**self.values, "confidence": self.confidence, "rto_quantile": self.rto_quantile}
        return out if self.fault_model is None else {**out, "fault_model": dict(self.fault_model)}


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
    timed: bool = False  # judged on the ops' times: inconclusive for a history without them


def _judge_rate(claim: str, claimed: Any, target: float, ok: int, n: int, confidence: float,
                evidence: dict[str, Any], measured: Any, counted: str = "ok") -> Verdict:
    """Judge a success rate against ``target`` with Clopper-Pearson bounds; ``counted`` says what ``ok`` counts."""
    if n == 0:
        return Verdict(claim, claimed, INCONCLUSIVE, measured, evidence, "no operations to judge")
    lower, upper = proportion_bounds(ok, n, confidence)
    evidence = {**evidence, "ok": ok, "n": n, "confidence": confidence, "lower-bound": lower, "upper-bound": upper}
    pct = f"{confidence:.0%}"
    if lower >= target:
        return Verdict(claim, claimed, CERTIFIED, measured, evidence,
                       f"{ok}/{n} {counted}; {pct} lower bound {lower:.6f} >= {target}")
    if upper < target:
        return Verdict(claim, claimed, VIOLATED, measured, evidence,
                       f"{ok}/{n} {counted}; {pct} upper bound {upper:.6f} < {target}")
    need = ops_needed(target, confidence) if target < 1 else None
    more = f"; with zero failures it would take {need} ops" if need else "; a rate of 1 cannot be certified"
    evidence["ops-needed-with-zero-failures"] = need
    return Verdict(claim, claimed, INCONCLUSIVE, measured, evidence,
                   f"{ok}/{n} {counted}: too few ops for {target} at {pct} (bounds {lower:.6f}..{upper:.6f}){more}")


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e9, 6)


def _availability(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """The clients' time-based availability. Each outage is known to lie between its unanswered
    requests and the answered requests around it; one shorter than a request interval may hide between
    two requests. Certified only when no fault went unseen: by every client, or by the clients idle or
    stalled in it."""
    measured = fig.time_availability
    n = len(fig.clients)
    evidence: dict[str, Any] = {
        "seconds-observed": _seconds(fig.observed_ns), "clients": n, "client-down-seconds": _seconds(fig.down_ns),
        "client-unseen-fault-seconds": _seconds(fig.unseen_ns),
        "request-interval-ms": None if fig.request_interval_ns is None else fig.request_interval_ns / 1e6,
        "ok-over-attempted": fig.availability.to_json(), "answered-over-attempted": fig.answered.to_json(),
        "aborts": fig.aborts.to_json(), "downtimes": [d.to_json() for d in fig.downtimes[:5]]}
    if measured is None or n == 0 or fig.availability.ok == 0:
        return Verdict("availability", claimed, INCONCLUSIVE, measured, evidence,
                       "no client request in the history" if n == 0 else "no request succeeded: refusals and "
                       "aborts alone do not show a working service")
    seconds, down, unseen = fig.observed_ns / n / 1e9, fig.down_ns / n / 1e9, fig.unseen_ns / n / 1e9  # per client
    interval = (fig.request_interval_ns or 0) / 1e9
    least = fig.down_least_ns / n / 1e9
    most = max(fig.down_most_ns / n / 1e9, down + interval)  # at least one outage may hide between two requests
    budget = (1 - claimed) * seconds
    evidence.update({"allowed-down-seconds-per-client": budget, "down-seconds-per-client": down,
                     "down-seconds-per-client-least": least, "down-seconds-per-client-most": most,
                     "unseen-fault-seconds-per-client": unseen})
    said = (f"clients answered {measured:.6f} of the time ({down:.3f} s down per client of {seconds:.1f} s, "
            f"{n} clients; {fig.answered.ok}/{fig.answered.n} requests answered, {fig.aborts.ok} of them refusals "
            f"or aborts)")
    if least > budget:
        return Verdict("availability", claimed, VIOLATED, measured, evidence,
                       f"{said}: at least {least:.3f} s down per client, more than the {budget:.3f} s allowed")
    unobserved = sum(1 for r in fig.recoveries if not r.observed)
    if unobserved:
        return Verdict("availability", claimed, INCONCLUSIVE, measured, evidence,
                       f"{said}: {unobserved} of {len(fig.recoveries)} faults had no client request while in effect")
    if most <= budget < most + unseen:
        return Verdict("availability", claimed, INCONCLUSIVE, measured, evidence,
                       f"{said}: the clients, idle or stalled on a request, learnt nothing in {unseen:.3f} s of "
                       f"fault time per client, in which they may have been down for more than the {budget:.3f} s "
                       "allowed")
    if most <= budget and interval > 0:
        return Verdict("availability", claimed, CERTIFIED, measured, evidence,
                       f"{said}: at most {most:.3f} s down per client, within the {budget:.3f} s allowed")
    need = most / (1 - claimed) if claimed < 1 else None
    more = (f"; a run of at least {need:.0f} s per client with this downtime could decide" if need and interval > 0
            else "; 100 % cannot be certified from a finite run" if claimed >= 1 else "")
    return Verdict("availability", claimed, INCONCLUSIVE, measured, evidence,
                   f"{said}: {least:.3f} to {most:.3f} s down per client (an outage may have begun once the "
                   f"answered request before it was sent, ended after its last unanswered request, or hidden "
                   f"between two requests {interval * 1e3:.0f} ms apart): the {budget:.3f} s allowed is in "
                   f"between{more}")


def _p99(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Every request counts; an unanswered one is censored (at least its latency): it counts as within
    the limit for the upper bound only."""
    limit = claimed * 1_000_000
    lat = fig.latencies
    within = sum(1 for x in lat if not x.censored and x.ns <= limit)
    maybe = within + sum(1 for x in lat if x.censored and x.ns <= limit)
    p99 = fig.latency_ns[0.99] / 1e6 if fig.latency_ns else None
    evidence = {"requests": len(lat), "censored": fig.latency_censored,
                "slowest-ms": [x.ns / 1e6 for x in sorted(lat, key=lambda x: x.ns, reverse=True)[:5]],
                "rule": "share of requests within the limit (failed ones at their latency, timed-out ones "
                        "censored), judged against 0.99"}
    if fig.availability.ok == 0:
        return Verdict("p99_latency_ms", claimed, INCONCLUSIVE, p99, evidence,
                       "no request succeeded: how fast failures come back does not show a working service")
    low = _judge_rate("p99_latency_ms", claimed, 0.99, within, len(lat), claims.confidence, evidence, p99, "within")
    if low.verdict != VIOLATED or maybe == within:
        return low
    high = _judge_rate("p99_latency_ms", claimed, 0.99, maybe, len(lat), claims.confidence, evidence, p99,
                       "within at most")
    if high.verdict == VIOLATED:
        return high
    return Verdict("p99_latency_ms", claimed, INCONCLUSIVE, p99, evidence,
                   f"{within} to {maybe} of {len(lat)} requests within {claimed} ms: {maybe - within} timed out "
                   f"before the limit, their latency is unknown")


def _rto(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Every injected fault: every affected client answered again within the claim."""
    failed = [{"kind": f.kind, "nodes": f.nodes, "error": f.injection_error} for f in fig.faults if not f.injected]
    records = fig.recoveries
    uncertain = [r for r in records if r.fault.uncertain]
    evidence: dict[str, Any] = {"faults-injected": len(records), "faults-not-injected": failed,
                                "faults-uncertain": [{"kind": r.fault.kind, "nodes": r.fault.nodes,
                                                      "error": r.fault.injection_error} for r in uncertain],
                                "heal-errors": [f.heal_error for f in fig.faults if f.heal_error]}
    if not records:
        why = "no fault in the history" if not failed else f"no fault was injected ({len(failed)} injections failed)"
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, None, evidence, why)
    limit = claimed * 1e9

    def rto(r: FaultRecovery) -> int:  # never answered again: at least as long as a client was seen waiting
        return r.rto_ns if r.rto_ns is not None else r.unrecovered_waited_ns or 0

    def least(r: FaultRecovery) -> int:  # never answered again: as rto(), from the injection's completion
        if r.fault.uncertain:  # it may not have happened: nothing to recover from
            return 0
        if r.rto_least_ns is not None:
            return r.rto_least_ns
        return max((r.unrecovered_waited_ns or 0) - r.fault.injection_ns, 0)

    seen = [r for r in records if r.observed]
    worst = max(seen, key=rto) if seen else records[0]
    evidence["worst"] = worst.to_json()
    measured = _seconds(worst.rto_ns) if seen else None
    over = [r for r in seen if least(r) > limit]
    unsure = [r for r in seen if rto(r) > limit >= least(r)]
    if unsure and not over:
        r = unsure[0]
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, measured, {**evidence, "first-unsure": r.to_json()},
                       f"{r.fault.kind} at {r.fault.start_ns / 1e9:.3f} s on {r.fault.nodes}: "
                       f"{least(r) / 1e9:.3f} to {rto(r) / 1e9:.3f} s until every affected client was answered "
                       f"again: {_unsure_text(r)}")
    if over:
        r = over[0]
        what = (f"{least(r) / 1e9:.3f} s at least until all of clients {list(r.affected)} were answered again"
                if r.rto_ns is not None else f"clients {list(r.unrecovered)} never answered again: one waited "
                f"{rto(r) / 1e9:.3f} s unanswered before the run ended")
        return Verdict("rto_seconds", claimed, VIOLATED, measured, {**evidence, "first-over": r.to_json()},
                       f"{r.fault.kind} at {r.fault.start_ns / 1e9:.3f} s on {r.fault.nodes}: {what}{_held(r)}")
    if len(uncertain) == len(records):
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, measured, evidence,
                       f"no fault surely took effect: {len(uncertain)} injections ended with an error or never "
                       f"completed ({uncertain[0].fault.injection_error})")
    if len(seen) < len(records):
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, measured, evidence,
                       f"{len(records) - len(seen)} of {len(records)} faults had no client request while in effect")
    if any(r.rto_ns is None for r in seen):
        return Verdict("rto_seconds", claimed, INCONCLUSIVE, measured, evidence,
                       "a client was not answered again before it stopped asking, and had waited less than the "
                       "claimed time")
    return Verdict("rto_seconds", claimed, CERTIFIED, measured, evidence,
                   f"worst of {len(records)} injected faults: {measured:.3f} s until every affected client was "
                   f"answered ({worst.fault.kind}){_held(worst)}")


def _unsure_text(r: FaultRecovery) -> str:
    """Why a fault's RTO is known only between its bounds."""
    if r.fault.uncertain:
        return f"its injection's outcome is unknown ({r.fault.injection_error}): it may not have taken effect"
    took = f"the fault took effect at the injection's end or up to {r.fault.injection_ns / 1e9:.3f} s before, "
    if r.blind_until_ns > r.slowest_answer_ns:
        return (took + f"and a client idle or stalled in it learnt nothing until {r.blind_until_ns / 1e9:.3f} s after "
                "it began (it may have been down all along)")
    return took + f"and a client waited {r.slowest_answer_ns / 1e9:.3f} s for one answer while it was in effect"


def _held(r: FaultRecovery) -> str:
    held, f = r.tool_delay_ns, r.fault
    if held is None or f.end_ns is None or f.heal_begin_ns is None:
        return ""
    return tool_delay_text(held, f.end_ns - f.heal_begin_ns, r.heal_to_recovery_ns, f.nodes,
                           lambda ns: f"{ns / 1e9:.3f} s")


def tool_delay_text(held_ns: int, restart_ns: int, heal_to_recovery_ns: int | None, nodes: Any,
                    show: Callable[[int], str]) -> str:
    """How the time the tool kept a killed or paused node down relates to a fault's RTO: part of it when
    the clients waited for the restart, none of it when they were answered while the node was down
    (before the restart began: ``restart_ns`` or more before the heal completed)."""
    if heal_to_recovery_ns is not None and heal_to_recovery_ns < -restart_ns:
        return f"; by then {nodes} was still down (the tool kept it down {show(held_ns)})"
    return (f"; of which {show(held_ns)} the tool kept {nodes} down before it began the restart, and the "
            f"restart took {show(restart_ns)}")


def _losses(name: str, d: Mapping[str, Any]) -> tuple[int | None, int, str | None]:
    """(lost, acknowledged writes checked, what is unknown) from one checker's details."""
    if name == "bank":
        money = d.get("money") or {}
        unreflected = money.get("unreflected-transfers")
        lost = (money.get("appeared", 0) + money.get("vanished", 0)
                + d.get("errors", {}).get("balance-mismatch", {}).get("count", 0) + len(unreflected or []))
        why = None if money and unreflected is not None else (
            money.get("unreflected-cause") or "no final read: money lost or created is unknown")
        return lost, money.get("acknowledged-transfers", 0), why
    if name == "bank-log":
        return d.get("acknowledged-missing"), d.get("acknowledged", 0), None
    unseen = d.get("never-read-acknowledged-count", 0)
    why = f"{unseen} acknowledged elements no read could have seen" if unseen else None
    lost = d.get("lost-count")
    if name == "set" and lost is not None:  # Jepsen's set counts them lost; set-full never-read
        lost -= unseen
    return lost, d.get("acknowledged-count", d.get("known-count", 0)), why


def _data_loss(claimed: int, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Every loss signal of the data-loss checkers; certified only when each could see every
    acknowledged write it checked, and at least one was checked."""
    used = {k: results[k] for k in DATA_LOSS_CHECKERS if k in results}
    if not used:
        return Verdict("data_loss", claimed, INCONCLUSIVE, None, {},
                       "no set, set-full, bank or bank-log result (pass --model set|set-full|bank|bank-log)")
    lost: dict[str, int | None] = {}
    checked: dict[str, int] = {}
    unknown: dict[str, str] = {}
    for name, r in used.items():
        lost[name], checked[name], why = _losses(name, r.details)
        if r.valid == "unknown" or lost[name] is None:
            why = r.cause or why or "could not decide"
        if why:
            unknown[name] = why
    total = max((x for x in lost.values() if x), default=0)  # the same lost writes, seen by several checkers
    evidence = {"lost": lost, "acknowledged-writes-checked": checked, "undecided": unknown,
                **{f"{k}-lost": used[k].details.get("lost", [])[:20] for k in used if k != "bank"}}
    if total > claimed:
        return Verdict("data_loss", claimed, VIOLATED, total, evidence, _lost_words(lost))
    if unknown:
        return Verdict("data_loss", claimed, INCONCLUSIVE, total, evidence,
                       "; ".join(f"{k}: {why}" for k, why in unknown.items()))
    if not any(checked.values()):
        return Verdict("data_loss", claimed, INCONCLUSIVE, total, evidence, "no acknowledged write to check")
    return Verdict("data_loss", claimed, CERTIFIED, total, evidence,
                   f"{_lost_words(lost)} of {sum(v or 0 for v in checked.values())} acknowledged writes checked")


def _lost_words(lost: Mapping[str, int | None]) -> str:
    """``lost 0 (bank)``, ``lost 3 (set-full 2, bank 1)``: the most any checker saw, and by whom."""
    by = ", ".join(lost) if not any(lost.values()) else ", ".join(f"{k} {v}" for k, v in lost.items() if v)
    return f"lost {max((v or 0 for v in lost.values()), default=0)} ({by})"


def _consistency(claimed: str, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Violated when a checker found the history invalid; certified only by a valid result of a checker
    that tested ``claimed`` or a stronger model (Elle's, the linearizability checkers'), on a history
    with at least one ok op that read and one that wrote: a bank or set checker can refute
    serializability but never prove it, and nothing proves it on nothing."""
    used = {k: r for k, r in results.items() if k not in NOT_CONSISTENCY}
    verdicts = {k: r.valid for k, r in used.items()}
    evidence = {"ok-reads": fig.ok_reads, "ok-writes": fig.ok_writes, **{k: r.to_json() for k, r in used.items()}}
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
    if fig.ok_reads < 1 or fig.ok_writes < 1:
        return Verdict("consistency", claimed, INCONCLUSIVE, verdicts, evidence,
                       f"{fig.ok_reads} ok reads and {fig.ok_writes} ok writes: the floor is one of each")
    return Verdict("consistency", claimed, CERTIFIED, verdicts, evidence,
                   f"valid under {', '.join(vouching)} ({fig.ok_reads} ok reads, {fig.ok_writes} ok writes)")


def _staleness(claimed: float, claims: Claims, fig: SlaFigures, results: Mapping[str, Result]) -> Verdict:
    """Measured staleness is a lower bound; the most it can be is until the first read after an
    element's last absent read completed (every later read saw it)."""
    samples = fig.staleness_samples_ns
    if not samples:
        return Verdict("staleness_ms", claimed, INCONCLUSIVE, None, {}, "no set-full style reads in the history")
    worst = max(samples) / 1e6
    most = None if fig.staleness_most_ns is None else fig.staleness_most_ns / 1e6
    cadence = (fig.read_cadence_ns or 0) / 1e6
    evidence = {"elements": len(samples), "stale": sum(1 for s in samples if s > 0), "read-cadence-ms": cadence,
                "most-ms": most}
    if worst > claimed:
        return Verdict("staleness_ms", claimed, VIOLATED, worst, evidence, f"an element took {worst:.3f} ms")
    if most is None:
        return Verdict("staleness_ms", claimed, INCONCLUSIVE, worst, evidence,
                       f"worst {worst:.3f} ms, but no read came after some element's last absent read")
    if most > claimed:
        return Verdict("staleness_ms", claimed, INCONCLUSIVE, worst, evidence,
                       f"worst {worst:.3f} ms to {most:.3f} ms: reads came too far apart (median {cadence:.3f} ms) "
                       f"for {claimed} ms")
    return Verdict("staleness_ms", claimed, CERTIFIED, worst, evidence,
                   f"at most {most:.3f} ms over {len(samples)} elements (measured worst {worst:.3f} ms)")


def _fault_model_ok(model: dict[str, Any]) -> bool:
    return bool(model) and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                               for v in model.values())


def merge_verdicts(verdicts: Iterable[str]) -> str:
    """violated > inconclusive > certified; nothing judged is inconclusive."""
    found = set(verdicts)
    return VIOLATED if VIOLATED in found else INCONCLUSIVE if INCONCLUSIVE in found or not found else CERTIFIED


CLAIMS: dict[str, ClaimSpec] = {s.key: s for s in (
    ClaimSpec("rto_seconds", (int, float), "a number", lambda x: x > 0, "> 0", _rto, timed=True),
    ClaimSpec("availability", (int, float), "a number", lambda x: 0 < x <= 1, "in (0, 1]",
              _availability, timed=True),
    ClaimSpec("data_loss", (int,), "an integer", lambda x: x >= 0, ">= 0", _data_loss),
    ClaimSpec("consistency", (str,), "a string", lambda x: x in ALL_MODELS,
              "a consistency model Elle knows (e.g. serializable)", _consistency),
    ClaimSpec("p99_latency_ms", (int, float), "a number", lambda x: x > 0, "> 0", _p99, timed=True),
    ClaimSpec("staleness_ms", (int, float), "a number", lambda x: x >= 0, ">= 0", _staleness, timed=True),
    ClaimSpec("confidence", (int, float), "a number", lambda x: 0.5 <= x < 1, "in [0.5, 1)", None),
    ClaimSpec("rto_quantile", (int, float), "a number", lambda x: 0 < x < 1, "in (0, 1)", None),
    ClaimSpec("fault_model", (dict,), "a table of faults per year by kind", _fault_model_ok,
              "a table of kind = faults per year (numbers >= 0)", None),
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
    except ValueError as e:  # an integer past Python's digit limit
        raise ClaimError(f"{path}: invalid TOML: {str(e).split(':')[0]}") from None
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
        if isinstance(value, (int, float)) and not (abs(value) < 10**15 and math.isfinite(value)):
            raise ClaimError(f"{where(key)}: {key}: must be {spec.range_text}, got a number out of range")
        if not spec.check(value):
            raise ClaimError(f"{where(key)}: {key}: must be {spec.range_text}, got {value!r}")
        values[key] = value
    confidence = values.pop("confidence", 0.95)
    quantile = values.pop("rto_quantile", 0.95)
    model = values.pop("fault_model", None)
    if not values:
        raise ClaimError(f"{name}: no claims; known: {', '.join(k for k, s in CLAIMS.items() if s.evaluate)}")
    return Claims(values, float(confidence), float(quantile),
                  None if model is None else {str(k): float(v) for k, v in model.items()})


def evaluate(claims: Claims, figures: SlaFigures, results: Mapping[str, Result] | None = None) -> list[Verdict]:
    """A verdict for every claim, from the history's figures and other checkers' results by name."""
    out = []
    for key, value in claims.values.items():
        spec = CLAIMS[key]
        assert spec.evaluate is not None
        if spec.timed and not figures.timed:  # history.txt, Knossos: times are positions in the file, not ns
            out.append(Verdict(key, value, INCONCLUSIVE, None, {}, "the history gives no op a time"))
            continue
        if spec.timed and figures.backwards:
            out.append(Verdict(key, value, INCONCLUSIVE, None, {}, f"{figures.backwards} ops completed before they "
                               "were invoked: the history's times cannot be trusted"))
            continue
        out.append(spec.evaluate(value, claims, figures, results or {}))
    return out
