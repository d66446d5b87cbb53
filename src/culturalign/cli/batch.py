"""`culturalign batch export|import`: argument parsing only."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("export")
def export_command(
    experiment: Path = typer.Argument(..., help="Experiment file (TOML)."),
    model: str = typer.Option(..., "--model", help="Name of the model (or judge) whose requests to export."),
    output: Path = typer.Option(..., "-o", "--output", help="Batch input file to write (.jsonl)."),
) -> None:
    """Write a model's pending requests as Batch API JSONL (for `vllm run-batch` or a provider)."""
    from culturalign.batch_jobs import export_batch

    result = export_batch(experiment, model=model, output=output)
    if result.path is None:
        console.print(f"Nothing to export: every request of {model} up to the end of the run is answered.")
        return
    console.print(f"Wrote {result.requests} requests of {model} (stage {result.stage}) to {result.path}")
    console.print(f"Run them, then: culturalign batch import {experiment} OUTPUT.jsonl")


@app.command("import")
def import_command(
    experiment: Path = typer.Argument(..., help="Experiment file (TOML) the batch was exported from."),
    file: Path = typer.Argument(..., help="The batch run's output file (.jsonl)."),
) -> None:
    """Store the answers of a batch output file; importing the same file twice changes nothing."""
    from culturalign.batch_jobs import import_batch

    counts = import_batch(experiment, file)
    console.print(
        f"Imported {counts.lines} lines: {counts.answered} answers, {counts.failed} failures,"
        f" {counts.already_stored} already stored. Continue with: culturalign run {experiment}"
    )
