"""``chaoscert run``: tests on a real cluster (``--test-count`` of them), a printed summary per test,
and the suite's exit code over every test's verdict and claims: 1 anything violated or invalid, else
255 a run that failed (the tool or its infrastructure), else 2 anything undecided or a run cut short,
else 0."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from chaos.cli.app import app, fail
from chaos.cli.backend_options import (
    ImageOption,
    SshHostOption,
    SshInsecureOption,
    SshKeyOption,
    SshKnownHostsOption,
    SshSudoOption,
    SshUserOption,
    backend_options,
)
from chaos.report.rerun import rerun_command
from chaos.report.units import duration, measured, node_list, percent, seconds
from chaos.run.exits import EXIT_ERROR, exit_code
from chaos.run.runner import BACKENDS, DBS, NEMESES, WORKLOADS, RunSpec, fault_problems, run
from chaos.sla.claims import CERTIFIED, VIOLATED, ClaimError, load_claims, tool_delay_text
from workloads.sql import ISOLATION_LEVELS

__all__ = ["run_command"]


@app.command("run")
def run_command(
    db: Annotated[str, typer.Option(help=f"database: {', '.join(DBS)}")] = "seekdb",
    workload: Annotated[str, typer.Option(help=f"workload: {', '.join(WORKLOADS)}")] = "bank",
    nemesis: Annotated[str, typer.Option(help=f"faults, comma-separated, each with optional :targets "
                                               f"(alternatives a/b, node lists n1+n2): {', '.join(NEMESES)}; "
                                               f"e.g. kill:one/majority,partition:majorities-ring,clock")] = "kill",
    time_limit: Annotated[float, typer.Option(help="seconds of workload and faults")] = 60.0,
    concurrency: Annotated[str, typer.Option(help="client processes: N in all, or Nn per node (5n)")] = "1n",
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
    isolation: Annotated[str, typer.Option(help=f"SQL isolation level: {', '.join(ISOLATION_LEVELS)}")
                         ] = "serializable",
    consistency: Annotated[str | None, typer.Option(
        help="consistency model the transactional checkers test (default: the claimed one, else the "
             "isolation level's)")] = None,
    op_timeout: Annotated[float, typer.Option(help="seconds before a client op is abandoned")] = 5.0,
    accounts: Annotated[int, typer.Option(help="bank: number of accounts")] = 8,
    claims: Annotated[Path | None, typer.Option(help="claims TOML judged on each run")] = None,
    test_count: Annotated[int, typer.Option(help="run the test this many times (seed+i when --seed)")] = 1,
    results: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
    image: ImageOption = None,
    ssh_host: SshHostOption = None,
    ssh_user: SshUserOption = None,
    ssh_key: SshKeyOption = None,
    ssh_known_hosts: SshKnownHostsOption = None,
    ssh_insecure: SshInsecureOption = False,
    ssh_sudo: SshSudoOption = False,
    db_option: Annotated[list[str] | None, typer.Option(
        help="database option KEY=VALUE, repeatable: e.g. standby=true (seekdb), sync_wait=1 (galera), "
             "synchronous=true (postgres), settings={deadlock_timeout='20ms'}")] = None,
) -> None:
    """Run a test: set up the database, run the workload under faults, check, print a summary."""
    try:
        loaded = None if claims is None else load_claims(claims)
        if test_count < 1:
            raise ValueError(f"--test-count must be >= 1, not {test_count}")
        specs = [RunSpec(db=db, workload=workload, nemesis=nemesis, time_limit=time_limit, concurrency=concurrency,
                         nemesis_interval=nemesis_interval, nemesis_down=nemesis_down, nemesis_quiet=nemesis_quiet,
                         nemesis_grudge=nemesis_grudge, nemesis_packet=nemesis_packet, rate=rate,
                         seed=None if seed is None else seed + i, backend=backend, nodes=nodes, isolation=isolation,
                         consistency=consistency, op_timeout=op_timeout, accounts=accounts, claims=loaded,
                         claims_file=claims, results_dir=results, db_options=parse_db_options(db_option or [], db),
                         backend_options=backend_options(image, ssh_host, ssh_user, ssh_key, ssh_known_hosts,
                                                         ssh_insecure, ssh_sudo))
                 for i in range(test_count)]
    except (ValueError, ClaimError) as e:
        fail(str(e))
    verdicts: list[Any] = []
    errors = False
    for i, spec in enumerate(specs):
        if test_count > 1:
            typer.echo(f"== test {i + 1} of {test_count}")
        outcome = run(spec, say=lambda line: typer.echo(line, err=True))
        for line in summary(outcome.results):
            typer.echo(line)
        verdicts += [outcome.valid, *claim_validity(outcome.results)]
        if outcome.interrupted:
            verdicts.append("unknown")  # a partial history never passes
        errors = errors or bool(outcome.results.get("error"))
    code = exit_code(verdicts)
    raise typer.Exit(EXIT_ERROR if errors and code != 1 else code)


def claim_validity(results: dict[str, Any]) -> list[Any]:
    """Each claim's verdict as a validity: certified true, violated false, inconclusive unknown."""
    verdicts = (results.get("claims") or {}).get("verdicts", [])
    return [{CERTIFIED: True, VIOLATED: False}.get(c["verdict"], "unknown") for c in verdicts]


