"""`culturalign analyze` and `culturalign reproduce`: argument parsing only."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from culturalign.cli.checks import output_folder
from culturalign.probes.wvs.judge.quality import PAPER_ERROR_RATE

reproduce_app = typer.Typer(no_args_is_help=True, help="Reproduce a paper's analysis from its released data.")


def _command_line() -> str:
    return "culturalign " + " ".join(sys.argv[1:])


def analyze_command(
    output: Path = typer.Option(
        ..., "--output", "-o", callback=output_folder, help="folder for the tables, summaries and manifest"
    ),
    store: Path | None = typer.Option(None, "--store", help="SQLite run store of a wvs run"),
    run: str | None = typer.Option(None, "--run", help="run id or name in the store (default: the latest)"),
    responses: Path | None = typer.Option(
        None,
        "--responses",
        help="response table (CSV/Parquet): model_name, model_family, language, "
        "response_language, question_key, response_pro_score",
    ),
    ground_truth: str | None = typer.Option(
        None, "--ground-truth", help="ground-truth table or folder of released tables (default: the published tables)"
    ),
    rounds: int = typer.Option(
        1000, "--rounds", min=1, max=100_000, help="bootstrap rounds for the intervals and the bootstrap tests"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap and baseline draws"),
    capability: Path | None = typer.Option(
        None,
        "--capability",
        help="capability table (model, language, score 0-100) for RQ1; benchmark labels are mapped",
    ),
    judge_error_rate: float | None = typer.Option(
        None,
        "--judge-error-rate",
        min=0.0,
        max=0.99,
        help=f"judge error e for the attenuation correction (default {PAPER_ERROR_RATE})",
    ),
    consistency: str = typer.Option(
        "clean", "--consistency", help="clean (pairs of distinct responses) or released (the paper's, with copies)"
    ),
) -> None:
    """Alignment, self-consistency, US gap and capability effect of a wvs run or a response table."""
    from culturalign.cli.present_wvs import print_analysis
    from culturalign.probes.wvs.analysis.run_analysis import analyze

    result = analyze(
        output=output,
        store=store,
        run=run,
        responses=responses,
        ground_truth=ground_truth,
        rounds=rounds,
        seed=seed,
        capability=capability,
        judge_error_rate=judge_error_rate,
        consistency=consistency,
        command=_command_line(),
    )
    print_analysis(result)
    typer.echo(f"tables written to {output}")


@reproduce_app.command("multilingual-multicultural")
def reproduce_multilingual_multicultural(
    data: Path = typer.Option(..., "--data", help="folder of the paper's released tables"),
    output: Path = typer.Option(
        ..., "--output", "-o", callback=output_folder, help="folder for the tables and the comparison"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap (the baseline draws are the released ones)"),
    reruns: int = typer.Option(
        0, "--reruns", min=0, max=1000, help="re-run bootstrap and regressions K times: stability.csv"
    ),
    fresh_baselines: bool = typer.Option(
        False,
        "--fresh-baselines",
        help="draw new random baselines (seeded) instead of the released draws, also per re-run",
    ),
) -> None:
    """Rystrom, Kirk, Hale: 'Multilingual != Multicultural', rebuilt from its released responses."""
    from culturalign.cli.present_wvs import console, print_analysis, print_beside, print_comparison
    from culturalign.probes.wvs.analysis.run_analysis import reproduce

    result = reproduce(
        data=data, output=output, seed=seed, reruns=reruns, fresh_baselines=fresh_baselines, command=_command_line()
    )
    print_analysis(result)
    print_comparison(result.extra_tables["paper_comparison"])
    print_beside(result)
    console.print(f"tables written to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_command)
    app.add_typer(reproduce_app, name="reproduce", help="Reproduce a paper's analysis from its released data.")
