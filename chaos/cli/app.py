"""The ``chaoscert`` command line.

Exit codes follow elle-cli: 0 all valid, 1 something invalid, 2 nothing invalid but something
unknown, 255 on an error (bad input, bad option). Errors are one line, never a stack trace.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer import rich_utils

from chaos.report.units import measured
from checkers import CheckOptions, HistoryFormatError, checker_names, get_checker, read_history
from checkers.compose import check_safe as run_checker
from checkers.formats import FORMATS, write_history
from checkers.result import UNKNOWN, merge_validity

__all__ = ["EXIT_ERROR", "app", "exit_code", "fail", "main"]

EXIT_ERROR = 255

PIPED_WIDTH = 120  # --help's width when stdout is no terminal (a pipe, a file, a CI log)
app = typer.Typer(name="chaoscert", no_args_is_help=True, add_completion=False,
                  help="Fault injection on real database clusters, history checking, SLA certification.")
history_app = typer.Typer(no_args_is_help=True, help="Read, convert and summarise history files.")
app.add_typer(history_app, name="history")


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit 255."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def exit_code(verdicts: list[Any]) -> int:
    """0 all true, 1 any false, 2 any unknown and none false."""
    return {True: 0, False: 1, UNKNOWN: 2}[merge_validity(verdicts)]


def _json_default(x: Any) -> Any:
    if isinstance(x, (set, frozenset)):
        return sorted(x, key=repr)
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "to_json"):
        return x.to_json()
    return repr(x)


def to_json(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, default=_json_default, indent=indent)


FormatOption = Annotated[str | None, typer.Option("--format", help=f"history format: {', '.join(FORMATS)}")]


@app.command()
def version() -> None:
    """Print chaoscert's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        typer.echo(f"chaoscert {dist_version('chaoscert')}")
    except PackageNotFoundError:
        typer.echo("chaoscert (not installed)")


@history_app.command("convert")
def history_convert(
    source: Annotated[Path, typer.Argument(help="history to read")],
    target: Annotated[Path, typer.Argument(help="file to write (.jsonl or .edn)")],
    fmt: FormatOption = None,
    to: Annotated[str | None, typer.Option(help="output format: jsonl or edn")] = None,
) -> None:
    """Convert a history between formats (any readable format to JSON Lines or EDN)."""
    history = read_history(source, fmt)
    write_history(history, target, to)
    typer.echo(f"wrote {len(history)} ops to {target}")


