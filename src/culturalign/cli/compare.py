"""`culturalign compare`: argument parsing only."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def compare_command(
    inputs: list[Path] = typer.Argument(
        ..., help="analysis folders, run folders, run stores (.sqlite) or wvs response tables (.csv/.parquet)"
    ),
    output: Path = typer.Option(..., "--output", "-o", help="new folder for the tables, figures and compare.html"),
    rounds: int = typer.Option(1000, "--rounds", help="paired bootstrap rounds (at least 100)"),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap draws"),
    ground_truth: str | None = typer.Option(
        None, "--ground-truth", help="wvs ground truth for response tables and stores (default: the published tables)"
    ),
) -> None:
    """Compare models across runs: paired differences, leaderboards, the methods side by side, run-to-run changes."""
    from culturalign.cli.present import print_compare
    from culturalign.compare.run import compare

    result = compare(
        [str(p) for p in inputs],
        rounds=rounds,
        seed=seed,
        ground_truth=ground_truth,
        output=output,
        command="culturalign " + " ".join(sys.argv[1:]),
    )
    print_compare(result)
    typer.echo(f"comparison written to {output}")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
