"""`culturalign judge ...` commands: argument parsing only; the work is in culturalign.judge."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from culturalign.cli.checks import output_folder

app = typer.Typer(no_args_is_help=True)
console = Console()


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
    from culturalign.probes.wvs.judge.benchmark import validate_judge

    outcome = validate_judge(
        labels, responses, judge, experiment_path=experiment, output_dir=output, rounds=rounds, seed=seed
    )
    report = outcome.report
    table = Table(title=f"judge {judge}: {report.n_summaries} summaries in {report.n_responses} responses")
    table.add_column("metric")
    table.add_column("estimate", justify="right")
    table.add_column(f"{report.confidence:.0%} interval", justify="right")
    for name, interval in (
        ("agreement", report.agreement),
        ("Cohen's kappa", report.kappa),
        ("VPS MAE", report.vps_mae),
    ):
        table.add_row(name, _fmt(interval.estimate), f"{_fmt(interval.low)} to {_fmt(interval.high)}")
    console.print(table)
    console.print(
        f"coverage {report.coverage:.1%}; bootstrap {report.bootstrap_rounds} rounds over responses; "
        f"VPS error over {report.n_responses_with_vps} responses with a defined VPS"
    )
    for path in outcome.files:
        console.print(f"wrote {path}")


@app.command("candidates")
def candidates() -> None:
    """The offline judge candidates and what validation measured for each."""
    from culturalign.probes.wvs.judge.candidates import known_candidates
    from culturalign.probes.wvs.judge.quality import default_judge_name, judge_quality

    table = Table(title="offline stance judges")
    for column in ("candidate", "default", "summaries", "agreement", "kappa", "VPS MAE", "interpretable"):
        table.add_column(column)
    for name in known_candidates():
        q = judge_quality(name)
        table.add_row(
            name,
            "yes" if name == default_judge_name() else "",
            str(q.n_summaries) if q.n_summaries is not None else "n/a",
            _fmt(q.agreement),
            _fmt(q.kappa),
            _fmt(q.vps_mae),
            "yes" if q.interpretable else "no",
        )
    console.print(table)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
