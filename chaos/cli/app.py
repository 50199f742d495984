"""The ``chaoscert`` typer app, ``fail`` for one-line user errors, and the commands that need only
``checkers``: check, sla, models, history, version. The other command groups register themselves on
``app`` from their own modules (chaos/cli/main.py decides when).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from chaos.report.units import measured
from chaos.run.exits import EXIT_ERROR, exit_code
from checkers import CheckOptions, HistoryFormatError, checker_names, get_checker, read_history
from checkers.formats import FORMATS, parse_edn, write_history
from checkers.history import History
from checkers.registry import OptionError
from checkers.result import Result
from checkers.shapes import ShapeError

__all__ = ["CliError", "app", "fail"]

app = typer.Typer(name="chaoscert", no_args_is_help=True, add_completion=False,
                  help="Fault injection on real database clusters, history checking, SLA certification.")
history_app = typer.Typer(no_args_is_help=True, help="Read, convert and summarise history files.")
app.add_typer(history_app, name="history")


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit 255."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


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
LenientOption = Annotated[bool, typer.Option(
    "--lenient", help="warn about (not refuse) unpaired completions, double invocations, bad indices, time "
    "going back")]


LAST_READ: list[History] = []  # the last history read, left to the end of the process (main)


def read(path: Path, fmt: str | None, lenient: bool) -> History:
    """read_history, printing a lenient read's warnings."""
    LAST_READ.clear()
    history = read_history(path, fmt, lenient=lenient)
    for warning in history.warnings:
        typer.echo(f"chaoscert: warning: {warning}", err=True)
    LAST_READ.append(history)
    return history


def run_checker(checker: Any, history: History, options: CheckOptions, path: Path) -> Result:
    """Run a checker; a value of the wrong shape is the file's fault: refused naming its line; an
    option the checker cannot use is refused naming the option."""
    try:
        return checker(history, options)
    except OptionError as e:
        fail(str(e))
    except ShapeError as e:
        line = history.line_of(e.op.index)
        raise HistoryFormatError(path, line, e.field, f"op {e.op.index}: {e.message}") from None


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
    lenient: LenientOption = False,
) -> None:
    """Convert a history between formats (any readable format to JSON Lines or EDN)."""
    history = read(source, fmt, lenient)
    write_history(history, target, to)
    typer.echo(f"wrote {len(history)} ops to {target}")


@history_app.command("stats")
def history_stats(
    path: Annotated[Path, typer.Argument(help="history file")],
    fmt: FormatOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Counts by type and f, processes, time span, and problems such as unpaired ops."""
    history = read_history(path, fmt, lenient=True)
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
    """JSON, or EDN as Knossos writes it (``{:x 0, :y 0}``); a bare word is a string."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    except ValueError as e:  # an integer past Python's digit limit
        fail(f"--initial-value: {e}")
    try:
        forms = parse_edn(text, "--initial-value")
    except HistoryFormatError as e:
        fail(f"--initial-value: {e.message}")
    if len(forms) != 1:
        fail(f"--initial-value: expected one JSON or EDN value, got {len(forms)}")
    return forms[0][1]


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
    initial_value: Annotated[str | None, typer.Option(help="register models: initial value (JSON or EDN)")] = None,
    nil_is_empty: Annotated[bool, typer.Option(help="register and kv models: nil reads mean empty")] = False,
    independent: Annotated[bool, typer.Option(help="check each [key value] key on its own")] = False,
    time_limit: Annotated[float | None, typer.Option(help="give up after S seconds: unknown")] = None,
    html: Annotated[Path | None, typer.Option(help="write an HTML view of the check")] = None,
    wfr_keys: Annotated[bool, typer.Option(help="rw-register: writes follow reads within a txn")] = False,
    sequential_keys: Annotated[bool, typer.Option(help="rw-register: per-process version order")] = False,
    linearizable_keys: Annotated[bool, typer.Option(help="rw-register: realtime version order")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print each file's full result as JSON")] = False,
    lenient: LenientOption = False,
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
            history = read(path, fmt, lenient)
            result = run_checker(checker, history, options, path)
        except HistoryFormatError as e:
            typer.echo(f"chaoscert: {e}", err=True)
            errors += 1
            continue
        verdicts.append(result.valid)
        if as_json:
            warnings = {"warnings": list(history.warnings)} if history.warnings else {}
            typer.echo(to_json({"file": str(path), **result.to_json(), **warnings}))
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
    concurrency: Annotated[int | None, typer.Option(
        help="client threads: process p is client p mod this (default: the processes seen before the first "
             "crash)")] = None,
    lenient: LenientOption = False,
) -> None:
    """Judge SLA claims on a history: certified / violated / inconclusive per claim (exit 0/1/2)."""
    from rich.console import Console
    from rich.table import Table

    from chaos.sla.claims import ClaimError, evaluate, load_claims
    from checkers.sla import sla_figures

    if not 0 <= min_downtime_ms <= 86_400_000 * 365:
        fail(f"--min-downtime-ms: must be a number of milliseconds from 0 to a year, got {min_downtime_ms}")
    try:
        claims = load_claims(claims_path)
    except ClaimError as e:
        fail(str(e))
    history = read(history_path, fmt, lenient)
    consistency = claims.values.get("consistency")
    options = CheckOptions(consistency_models=(consistency,) if consistency else ("strict-serializable",))
    results = {}
    for name in _split_list(models_):
        try:
            checker = get_checker(name)
        except KeyError as e:
            fail(e.args[0])
        results[name] = run_checker(checker, history, options, history_path)
    if concurrency is not None and concurrency < 1:
        fail(f"--concurrency must be >= 1, not {concurrency}")
    figures = sla_figures(history, min_downtime_ns=int(min_downtime_ms * 1e6), concurrency=concurrency)
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
