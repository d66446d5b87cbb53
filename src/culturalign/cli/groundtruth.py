"""`culturalign groundtruth ...`: build VPS tables from a survey file, fetch the published ones, show them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.console import Console

from culturalign.cli.checks import output_table
from culturalign.cli.present import frame_table
from culturalign.probes.wvs.sources import groundtruth as gt
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.probes.wvs.sources.published import fetch_published
from culturalign.probes.wvs.sources.survey import build_to_files, parse_levels, split_names

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("build")
def build(
    survey: Path = typer.Option(..., "--survey", help="respondent file: .csv, .sav or .dta"),
    output: Path = typer.Option(
        ..., "--output", callback=output_table, help="tidy VPS table to write (.csv or .parquet)"
    ),
    codebook: Path | None = typer.Option(None, "--codebook", help="codebook TOML (default: the shipped WVS codebook)"),
    items: str | None = typer.Option(None, "--items", help="comma-separated item keys (default: every codebook item)"),
    country_column: str = typer.Option("cntry_AN", "--country-column"),
    language_column: str = typer.Option("lnge_iso", "--language-column"),
    weight_columns: str = typer.Option(
        "gwght,pwght", "--weight-columns", help="multiplied together; '' for unweighted"
    ),
    by: str = typer.Option(
        "country,language,global",
        "--by",
        help="population levels, comma-separated; join dimensions with + (country+language); other names are survey columns",
    ),
    coding: str = typer.Option(
        "explicit", "--coding", help="explicit (codebook's pro answers) or released (the paper's rule)"
    ),
    consistency_output: Path | None = typer.Option(
        None, "--consistency-output", callback=output_table, help="also write human self-consistency here"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the self-consistency resampling"),
) -> None:
    """Ground truth (VPS per population and item) from your EVS/WVS respondent file."""
    result = build_to_files(
        survey,
        output,
        load_codebook(codebook),
        consistency_output=consistency_output,
        items=split_names(items) or None,
        country_col=country_column,
        language_col=language_column,
        weight_cols=tuple(split_names(weight_columns)),
        levels=parse_levels(by),
        coding=coding,
        seed=seed,
    )
    counts = result.vps.group_by("population_kind").agg(pl.col("population").n_unique().alias("populations"))
    summary = ", ".join(
        f"{r['populations']} {r['population_kind']}" for r in counts.sort("population_kind").iter_rows(named=True)
    )
    console.print(f"wrote {result.vps.height} rows ({summary}) to {output}")
    if consistency_output is not None and result.self_consistency is not None:
        console.print(
            f"wrote human self-consistency for {result.self_consistency.height} countries to {consistency_output}"
        )


@app.command("fetch")
def fetch(
    force: bool = typer.Option(False, "--force", help="download again even when verified copies are cached"),
    base_url: str | None = typer.Option(
        None, "--base-url", help="serve the files from here instead (mirror, test server)"
    ),
    release: bool = typer.Option(
        False, "--release", help="also the released responses and benchmark scores (`culturalign reproduce --data`)"
    ),
) -> None:
    """Download the ground-truth tables released with the paper (pinned commit, sha256-checked)."""
    folder = fetch_published(force=force, base_url=base_url, release=release)
    console.print(f"published {'tables' if release else 'ground truth'} ready in {folder}")


@app.command("show")
def show(
    ground_truth: Path | None = typer.Option(
        None, "--ground-truth", help="table or folder (default: the published tables)"
    ),
    population: str | None = typer.Option(
        None, "--population", help="show one population's items, e.g. DK, da, global"
    ),
    kind: str | None = typer.Option(None, "--kind", help="country, language, global or a filter name"),
) -> None:
    """Summarise a ground-truth table, or list one population's VPS per item."""
    table = gt.load_ground_truth(ground_truth)
    if population is None:
        console.print(frame_table(gt.summarise_ground_truth(table), "ground truth"))
        return
    rows = gt.select_population(table, population, kind).sort("item")
    console.print(frame_table(rows.drop("population_kind", "population"), f"{population}: VPS per item"))