def recovery_line(r: dict[str, Any], zero: int = 0) -> str:
    """One injected fault's recovery, from results.json; times from ``zero`` (the history's first op)."""
    fault = r["fault"]

    def s(ns: int | None) -> str:
        return "never" if ns is None else duration(ns)

    head = (f"{fault['kind']} {node_list(fault['nodes'])} at {seconds(fault['start-ns'] - zero)}, healed at "
            f"{'never' if fault['end-ns'] is None else seconds(fault['end-ns'] - zero)}")
    if not r["observed"]:
        return f"{head}: no client request while it was in effect"
    held = r.get("tool-restart-delay-ns")
    return (f"{head}: clients affected {r['affected-clients'] or 'none'}; first answered after "
            f"{s(r['first-answer-ns'])}, all after {s(r['rto-ns'])} (RTO), {s(r['heal-to-recovery-ns'])} after the heal"
            + (tool_delay_text(held, fault["end-ns"] - fault["heal-begin-ns"], r["heal-to-recovery-ns"],
                               node_list(fault["nodes"]), s) if held is not None and fault["end-ns"] else "")
            + (f"; never answered again: {r['unrecovered-clients']}" if r["unrecovered-clients"] else ""))


def parse_db_options(items: list[str], db: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are TOML literals (true, 3, 'x', {a = 1}) or else plain strings."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--db-option: expected KEY=VALUE, not {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        options[key.strip().replace("-", "_")] = value
    adapter = DBS.get(db)
    if adapter is not None and options:
        params = inspect.signature(adapter).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            known = [name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
            unknown = sorted(set(options) - set(known))
            if unknown:
                raise ValueError(f"--db-option: {db} has no option {', '.join(unknown)}; "
                                 f"it takes: {', '.join(known)}")
    return options


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
    sla = figures.get("sla") or {}
    lines += fault_problems(results)
    for r in sla.get("recoveries", []):
        lines.append(recovery_line(r, sla.get("start-ns", 0)))
    if sla.get("availability-time", {}).get("ratio") is not None:
        t, a, ab = sla["availability-time"], sla["availability"], sla["aborts"]
        lines.append(f"availability (clients' time answered): {percent(t['ratio'])} ({seconds(t['down-ns'])} down of "
                     f"{seconds(t['observed-ns'])} over {t['clients']} clients); requests ok {a['ok']} of "
                     f"{a['attempted']}, refused or aborted {ab['ok']}")
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
    for c in (results.get("claims") or {}).get("verdicts", []):
        figure = measured(c["claim"], c["measured"])
        lines.append(f"claim {c['claim']} = {c['claimed']}: {c['verdict']} (measured {figure})"
                     + (f": {c['reason']}" if c.get("reason") else ""))
    for name, r in results.get("checkers", {}).items():
        cause = f" ({r['cause']})" if r.get("cause") else ""
        if r.get("lost-count") is not None:  # set, set-full: the data-loss figure
            cause += f"; lost {r['lost-count']} of {r.get('acknowledged-count', '?')} acknowledged"
        if r.get("divergent"):  # set: final reads of several nodes (split brain)
            lost = ", ".join(f"{node} {len(e)}" for node, e in r["lost-by-node"].items())
            cause += f"; final reads of the nodes differ (divergent; lost per node: {lost})"
        if r.get("anomaly-types"):
            cause += f"; anomalies {', '.join(r['anomaly-types'])}"
        lines.append(f"{name}: {str(r['valid?']).lower()}{cause}")
    cause = f" ({results['cause']})" if results.get("cause") else ""
    lines.append(f"valid?: {str(results['valid?']).lower()}{cause}")
    if results.get("parameters"):
        command, missing = rerun_command(results["parameters"])
        lines.append(f"rerun: {command}" + (f" (and {', '.join(missing)}, which no option gives)" if missing else ""))
    return lines
