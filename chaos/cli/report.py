"""``chaoscert report``, ``chaoscert analyze`` and ``chaoscert serve``: the results store from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chaos.cli.app import app, fail, run_checker
from chaos.report.outputs import write_run_outputs
from chaos.report.store import RunDir, StoreError
from chaos.report.view import FAIL, MIN_DOWNTIME_NS, PASS, merge_status, run_items
from chaos.run.exits import exit_code
from checkers import CheckOptions, HistoryFormatError, get_checker, read_history
from checkers.result import Result

__all__ = ["analyze_command", "analyze_run", "report_command", "serve_command"]

RunArg = Annotated[Path, typer.Argument(metavar="RUN_DIR", help="a run folder (results/<test>/<timestamp>)")]


def _rebuild(run_dir: Path) -> list[Path]:
    try:
        return write_run_outputs(run_dir)
    except (StoreError, HistoryFormatError) as e:
        fail(str(e))


@app.command("report")
def report_command(
    run_dir: RunArg,
    pdf: Annotated[bool, typer.Option("--pdf", help="also print report.html to report.pdf (Chromium)")] = False,
) -> None:
    """Rebuild a run's report.html, timeline.html, summary.md, junit.xml, history.edn and plots."""
    from chaos.report.browser import BrowserError, print_pdf

    written = _rebuild(run_dir)
    if pdf:
        try:
            written.append(print_pdf(RunDir(run_dir).report, run_dir / "report.pdf"))
        except BrowserError as e:
            fail(str(e))
    for path in written:
        typer.echo(str(path))


def _from_json(data: dict[str, Any]) -> Result:
    details = {k: v for k, v in data.items() if k not in ("valid?", "cause")}
    valid = data.get("valid?", "unknown")
    if valid not in (True, False):
        return Result("unknown", details, data.get("cause") or "no verdict recorded")
    return Result(valid, details, data.get("cause"))


def analyze_run(run_dir: Path, models: list[str], claims_path: Path | None,
                consistency_models: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run more checkers and judge claims on a stored history; write analysis.json beside the run's
    results.json (which stays as the run wrote it); returns the analysis.

    Raises KeyError (unknown model), ClaimError (bad claims file), StoreError or HistoryFormatError."""
    from chaos.sla.claims import evaluate, load_claims
    from checkers.sla import sla_figures

    run = RunDir(run_dir)
    results = run.load_results()
    claims = load_claims(claims_path) if claims_path is not None else None
    checkers = [get_checker(m) for m in models]
    history = read_history(run.history)
    wanted = consistency_models or ((claims.values["consistency"],) if claims and "consistency" in claims.values
                                    else ("strict-serializable",))
    options = CheckOptions(consistency_models=wanted)
    stored = dict(results.get("checkers") or {})
    for name, checker in zip(models, checkers, strict=True):
        stored[name] = run_checker(checker, history, options, run.history).to_json()
    results["checkers"] = stored
    if claims is not None:
        clients = (results.get("parameters") or {}).get("clients")
        figures = sla_figures(history, min_downtime_ns=MIN_DOWNTIME_NS,
                              concurrency=clients if isinstance(clients, int) else None)
        verdicts = evaluate(claims, figures, {k: _from_json(v) for k, v in stored.items()})
        results["claims"] = {"file": str(claims_path), "confidence": claims.confidence,
                             "verdicts": [v.to_json() for v in verdicts]}
    results["analysis-of"] = run.results.name
    run.save_analysis(results)
    return results


@app.command("analyze")
def analyze_command(
    run_dir: RunArg,
    models: Annotated[list[str] | None, typer.Option("-m", "--model", help="checker to (re)run; repeatable")] = None,
    claims_path: Annotated[Path | None, typer.Option("--claims", help="claims TOML file to judge")] = None,
    consistency_models: Annotated[list[str] | None, typer.Option(
        "-c", "--consistency-models", help="Elle consistency models, comma-separated")] = None,
) -> None:
    """Re-check a stored run with other checkers or claims into analysis.json beside results.json (exit 0/1/2)."""
    from chaos.sla.claims import ClaimError

    if not models and claims_path is None:
        fail("nothing to do: pass -m MODEL and/or --claims FILE")
    cms = tuple(c.strip() for raw in consistency_models or [] for c in raw.split(",") if c.strip())
    try:
        analysis = analyze_run(run_dir, models or [], claims_path, cms)
    except KeyError as e:
        fail(e.args[0])
    except (ClaimError, StoreError, HistoryFormatError) as e:
        fail(str(e))
    items = run_items(analysis)
    for item in items:
        typer.echo(f"{item.kind}\t{item.name}\t{item.verdict}\t{item.message}")
    typer.echo(f"analysis: {RunDir(run_dir).analysis}")
    status = merge_status(items)
    raise typer.Exit(exit_code([True if status == PASS else False if status == FAIL else "unknown"]))


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0: any free port)")] = 8080,
    results: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
) -> None:
    """Serve a page listing every run, coloured by verdict, with links to its files (Ctrl-C stops)."""
    from chaos.report.serve import make_server

    if not results.is_dir():
        fail(f"{results}: no such results folder")
    try:
        server = make_server(results, port)
    except OSError as e:
        fail(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}")
    typer.echo(f"serving {results.resolve()} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
