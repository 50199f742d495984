"""``chaoscert certificate``: an SLA certificate for a run or a suite folder, and its verification."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chaos.cli.app import app, fail

EXIT_CODES = {"certified": 0, "violated": 1, "inconclusive": 2}


@app.command("certificate")
def certificate_command(
    directory: Annotated[Path, typer.Argument(metavar="RUN_OR_SUITE_DIR", help="a run folder or a suite folder")],
    pdf: Annotated[bool, typer.Option("--pdf", help="also print certificate.html to certificate.pdf (Chromium)")]
    = False,
    verify: Annotated[bool, typer.Option("--verify", help="check the hashes and recompute the verdicts of the "
                                         "certificate in the folder")] = False,
) -> None:
    """Write certificate.html and certificate.json (exit 0 certified, 1 violated, 2 inconclusive), or with
    --verify check an existing one (exit 0 it holds, 1 it does not)."""
    from chaos.certificate.document import CertificateError, verify_certificate, write_certificate
    from chaos.report.browser import BrowserError

    if not directory.is_dir():
        fail(f"{directory}: no such folder")
    try:
        if verify:
            problems = verify_certificate(directory)
            for problem in problems:
                typer.echo(f"does not hold: {problem}")
            typer.echo(f"{directory}: certificate {'does not hold' if problems else 'verified'}")
            raise typer.Exit(1 if problems else 0)
        written, verdict = write_certificate(directory, pdf=pdf)
    except (CertificateError, BrowserError) as e:
        fail(str(e))
    for path in written:
        typer.echo(str(path))
    typer.echo(f"certificate: {verdict}")
    raise typer.Exit(EXIT_CODES[verdict])
