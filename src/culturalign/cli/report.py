"""`culturalign report`: the HTML report of an analysis folder or of a run in a run store."""

from __future__ import annotations

from pathlib import Path

import typer

from culturalign.cli.checks import output_folder


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


def report_command(
    source: Path = typer.Argument(
        ...,
        metavar="RUN_OR_ANALYSIS",
        help="An analysis folder (holds manifest.json) or a run store (.sqlite).",
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", callback=output_folder, help="Folder for report.html and figures/."
    ),
    run: str | None = typer.Option(None, "--run", help="Run id or name in the store (default: the latest run)."),
    covariates: Path | None = typer.Option(
        None, "--covariates", help="vsm: table of kind (model/country), name and numeric covariates for Fig. 6."
    ),
) -> None:
    """Write one self-contained HTML report (figures, tables, example responses) and print its path."""
    from culturalign.reports import build_report

    typer.echo(build_report(source, output, run_id=run, covariates=covariates))
