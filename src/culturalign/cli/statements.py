"""`culturalign statements ...` commands: argument parsing only; the work is in the probe's modules."""

from __future__ import annotations

from pathlib import Path

import typer

from culturalign.cli.checks import output_file, output_table
from culturalign.cli.present import frame_text

app = typer.Typer(no_args_is_help=True)


@app.command("qc")
def qc(
    human: Path = typer.Option(
        ..., "--human", help="CSV: statement_id, dimension, annotator, relevant and/or polarity"
    ),
    labels: Path = typer.Option(
        ..., "--labels", help="labelled-set file, or an analysis folder holding statement_labels"
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        callback=output_table,
        help="write the table here (.csv/.parquet); ANALYSIS/qc.csv puts it in the report",
    ),
    rounds: int = typer.Option(1000, min=10, max=100_000, help="bootstrap rounds for the MAE intervals"),
    seed: int = typer.Option(0, help="seed of the bootstrap"),
) -> None:
    """Relevance precision and polarity MAE of the labels against human annotators (Table 2 layout)."""
    from culturalign.probes.statements.qc import quality_control

    table = quality_control(human, labels, output, rounds=rounds, seed=seed)
    typer.echo(frame_text(table, wide=True))
    if output is not None:
        typer.echo(f"wrote {output}")


@app.command("export-labels")
def export_labels_command(
    store: Path = typer.Argument(..., help="the run store (.sqlite) of a statements run"),
    output: Path = typer.Option(
        ..., "--output", "-o", callback=output_table, help="labelled-set file to write (.csv or .parquet)"
    ),
    run_id: str | None = typer.Option(None, "--run", help="run id or name; default the latest run"),
) -> None:
    """Export a run's labelled set (every pair with its relevance votes and polarity label) and its votes."""
    from culturalign.probes.statements.labelling import export_labels as export

    path = export(store, run_id, output)
    typer.echo(f"wrote {path} and {path.with_name(f'{path.stem}.votes{path.suffix}')}")


@app.command("starter")
def starter(
    output: Path | None = typer.Option(
        None, "--output", "-o", callback=output_file, help="copy the starter statements here to edit them"
    ),
    min_votes: int = typer.Option(3, help="vote threshold to count kept statements"),
) -> None:
    """Show (or copy out) the shipped starter set of debate statements."""
    from culturalign.probes.statements.statements import (
        load_statements,
        starter_set_path,
    )
    from culturalign.tables import read_table, write_table

    kept = load_statements(None, min_votes)
    if output is not None:
        write_table(read_table(starter_set_path()), output)
        typer.echo(f"wrote {output}")
    typer.echo(f"{kept.height} statements with at least {min_votes} votes in {starter_set_path().name}")
