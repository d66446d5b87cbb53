"""`culturalign vsm ...` commands: argument parsing only; the work is in probes.vsm and sources.hofstede."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from culturalign.cli.checks import output_table
from culturalign.cli.present import frame_text

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
    from culturalign.probes.vsm.analysis import country_score_table

    wide = country_score_table(
        scores,
        countries,
        fallback=not no_fallback,
        skip_missing=skip_missing,
        warn=lambda m: console.print(f"[yellow]warning:[/] {m}"),
    )
    console.print(frame_text(wide, every_row=True))
    if out is not None:
        tables.write_table(wide, out)
