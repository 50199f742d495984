"""``chaoscert suite run|check``: certification suites from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chaos.cli.app import app, fail
from chaos.run.suite import SuiteError, load_suite, run_suite

suite_app = typer.Typer(no_args_is_help=True, help="Certification suites: many tests, one release gate.")
app.add_typer(suite_app, name="suite")


@suite_app.command("run")
def suite_run(
    file: Annotated[Path, typer.Argument(help="suite TOML file")],
    time_scale: Annotated[float, typer.Option(help="multiply every duration (e.g. 0.25 for a quick pass)")] = 1.0,
    results: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
) -> None:
    """Run every test of a suite; exit 0 all passed, 1 violated, 2 undecided, 255 error."""
    try:
        suite = load_suite(file, time_scale=time_scale, results_dir=results)
    except SuiteError as e:
        fail(str(e))
    outcome = run_suite(suite, results, say=lambda line: typer.echo(line, err=True))
    for name, status in outcome.statuses.items():
        typer.echo(f"{name}\t{status}")
    typer.echo(f"suite {suite.name}: {outcome.directory} (exit {outcome.exit_code})")
    raise typer.Exit(outcome.exit_code)


@suite_app.command("check")
def suite_check(file: Annotated[Path, typer.Argument(help="suite TOML file")]) -> None:
    """Validate a suite file without running it; list its tests."""
    try:
        suite = load_suite(file)
    except SuiteError as e:
        fail(str(e))
    for test in suite.tests:
        typer.echo(f"{test.name}\t{test.spec.test_name}\t{test.spec.time_limit:g} s")
