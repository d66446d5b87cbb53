"""`culturalign vsm ...` commands: argument parsing only; the work is in probes.vsm and sources.hofstede."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.console import Console

from culturalign.cli.checks import output_table

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)

_INSTRUMENT_HELP = (
    "Check your own wording file instead of downloading: CSV with header item,text,option_1,...,option_5[,language] "
    "(item 1-24, option_k = label of answer k, language ISO 639-1, default en), or the public copy's layout "
    "(no header; text, five labels, placeholder). List it under instrument in the vsm section of an experiment to use it in a run."
)


@app.command("fetch-instrument")
def fetch_instrument_command(
    instrument: Path | None = typer.Option(None, "--instrument", help=_INSTRUMENT_HELP),
    url: str | None = typer.Option(
        None, "--url", help="Download from this address instead (a mirror); the sha256 pin still applies."
    ),
    force: bool = typer.Option(False, "--force", help="Download again even if a good copy is cached."),
) -> None:
    """Download the VSM 2013 wording (pinned, checksummed) into the user cache, after saying whose text it is."""
    from culturalign.probes.vsm import instrument as inst

    if instrument is not None:
        wording = inst.read_instrument_file(instrument)
        console.print(f"{instrument}: complete ({', '.join(sorted(wording))}; 24 items, 5 options each).")
        return
    console.print(inst.NOTICE)
    path = inst.fetch_instrument(url, force=force)
    wording = inst.read_instrument_file(path)
    console.print(f"Saved to {path} ({', '.join(sorted(wording))}; 24 items, 5 options each).")


@app.command("fetch-scores")
def fetch_scores_command(
    scores: Path | None = typer.Option(
        None,
        "--scores",
        help="Check your own table instead: Hofstede's published layout, or a CSV with columns country,pdi,idv,mas,uai,lto,ivr.",
    ),
    url: str | None = typer.Option(
        None, "--url", help="Download from this address instead (a mirror); the sha256 pin still applies."
    ),
    force: bool = typer.Option(False, "--force", help="Download again even if a good copy is cached."),
) -> None:
    """Download Hofstede's published six-dimension country scores into the user cache (sha256 checked)."""
    from culturalign.sources import hofstede

    if scores is None:
        console.print(hofstede.NOTICE)
        path = hofstede.fetch_scores(url, force=force)
    else:
        path = scores
    table = hofstede.read_scores(path)
    console.print(f"{path}: {table.height} countries or regions; scores per dimension: "
                  + ", ".join(f"{d} {table[d].drop_nulls().len()}" for d in hofstede.DIMENSIONS))  # fmt: skip


@app.command("scores")
def scores_command(
    scores: str = typer.Option("published", "--scores", help="'published' (the fetched table) or a table path."),
    countries: list[str] = typer.Option([], "--country", help="Country key or name; repeat; default the paper's 20."),
    no_fallback: bool = typer.Option(
        False, "--no-fallback", help="Do not fill empty dimensions from the regional row."
    ),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Skip (with a warning) countries the table lacks."),
    out: Path | None = typer.Option(
        None, "--out", callback=output_table, help="Also write the table here (.csv or .parquet)."
    ),
) -> None:
    """Show the ground truth the probe would use: each country's six scores and which table row gave them."""
    from culturalign import tables
    from culturalign.probes.vsm.analysis import table_rows
    from culturalign.probes.vsm.countries import paper_countries, resolve_countries
    from culturalign.sources import hofstede

    chosen = resolve_countries(countries) if countries else list(paper_countries())
    long = hofstede.ground_truth(
        hofstede.load_scores(scores), table_rows(chosen), fallback=not no_fallback,
        missing="skip" if skip_missing else "error", warn=lambda m: console.print(f"[yellow]warning:[/] {m}"),
    )  # fmt: skip
    wide = long.pivot(on="dimension", index="country", values="value")
    sources = long.group_by("country").agg(pl.col("source").unique().sort().str.join("+").alias("rows"))
    wide = wide.join(sources, on="country")
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True):
        console.print(str(wide))
    if out is not None:
        tables.write_table(wide, out)
