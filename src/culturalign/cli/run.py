"""`culturalign run`, `culturalign runs` and `culturalign translations ...`: argument parsing only."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

translations_app = typer.Typer(no_args_is_help=True)
runs_app = typer.Typer(invoke_without_command=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.add_typer(runs_app, name="runs", help="List the runs of a store, or export one.")


def run_command(
    experiment: Path = typer.Argument(..., help="Experiment file (TOML)."),
    limit: int | None = typer.Option(None, "--limit", help="Ask at most this many generation requests."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count calls, tokens and cost; ask nothing."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
) -> None:
    """Run an experiment: generate, parse, judge, analyze, report. Rerunning resumes it."""
    from culturalign.run import estimates_frame, run_experiment

    result = run_experiment(experiment, limit=limit, dry_run=dry_run, show_progress=not no_progress)
    if result.dry_run:
        print_table("Dry run: estimated calls, tokens and cost (nothing was asked)", estimates_frame(result.estimates))
        cost = result.estimated_cost_usd
        console.print(
            f"Estimated cost: {'$' + format(cost, '.2f') if cost is not None else 'no prices configured'}"
            " (output tokens are an upper bound: max_tokens per call)."
        )
        return
    console.print(f"Run {result.run_id} in {result.store_path}")
    print_table("Calls per stage and model", result.summary)
    parsed = result.notes.get("parse")
    if isinstance(parsed, dict):
        print_table("Responses kept and dropped", pl.DataFrame({"count": list(parsed), "n": list(parsed.values())}))
    if result.report_path is not None:
        console.print(f"Report: {result.report_path}")


@runs_app.callback()
def runs_command(
    ctx: typer.Context,
    store: Path | None = typer.Argument(None, help="Run store (SQLite); default culturalign-runs/*.sqlite."),
) -> None:
    """List the runs in a store."""
    if ctx.invoked_subcommand is not None:
        return
    from culturalign.run import list_runs

    stores = [store] if store is not None else sorted(Path("culturalign-runs").glob("*.sqlite"))
    if not stores:
        console.print("No run stores found in culturalign-runs/; name one: culturalign runs STORE.sqlite")
        return
    for path in stores:
        print_table(f"Runs in {path}", list_runs(path))


@runs_app.command("export")
def runs_export_command(
    store: Path = typer.Argument(..., help="Run store (SQLite)."),
    run: str | None = typer.Option(None, "--run", help="Run id or name; default the latest run."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file, .parquet or .csv."),
) -> None:
    """Export every request of a run with its answer."""
    from culturalign.run import export_run

    console.print(f"Wrote {export_run(store, run, output)}")


@translations_app.command("export")
def translations_export_command(
    language: str = typer.Option(..., "--language", help="ISO 639-1 code, e.g. da."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file, .csv or .parquet."),
    experiment: Path | None = typer.Option(
        None, "--experiment", help="Use this experiment's codebook and items, and its translator for gaps."
    ),
) -> None:
    """Write a language's prompt texts for review; edit the `text` column and import the file."""
    from culturalign.prompts.review import export_for_review

    path, counts = export_for_review(language, output, experiment)
    console.print(f"Wrote {path} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")


@translations_app.command("import")
def translations_import_command(
    file: Path = typer.Argument(..., help="A reviewed file written by `translations export`."),
    experiment: Path | None = typer.Option(None, "--experiment", help="Use this experiment's codebook and items."),
) -> None:
    """Store reviewed translations; they override shipped and machine translations."""
    from culturalign.prompts.review import import_reviewed

    counts = import_reviewed(file, experiment)
    console.print(f"Imported {', '.join(f'{n} {lang}' for lang, n in sorted(counts.items())) or 'nothing'} text(s)")


def print_table(title: str, frame: pl.DataFrame) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
