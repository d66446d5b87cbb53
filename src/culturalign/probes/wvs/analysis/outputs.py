"""Writing an analysis to its folder, and the short console summary.

Stable names the report reads: alignment, consistency, rq1, us_bias, human_consistency,
capability, ground_truth, us_gap (each .csv with a .parquet beside it), bootstrap.parquet,
rq1_summary.txt, rq2_summary.txt and manifest.json. Every file is written atomically; the
manifest comes last, so a folder with a manifest is complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from culturalign.probes.wvs.analysis.consistency import within_between_summary
from culturalign.probes.wvs.analysis.pipeline import AnalysisResult
from culturalign.probes.wvs.analysis.rq1 import RQ1_COLUMNS, classify
from culturalign.probes.wvs.analysis.rq2 import US_BIAS_COLUMNS
from culturalign.tables import write_table, write_table_pair, write_text

EMPTY_SCHEMAS = {
    "rq1": {
        "term": pl.Utf8,
        "family": pl.Utf8,
        "language": pl.Utf8,
        "coef": pl.Float64,
        "se": pl.Float64,
        "p": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    },
    "us_bias": {"model": pl.Utf8, "language": pl.Utf8, "coef": pl.Float64, "se": pl.Float64, "p": pl.Float64},
    "capability": {"model": pl.Utf8, "language": pl.Utf8, "score": pl.Float64},
    "human_consistency": {"population": pl.Utf8, "self_consistency": pl.Float64},
}


NOT_FITTED = (
    "{name} was not fitted: the paper's regression treats bootstrap rounds as observations, so its p-values "
    "shrink as rounds are added. Only `culturalign reproduce` runs it (the paper's method); this analysis "
    "concludes from {table}.\n"
)


def _or_empty(df: pl.DataFrame | None, name: str) -> pl.DataFrame:
    return df if df is not None else pl.DataFrame(schema=EMPTY_SCHEMAS[name])


def rq1_fit_table(result: AnalysisResult) -> pl.DataFrame:
    rows = [
        {
            "variant": name,
            "r2_marginal": fit.r2_marginal,
            "r2_conditional": fit.r2_conditional,
            "group_variance": fit.group_variance,
            "residual_variance": fit.residual_variance,
            "n_obs": fit.n_obs,
            "n_groups": fit.n_groups,
            "converged": fit.converged,
        }
        for name, fit in result.rq1.items()
    ]
    return pl.DataFrame(rows) if rows else pl.DataFrame(schema={"variant": pl.Utf8})


def rq1_robustness_table(result: AnalysisResult) -> pl.DataFrame:
    frames = [fit.table.with_columns(pl.lit(name).alias("variant")) for name, fit in result.rq1.items()]
    return pl.concat(frames) if frames else pl.DataFrame(schema={**EMPTY_SCHEMAS["rq1"], "variant": pl.Utf8})


def regression_text(result: AnalysisResult) -> tuple[str, str]:
    parts = []
    for name, fit in result.rq1.items():
        parts.append(
            f"== RQ1 variant: {name}\nmarginal R^2 = {fit.r2_marginal:.3f}, conditional R^2 = {fit.r2_conditional:.3f} "
            f"(Nakagawa), n = {fit.n_obs}, models = {fit.n_groups}, converged = {fit.converged}\n"
            "Standard errors treat bootstrap rounds as independent observations: they shrink with more rounds.\n\n"
            f"{fit.summary}\n"
        )
    rq1_text = "\n".join(parts) if parts else NOT_FITTED.format(name="RQ1", table="capability_effect.csv")
    rq2_text = (
        f"== RQ2: alignment ~ us * model:language (reference model: uniform-random baseline)\n"
        f"R^2 = {result.rq2.r_squared:.3f}, n = {result.rq2.n_obs}\n\n{result.rq2.summary}\n"
        if result.rq2 is not None
        else NOT_FITTED.format(name="RQ2", table="us_gap.csv")
    )
    return rq1_text, rq2_text


def write_outputs(result: AnalysisResult, out_dir: str | Path) -> Path:
    """Write every table, the regression summaries and (last) the manifest; returns the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_table_pair(result.alignment, out, "alignment")
    write_table_pair(result.consistency, out, "consistency")
    main_fit = result.rq1.get("main")
    write_table_pair(main_fit.table.select(RQ1_COLUMNS) if main_fit else _or_empty(None, "rq1"), out, "rq1")
    write_table_pair(rq1_robustness_table(result), out, "rq1_robustness")
    write_table_pair(rq1_fit_table(result), out, "rq1_fit")
    us_bias = result.rq2.us_bias.select(US_BIAS_COLUMNS) if result.rq2 else _or_empty(None, "us_bias")
    write_table_pair(us_bias, out, "us_bias")
    write_table_pair(_or_empty(result.human_consistency, "human_consistency"), out, "human_consistency")
    write_table_pair(_or_empty(result.capability, "capability"), out, "capability")
    write_table_pair(result.ground_truth, out, "ground_truth")
    write_table_pair(result.us_gap, out, "us_gap")
    if result.cross_language is not None:
        write_table_pair(result.cross_language, out, "consistency_languages")
    for name, table in result.extra_tables.items():
        write_table_pair(table, out, name)
    write_table(result.bootstrap, out / "bootstrap.parquet")
    if result.responses is not None:
        write_table(result.responses, out / "responses.parquet")
    rq1_text, rq2_text = regression_text(result)
    write_text(out / "rq1_summary.txt", rq1_text)
    write_text(out / "rq2_summary.txt", rq2_text)
    for name, text in result.extra_text.items():
        write_text(out / name, text)
    manifest: dict[str, Any] = {
        **result.manifest,
        "files": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
    }
    if main_fit:
        manifest["rq1_r2"] = {"marginal": main_fit.r2_marginal, "conditional": main_fit.r2_conditional}
    write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(result: AnalysisResult, console: Console | None = None) -> None:
    """A short console summary: definitions used, alignment with the own language, RQ1, RQ2."""
    console = console or Console()
    console.print(
        f"[bold]wvs analysis[/] ({result.manifest.get('consistency_definition', 'clean')} definitions), "
        f"{result.manifest.get('rounds')} bootstrap rounds, seed {result.manifest.get('seed')}, "
        f"judge error e = {result.manifest.get('judge_error_rate')}"
    )
    own = result.alignment.filter(
        (pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language"))
    ).join(result.consistency, on=["model", "family", "language"], how="left", suffix="_cons")
    table = Table(title="Alignment with the prompt language's speakers (Spearman, 95% percentile interval)")
    for column in ("model", "language", "alignment", "consistency", "n"):
        table.add_column(column)
    for row in own.sort("language", "model").iter_rows(named=True):
        table.add_row(
            row["model"],
            row["language"],
            f"{_fmt(row['mean'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]",
            f"{_fmt(row['mean_cons'])} [{_fmt(row['ci_low_cons'])}, {_fmt(row['ci_high_cons'])}]",
            str(row["n_responses"]),
        )
    console.print(table)
    main_fit = result.rq1.get("main")
    if main_fit:
        console.print(
            f"RQ1 mixed model: marginal R^2 {main_fit.r2_marginal:.3f}, conditional R^2 {main_fit.r2_conditional:.3f}, n {main_fit.n_obs}"
        )
        for row in main_fit.table.iter_rows(named=True):
            console.print(
                f"  {row['term']:<48} {row['coef']:+.3f} (SE {row['se']:.3f}, p {row['p']:.3g}) {classify(row['coef'], row['p'])}",
                highlight=False,
                markup=False,
            )
    if result.rq2 is not None:
        counts = (
            result.rq2.us_bias.group_by("language")
            .agg(((pl.col("coef") > 0) & (pl.col("p") < 0.05)).sum().alias("biased"), pl.len().alias("models"))
            .sort("language")
        )
        console.print(
            "RQ2 US-centric bias (positive, p < .05): "
            + ", ".join(f"{r['language']} {r['biased']}/{r['models']}" for r in counts.iter_rows(named=True))
        )
    print_valid_inference(result, console)
    if result.cross_language is not None and not result.cross_language.is_empty():
        wb = within_between_summary(result.cross_language)
        console.print(
            f"Self-consistency within vs between languages (mean over models): "
            f"{_fmt(wb['within'].mean())} vs {_fmt(wb['between'].mean())}"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def print_valid_inference(result: AnalysisResult, console: Console) -> None:
    """The default analysis's conclusions: the draw-free US gap and the per-model capability regression."""
    gap = result.us_gap
    if "more_aligned_with" in gap.columns and gap.height:
        counts = (
            gap.group_by("language")
            .agg((pl.col("more_aligned_with") == "us").sum().alias("us"), pl.len().alias("cells"))
            .sort("language")
        )
        console.print(
            "More aligned with the US than with native countries (US-minus-native gap, 95% bootstrap interval "
            "above 0): " + ", ".join(f"{r['language']} {r['us']}/{r['cells']}" for r in counts.iter_rows(named=True)),
            highlight=False,
        )
    effect = result.extra_tables.get("capability_effect")
    if effect is not None and effect.height:
        for row in effect.filter(pl.col("term") == "capability").iter_rows(named=True):
            console.print(
                f"  capability slope {row['language']}: {row['coef']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}], "
                f"p {row['p']:.3g}, n = {row['n_models']} models (OLS, one row per model)",
                highlight=False,
                markup=False,
            )
