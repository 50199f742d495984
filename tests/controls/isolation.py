"""Run one short list-append test through the runner and name the anomalies in its history.

The runner's verdict is checked at the consistency model a control claims (e.g. snapshot-isolation);
the same history is then checked at ``serializable``, which searches every anomaly kind (G2-item
included), so a control can say which kinds appeared, not only whether the claimed model held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.run.runner import RunResult, RunSpec, run
from checkers.formats import read_history
from checkers.registry import CheckOptions, get_checker

__all__ = ["Control", "run_isolation"]

CLIENTS = "10"
SECONDS = 8.0


@dataclass(frozen=True)
class Control:
    result: RunResult
    anomalies: dict[str, int]  # kind -> count, from the check at serializable
    committed: int
    txn_per_s: float

    @property
    def kinds(self) -> set[str]:
        return set(self.anomalies)

    def summary(self) -> str:
        return (f"{self.result.results['test']}: valid? {self.result.valid}; {self.committed} committed "
                f"({self.txn_per_s:.0f} txn/s); anomalies {self.anomalies or 'none'}")


def run_isolation(tmp_path: Path, db: str, isolation: str, consistency: str, *, nodes: int = 1,
                  workload: str = "list-append", seconds: float = SECONDS, clients: str = CLIENTS,
                  db_options: dict[str, Any] | None = None) -> Control:
    result = run(RunSpec(db=db, workload=workload, nemesis="none", backend="netns", nodes=nodes,
                         time_limit=seconds, concurrency=clients, isolation=isolation, consistency=consistency,
                         rate=10_000, db_options=db_options or {}, results_dir=tmp_path), say=lambda _: None)
    assert "error" not in result.results, result.results.get("error")
    history = read_history(result.directory / "history.jsonl")
    everything = get_checker(workload)(history, CheckOptions(consistency_models=("serializable",)))
    anomalies = {kind: len(found) for kind, found in (everything.details.get("anomalies") or {}).items()}
    throughput = result.results["figures"]["throughput"]
    control = Control(result, anomalies, throughput["by-type"]["ok"], throughput["ok-per-s"])
    print(control.summary())
    return control
