"""``chaoscert run``: one test on a real cluster, a printed summary, and the exit code of ``check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chaos.cli import app, exit_code, fail
from chaos.runner import BACKENDS, DBS, NEMESES, WORKLOADS, RunSpec, run

__all__ = ["run_command"]


@app.command("run")
def run_command(
    db: Annotated[str, typer.Option(help=f"database: {', '.join(DBS)}")] = "seekdb",
    workload: Annotated[str, typer.Option(help=f"workload: {', '.join(WORKLOADS)}")] = "bank",
    nemesis: Annotated[str, typer.Option(help=f"faults, comma-separated, each with optional :targets "
                                               f"(alternatives a/b, node lists n1+n2): {', '.join(NEMESES)}; "
                                               f"e.g. kill:one/majority,partition:majorities-ring,clock")] = "kill",
    time_limit: Annotated[float, typer.Option(help="seconds of workload and faults")] = 60.0,
    concurrency: Annotated[int, typer.Option(help="client processes")] = 4,
    nemesis_interval: Annotated[float, typer.Option(help="seconds between faults")] = 10.0,
    nemesis_down: Annotated[float, typer.Option(help="seconds each fault lasts (a killed node stays down)")] = 2.0,
    nemesis_quiet: Annotated[float | None, typer.Option(help="seconds without faults at the start "
                                                         "(default: the interval)")] = None,
    nemesis_grudge: Annotated[str | None, typer.Option(help='partition:grudge as JSON, {"n1": ["n2", "n3"]}')] = None,
    nemesis_packet: Annotated[str | None, typer.Option(help='packet behaviour as JSON (default: a random one of '
                                                       'delay+jitter, loss, rate, duplicate, reorder), e.g. '
                                                       '{"delay-ms": 100, "jitter-ms": 10, "loss": 0.1, '
                                                       '"duplicate": 0, "reorder": 0, "rate-kbit": 0}')] = None,
    rate: Annotated[float, typer.Option(help="client ops per second, all processes together (upper bound)")] = 200.0,
    seed: Annotated[int | None, typer.Option(help="random seed: the same seed gives the same faults and targets "
                                                  "(default: random, recorded)")] = None,
    backend: Annotated[str, typer.Option(help=f"where nodes run: {', '.join(BACKENDS)}")] = "local",
    nodes: Annotated[int, typer.Option(help="number of nodes")] = 1,
    results: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
) -> None:
    """Run a test: set up the database, run the workload under faults, check, print a summary."""
    try:
        spec = RunSpec(db=db, workload=workload, nemesis=nemesis, time_limit=time_limit, concurrency=concurrency,
                       nemesis_interval=nemesis_interval, nemesis_down=nemesis_down, nemesis_quiet=nemesis_quiet,
                       nemesis_grudge=nemesis_grudge, nemesis_packet=nemesis_packet, rate=rate, seed=seed,
                       backend=backend, nodes=nodes, results_dir=results)
    except ValueError as e:
        fail(str(e))
    outcome = run(spec, say=lambda line: typer.echo(line, err=True))
    for line in summary(outcome.results):
        typer.echo(line)
    raise typer.Exit(exit_code([outcome.valid]))


def summary(results: dict[str, Any]) -> list[str]:
    """The lines printed after a run."""
    lines = []
    if results.get("interrupted"):
        lines.append("RUN CUT SHORT (interrupted): the history is partial")
    if results.get("error"):
        lines.append(f"run failed: {results['error']}")
    figures = results.get("figures", {})
    t = figures.get("throughput")
    if t:
        by = t["by-type"]
        lines.append(f"operations: {t['operations']} in {t['duration-s']} s ({t['ops-per-s']} ops/s, "
                     f"{t['ok-per-s']} ok/s): ok {by['ok']}, fail {by['fail']}, info {by['info']}")
        for f, counts in t["by-f"].items():
            lines.append(f"  {f}: " + ", ".join(f"{k} {counts[k]}" for k in ("ok", "fail", "info") if k in counts))
    for r in figures.get("recovery", []):
        rec = "never" if r["recovery-s"] is None else f"{r['recovery-s']} s"
        lines.append(f"kill {','.join(r['nodes'])} at {r['kill-s']} s, restarted at {r['restarted-s']} s, "
                     f"first ok op after kill: {rec}")
    bank = figures.get("bank")
    if bank:
        delta = bank["money-delta"]
        money = "unknown (no final read)" if delta is None else (
            "none" if delta == 0 else f"{abs(delta)} {'created' if delta > 0 else 'lost'}")
        lines.append(f"money lost or created: {money}; reads with a wrong total: {bank['reads-with-wrong-total']}"
                     f" of {bank['reads']}")
        missing = bank.get("transfers-acknowledged-missing")
        if missing is None:
            lines.append("acknowledged transfers missing after recovery: unknown (no final read)")
        else:
            lines.append(f"acknowledged transfers missing after recovery: "
                         f"{missing} of {bank.get('transfers-acknowledged')}; "
                         f"failed but committed: {bank.get('transfers-failed-but-committed-count')}; "
                         f"indeterminate: {bank.get('transfers-indeterminate')} "
                         f"({bank.get('transfers-indeterminate-committed')} committed)")
    for name, r in results.get("checkers", {}).items():
        cause = f" ({r['cause']})" if r.get("cause") else ""
        lines.append(f"{name}: {str(r['valid?']).lower()}{cause}")
    cause = f" ({results['cause']})" if results.get("cause") else ""
    lines.append(f"valid?: {str(results['valid?']).lower()}{cause}")
    return lines