@history_app.command("stats")
def history_stats(
    path: Annotated[Path, typer.Argument(help="history file")],
    fmt: FormatOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Counts by type and f, processes, time span, and problems such as unpaired ops."""
    history = read_history(path, fmt)
    stats = history.stats()
    if as_json:
        typer.echo(to_json({"file": str(path), **stats}, indent=2))
        return
    typer.echo(f"{path}: {stats['ops']} ops ({stats['client-ops']} client, {stats['nemesis-ops']} nemesis), "
               f"{stats['operations']} client operations, {stats['processes']} processes, "
               f"{stats['time-span-ns'] / 1e9:.3f} s")
    typer.echo("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["by-type"].items())))
    for f, counts in stats["by-f"].items():
        typer.echo(f"  {f}: " + ", ".join(f"{k} {counts[k]}" for k in ("ok", "fail", "info") if k in counts))
    if stats["never-completed"]:
        typer.echo(f"  never completed (count as info): {stats['never-completed']}")
    for kind, n in sorted(stats["problems"].items()):
        typer.echo(f"  problem: {kind} x{n}")


def _split_list(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for raw in values or [] for v in raw.split(",") if v.strip())


def _parse_initial_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="history files")],
    model: Annotated[str, typer.Option("-m", "--model", help="checker to run (see `chaoscert models`)")],
    fmt: FormatOption = None,
    consistency_models: Annotated[list[str] | None, typer.Option(
        "-c", "--consistency-models", help="Elle consistency models, comma-separated")] = None,
    anomalies: Annotated[list[str] | None, typer.Option(
        "-a", "--anomalies", help="Elle anomalies to look for, comma-separated")] = None,
    cycle_search_timeout: Annotated[int, typer.Option(help="Elle cycle search time limit (ms)")] = 1000,
    directory: Annotated[Path | None, typer.Option("-d", "--directory", help="write explanations here")] = None,
    total_amount: Annotated[int | None, typer.Option(help="bank: total money")] = None,
    allow_negative_balances: Annotated[bool, typer.Option(help="bank: negative balances are legal")] = False,
    max_transfer: Annotated[int | None, typer.Option(help="bank: largest transfer")] = None,
    group_size: Annotated[int | None, typer.Option(help="long-fork: keys per group")] = None,
    initial_value: Annotated[str | None, typer.Option(help="register models: initial value (JSON)")] = None,
    nil_is_empty: Annotated[bool, typer.Option(help="register models: nil reads mean empty")] = False,
    independent: Annotated[bool, typer.Option(help="check each [key value] key on its own")] = False,
    time_limit: Annotated[float | None, typer.Option(help="give up after S seconds: unknown")] = None,
    html: Annotated[Path | None, typer.Option(help="write an HTML view of the check")] = None,
    wfr_keys: Annotated[bool, typer.Option(help="rw-register: writes follow reads within a txn")] = False,
    sequential_keys: Annotated[bool, typer.Option(help="rw-register: per-process version order")] = False,
    linearizable_keys: Annotated[bool, typer.Option(help="rw-register: realtime version order")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print each file's full result as JSON")] = False,
) -> None:
    """Check history files; prints `PATH<TAB>true|false|unknown` per file (elle-cli's contract)."""
    try:
        checker = get_checker(model)
    except KeyError as e:
        fail(e.args[0])
    if consistency_models:
        from checkers.elle.models import validate_models

        try:
            validate_models(_split_list(consistency_models))
        except ValueError as e:
            fail(f"--consistency-models: {e}")
    options = CheckOptions(
        consistency_models=_split_list(consistency_models) or ("strict-serializable",),
        anomalies=_split_list(anomalies), cycle_search_timeout_ms=cycle_search_timeout, directory=directory,
        total_amount=total_amount, allow_negative_balances=allow_negative_balances, max_transfer=max_transfer,
        group_size=group_size, initial_value=_parse_initial_value(initial_value), nil_is_empty=nil_is_empty,
        independent=independent, time_limit_s=time_limit, html=html, wfr_keys=wfr_keys,
        sequential_keys=sequential_keys, linearizable_keys=linearizable_keys,
    )
    verdicts: list[Any] = []
    errors = 0
    for path in files:
        try:
            history = read_history(path, fmt)
        except HistoryFormatError as e:
            typer.echo(f"chaoscert: {e}", err=True)
            errors += 1
            continue
        result = run_checker(checker, history, options)
        verdicts.append(result.valid)
        if as_json:
            typer.echo(to_json({"file": str(path), **result.to_json()}))
        else:
            typer.echo(f"{path}\t{str(result.valid).lower()}")
    raise typer.Exit(EXIT_ERROR if errors else exit_code(verdicts))


@app.command()
def sla(
    history_path: Annotated[Path, typer.Argument(metavar="HISTORY", help="history file with nemesis ops")],
    claims_path: Annotated[Path, typer.Option("--claims", help="claims TOML file")],
    fmt: FormatOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write figures and verdicts here")] = None,
    models_: Annotated[list[str] | None, typer.Option(
        "-m", "--model", help="also run this checker for data_loss/consistency claims (repeatable)")] = None,
    min_downtime_ms: Annotated[float, typer.Option(help="shortest downtime window reported (ms)")] = 1000,
) -> None:
    """Judge SLA claims on a history: certified / violated / inconclusive per claim (exit 0/1/2)."""
    from rich.console import Console
    from rich.table import Table

    from chaos.sla.claims import ClaimError, evaluate, load_claims
    from checkers.sla import sla_figures

    try:
        claims = load_claims(claims_path)
    except ClaimError as e:
        fail(str(e))
    history = read_history(history_path, fmt)
    consistency = claims.values.get("consistency")
    options = CheckOptions(consistency_models=(consistency,) if consistency else ("strict-serializable",))
    results = {}
    for name in _split_list(models_):
        try:
            results[name] = run_checker(get_checker(name), history, options)
        except KeyError as e:
            fail(e.args[0])
    figures = sla_figures(history, min_downtime_ns=int(min_downtime_ms * 1e6))
    verdicts = evaluate(claims, figures, results)
    table = Table(title=f"SLA claims: {history_path}")
    for column in ("claim", "claimed", "measured", "verdict", "why"):
        table.add_column(column)
    colour = {"certified": "green", "violated": "red", "inconclusive": "yellow"}
    for v in verdicts:
        table.add_row(v.claim, str(v.claimed), measured(v.claim, v.measured), f"[{colour[v.verdict]}]{v.verdict}[/]",
                      v.reason)
    Console(width=160).print(table)
    if json_out is not None:
        report = {"history": str(history_path), "claims": str(claims_path), "verdicts": verdicts,
                  "figures": figures, "results": results}
        json_out.write_text(to_json(report, indent=2))
    kinds = {v.verdict for v in verdicts}
    raise typer.Exit(1 if "violated" in kinds else 2 if "inconclusive" in kinds else 0)


@app.command("models")
def models() -> None:
    """List the checkers `check -m` accepts."""
    for name, summary in checker_names().items():
        typer.echo(f"{name}\t{summary}")


# Commands defined in this module need only ``checkers``; the others pull in clusters, workloads,
# scipy and the database drivers, so they are registered only when the command line may need them:
# `chaoscert check` on a hundred files must not pay for what `chaoscert run` imports.
LIGHT_COMMANDS = frozenset({"check", "history", "models", "version"})


def register_all_commands() -> None:
    """Add run, suite, report, analyze, serve, sla's peers, cluster, image and clean to ``app``."""
    if getattr(register_all_commands, "done", False):
        return
    from chaos.cli import report, run, suite  # noqa: F401  (their decorators register them)
    from chaos.cli.cluster import register

    register(app)
    register_all_commands.done = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app; one line and exit 255 for any user error."""
    args = sys.argv[1:] if argv is None else argv
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS") and not os.environ.get("TERMINAL_WIDTH"):
        rich_utils.MAX_WIDTH = PIPED_WIDTH  # rich assumes 80 columns, and cuts option help short
    if not args or args[0] not in LIGHT_COMMANDS:
        register_all_commands()
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as e:
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("chaoscert: interrupted", err=True)
        code = 130
    except typer.TyperException as e:  # bad option or argument
        typer.echo(f"chaoscert: {e.format_message()}", err=True)
        code = EXIT_ERROR
    except (CliError, HistoryFormatError) as e:
        typer.echo(f"chaoscert: {e}", err=True)
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else 0)

