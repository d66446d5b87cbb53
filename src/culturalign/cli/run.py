"""`culturalign run`, `culturalign runs` and `culturalign translations ...`: argument parsing only."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from culturalign.cli.checks import output_table
from culturalign.errors import UserError

translations_app = typer.Typer(no_args_is_help=True)
# Logs and pipes get wide tables rather than columns cut to 80 characters.
console = Console(width=None if sys.stdout.isatty() else 160)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("runs")(runs_command)


def run_command(
    experiment: Path = typer.Argument(..., help="Experiment file (TOML)."),
    limit: int | None = typer.Option(None, "--limit", help="Ask at most this many generation requests."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count calls, tokens and cost; ask nothing."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
    batch: bool = typer.Option(False, "--batch", help="Send every openai model and judge through its Batch API."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (a Ray cluster)."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else a local instance)."
    ),
) -> None:
    """Run an experiment: generate, parse, judge, analyze, report. Rerunning resumes it."""
    from culturalign.engine.summary import endpoints_table, estimate_table, summary_table, total_cost
    from culturalign.run import run_experiment
    from culturalign.store.db import RunStore

    result = run_experiment(
        experiment,
        limit=limit,
        dry_run=dry_run,
        show_progress=not no_progress,
        batch=batch,
        engine=engine,
        ray_address=ray_address,
    )
    if result.dry_run:
        console.print(estimate_table(result.estimate, "Dry run: calls, tokens and cost (nothing was asked)"))
        cost = result.estimated_cost_usd
        console.print(
            f"Estimated cost: {'$' + format(cost, '.2f') if cost is not None else 'no prices configured'}"
            " (output tokens are an upper bound: max_tokens per call; stages that depend on earlier answers,"
            " such as judging, are counted as if every answer were kept)."
        )
        batch_cost = result.estimated_batch_cost_usd
        if batch_cost is not None:
            console.print(f"Through the Batch API (openai models): ${batch_cost:.2f}")
        return
    with RunStore(result.store_path) as store:
        console.print(summary_table(store, result.run_id))
        endpoints = endpoints_table(store, result.run_id)
        if endpoints is not None:
            console.print(endpoints)
    spent = total_cost(result.summary)
    if spent is not None:
        console.print(f"Cost: ${spent:,.4f} at the prices the experiment sets (answers reused from the cache included)")
    parsed = result.notes.get("parse")
    if isinstance(parsed, dict):
        console.print(kept_line(parsed))
    analysed = result.notes.get("analyze")
    if isinstance(analysed, dict):
        for note in analysed.get("notes") or []:
            console.print(f"Note: {escape(str(note))}", highlight=False)
    for note in result.unavailable:
        console.print(f"[yellow]Stopped before stage {note}[/]")
    if result.report_path is not None:
        console.print(f"Report: {result.report_path}")


def runs_command(
    args: list[str] = typer.Argument(None, metavar="[STORE] | export STORE", help="A run store, or `export STORE`."),
    run: str | None = typer.Option(None, "--run", help="export: run id or name; default the latest run."),
    output: Path | None = typer.Option(
        None, "-o", "--output", callback=output_table, help="export: output file, .parquet or .csv."
    ),
) -> None:
    """List the runs of a store (default: every store in culturalign-runs/), or export one run:
    `culturalign runs export STORE --run ID -o FILE.parquet`."""
    from culturalign.engine.summary import export_run, list_runs, runs_table

    args = list(args or [])
    if args and args[0] == "export":
        if len(args) != 2 or output is None:
            raise UserError("usage: culturalign runs export STORE [--run ID] -o FILE.parquet")
        console.print(f"Wrote {export_run(Path(args[1]), run, output)}")
        return
    if len(args) > 1:
        raise UserError("usage: culturalign runs [STORE], or culturalign runs export STORE -o FILE.parquet")
    console.print(runs_table(list_runs(args[0] if args else None)))


@translations_app.command("export")
def translations_export_command(
    output: Path = typer.Option(..., "-o", "--output", callback=output_table, help="Output file, .csv or .parquet."),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1 code, e.g. da; default every language."),
    experiment: Path | None = typer.Option(
        None, "--experiment", help="This experiment's texts (any probe), with the translations its runs made."
    ),
) -> None:
    """Write translations for review; edit the `text` column (or set `origin` to reviewed) and import the file."""
    from culturalign.review import export_for_review

    path, counts = export_for_review(output, language=language, experiment_path=experiment)
    console.print(f"Wrote {path} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'no texts'})")


@translations_app.command("import")
def translations_import_command(
    file: Path = typer.Argument(..., help="A reviewed file written by `translations export`."),
    experiment: Path | None = typer.Option(None, "--experiment", help="The experiment the file was exported for."),
) -> None:
    """Store reviewed translations; they win over shipped and machine translations."""
    from culturalign.review import import_reviewed

    counts = import_reviewed(file, experiment)
    console.print(f"Imported {', '.join(f'{n} {lang}' for lang, n in sorted(counts.items())) or 'nothing'} text(s)")


def kept_line(counts: dict[str, int]) -> str:
    reasons = [f"{k.removeprefix('dropped_')} {v}" for k, v in counts.items() if k.startswith("dropped_") and v]
    return (
        f"Responses: {counts.get('kept', 0)} kept of {counts.get('parsed', 0)}; "
        f"dropped {counts.get('dropped', 0)}{' (' + ', '.join(reasons) + ')' if reasons else ''}"
    )
