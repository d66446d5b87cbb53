"""`culturalign judge ...` commands: argument parsing only; the work is in culturalign.judge."""

from __future__ import annotations

from pathlib import Path

import typer

from culturalign.cli.checks import output_folder

app = typer.Typer(no_args_is_help=True)


@app.command("validate")
def validate(
    labels: Path = typer.Option(..., "--labels", help="hand labels CSV: line, item, language, interviewee, label"),
    judge: str = typer.Option(..., "--judge", help="an offline candidate (see `judge candidates`) or a model name"),
    responses: Path = typer.Option(
        ..., "--responses", help="JSONL of responses (topic, response) the labels' lines refer to"
    ),
    experiment: Path | None = typer.Option(
        None, "--experiment", help="experiment TOML whose judges/models define MODEL"
    ),
    output: Path = typer.Option(
        Path("judge-validation"), "--output", callback=output_folder, help="folder for the JSON summary and CSV tables"
    ),
    rounds: int = typer.Option(1000, "--rounds", min=10, max=100_000, help="bootstrap rounds (responses resampled)"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
) -> None:
    """Agreement, Cohen's kappa, confusion matrix and per-response VPS error of a judge on hand labels."""
    from culturalign.cli.present_wvs import console, print_validation
    from culturalign.probes.wvs.judge.benchmark import validate_judge

    outcome = validate_judge(
        labels, responses, judge, experiment_path=experiment, output_dir=output, rounds=rounds, seed=seed
    )
    print_validation(judge, outcome.report)
    for path in outcome.files:
        console.print(f"wrote {path}")


@app.command("candidates")
def candidates() -> None:
    """The offline judge candidates and what validation measured for each."""
    from culturalign.cli.present_wvs import print_candidates

    print_candidates()
