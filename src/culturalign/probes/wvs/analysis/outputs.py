"""Writing an analysis to its folder.

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

from culturalign.probes.wvs.analysis.pipeline import AnalysisResult
from culturalign.probes.wvs.analysis.rq1 import RQ1_COLUMNS
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
