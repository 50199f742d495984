"""A run folder as every writer reads it, from what is on disk (history.jsonl + results.json).

A :class:`RunView` is the results with secrets
scrubbed, the history, its SLA figures, and one :class:`Item` per claim and per checker.

Statuses: an item is ``pass`` (certified / valid), ``fail`` (violated / invalid) or ``unknown``
(inconclusive / unknown), and the run's status merges them as verdicts do (fail > unknown > pass).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.report.rerun import REDACTED
from chaos.report.store import RunDir
from checkers.formats import HistoryFormatError, read_history
from checkers.history import History
from checkers.sla import SlaFigures, sla_figures

__all__ = ["FAIL", "MIN_DOWNTIME_NS", "PASS", "UNKNOWN", "Item", "RunView", "load_view", "merge_status", "run_items",
           "scrub"]

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
_CLAIM_STATUS = {"certified": PASS, "violated": FAIL, "inconclusive": UNKNOWN}
_CHECKER_STATUS = {True: PASS, False: FAIL, "unknown": UNKNOWN}
SECRET = re.compile(r"pass(word|wd)?|secret|key|token|credential|auth", re.IGNORECASE)
MIN_DOWNTIME_NS = 1_000_000_000


@dataclass(frozen=True)
class Item:
    """One claim or one checker, as CI and the report show it."""

    kind: str  # "claim" | "checker" | "run"
    name: str
    verdict: str  # as the source says it: certified / violated / inconclusive, true / false / unknown
    status: str  # pass / fail / unknown
    message: str
    detail: Any


@dataclass(frozen=True)
class RunView:
    run: RunDir
    results: dict[str, Any]
    parameters: dict[str, Any]
    history: History | None
    history_problem: str | None
    figures: SlaFigures | None
    items: list[Item]

    @property
    def status(self) -> str:
        return merge_status(self.items)

    @property
    def interrupted(self) -> bool:
        return bool(self.results.get("interrupted"))

    @property
    def title(self) -> str:
        return f"{self.results.get('test') or self.run.test_name} / {self.run.stamp}"


def scrub(value: Any) -> Any:
    """A copy with every value under a secret-looking key (password, secret, key, token...) hidden."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET.search(str(k)) and v not in (None, "") else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _claim_items(results: dict[str, Any]) -> list[Item]:
    out = []
    for v in (results.get("claims") or {}).get("verdicts", []):
        verdict = str(v.get("verdict"))
        out.append(Item("claim", f"{v.get('claim')} {v.get('claimed')}", verdict,
                        _CLAIM_STATUS.get(verdict, UNKNOWN), str(v.get("reason", "")), v))
    return out


def _checker_items(results: dict[str, Any]) -> list[Item]:
    out = []
    for name, r in (results.get("checkers") or {}).items():
        valid = r.get("valid?", "unknown")
        status = _CHECKER_STATUS.get(valid, UNKNOWN)
        message = str(r.get("cause") or ("valid" if status == PASS else "invalid" if status == FAIL else "unknown"))
        out.append(Item("checker", str(name), str(valid).lower(), status, message, r))
    return out


def _run_items(results: dict[str, Any], history_problem: str | None) -> list[Item]:
    """The run itself as an item when it failed or was cut short: a partial run never passes silently."""
    problems = [p for p in (results.get("error") and f"the run failed: {results['error']}",
                            results.get("interrupted") and "the run was interrupted: the history is partial",
                            history_problem) if p]
    if not problems:
        return []
    return [Item("run", "run", "unknown", UNKNOWN, "; ".join(problems), None)]


def run_items(results: dict[str, Any], history_problem: str | None = None) -> list[Item]:
    """The run's problems, claims and checkers from results.json, in that order."""
    return [*_run_items(results, history_problem), *_claim_items(results), *_checker_items(results)]


def merge_status(items: list[Item]) -> str:
    """fail > unknown > pass; nothing checked at all is unknown, never a pass."""
    statuses = {i.status for i in items}
    return FAIL if FAIL in statuses else UNKNOWN if UNKNOWN in statuses or not items else PASS


def load_view(run_dir: Path) -> RunView:
    """Read a run folder; StoreError when results.json is unusable (the history may be missing)."""
    run = RunDir(Path(run_dir))
    results = run.load_results()
    history: History | None = None
    problem = None
    if run.history.exists():
        try:
            history = read_history(run.history)
        except HistoryFormatError as e:
            problem = f"the history cannot be read: {e}"
    else:
        problem = "no history was recorded"
    clients = (results.get("parameters") or {}).get("clients")
    figures = (sla_figures(history, min_downtime_ns=MIN_DOWNTIME_NS, concurrency=clients if isinstance(clients, int)
                           else None) if history is not None and len(history) else None)
    return RunView(run, results, scrub(results.get("parameters") or {}), history, problem, figures,
                   run_items(results, problem))
