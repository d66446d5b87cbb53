"""`culturalign run`, `culturalign runs list|show|export` and `culturalign translations ...`: argument parsing only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from culturalign.cli import present
from culturalign.cli.checks import output_table
from culturalign.cli.present import console

translations_app = typer.Typer(no_args_is_help=True)


class _RunsGroup(TyperGroup):
    """`culturalign runs STORE`, the form from before the subcommands, still lists a store's runs."""

    # The context and command types are those of the click copy typer vendors (a private module);
    # `click` itself is no dependency of culturalign, so it is not imported here.
    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().resolve_command(ctx, args)


runs_app = typer.Typer(cls=_RunsGroup, invoke_without_command=True, help="List, show and export the runs of a store.")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.add_typer(runs_app, name="runs")


def run_command(
    experiment: Path = typer.Argument(..., help="Experiment file (TOML)."),
    limit: int | None = typer.Option(None, "--limit", help="Ask at most this many generation requests."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count calls, tokens and cost; ask nothing."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars."),
    batch: bool = typer.Option(False, "--batch", help="Send every openai model and judge through its Batch API."),
    no_report: bool = typer.Option(
        False, "--no-report", help="Stop after the analysis (no figures); `culturalign report STORE` makes it later."
    ),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (a Ray cluster)."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else a local instance)."
    ),
) -> None:
    """Run an experiment: its stages (e.g. generate, parse, judge), the analysis, the report. Rerunning resumes it."""
    from culturalign.run import run_experiment

    result = run_experiment(
        experiment,
        limit=limit,
        dry_run=dry_run,
        show_progress=not no_progress,
        batch=batch,
        report=not no_report,
        engine=engine,
        ray_address=ray_address,
    )
    if result.dry_run:
        present.print_estimate(result.estimate, result.estimated_cost_usd, result.estimated_batch_cost_usd)
    else:
        present.print_run(result.summary, result.endpoints, result.run_id or "", result.results)


@runs_app.callback()
def runs_callback(ctx: typer.Context) -> None:
    """List, show and export the runs of a store (`culturalign runs` alone lists culturalign-runs/)."""
    if ctx.invoked_subcommand is None:
        list_command(None)


@runs_app.command("list")
def list_command(
    store: Path | None = typer.Argument(
        None, help="A run store (.sqlite) or a folder of them; default culturalign-runs/."
    ),
) -> None:
    """Every run of a store (or of every store in a folder): status, counts, tokens, duration."""
    from culturalign.engine.summary import list_runs

    console.print(present.runs_table(list_runs(store)))


@runs_app.command("show")
def show_command(
    store: Path = typer.Argument(..., help="The run store (.sqlite)."),
    run: str | None = typer.Option(None, "--run", help="Run id or name; default the latest run."),
) -> None:
    """One run as `culturalign run` summed it up: per stage and model, then what its stages reported."""
    from culturalign.run import show_run

    view = show_run(store, run)
    present.print_run(view.summary, view.endpoints, view.run_id, view.results)


@runs_app.command("export")
def export_command(
    store: Path = typer.Argument(..., help="The run store (.sqlite)."),
    output: Path = typer.Option(..., "-o", "--output", callback=output_table, help="Output file, .parquet or .csv."),
    run: str | None = typer.Option(None, "--run", help="Run id or name; default the latest run."),
) -> None:
    """Every request of a run with its answer and each stage's plain results, to Parquet or CSV."""
    from culturalign.engine.summary import export_run

    console.print(f"Wrote {export_run(store, run, output)}")


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
