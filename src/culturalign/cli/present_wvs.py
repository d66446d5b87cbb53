"""What the command line shows of a wvs analysis and of the paper's reproduction."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.table import Table

from culturalign.probes.wvs.analysis.consistency import within_between_summary
from culturalign.probes.wvs.analysis.paper import acceptance_checks
from culturalign.probes.wvs.analysis.pipeline import AnalysisResult
from culturalign.probes.wvs.analysis.rq1 import classify
from culturalign.probes.wvs.judge.candidates import known_candidates
from culturalign.probes.wvs.judge.quality import default_judge_name, judge_quality
from culturalign.probes.wvs.judge.validate import ValidationReport

# The terminal's own width (80 columns in a pipe), as these summaries have always been printed.
console = Console()


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_analysis(result: AnalysisResult) -> None:
    """A short console summary: definitions used, alignment with the own language, RQ1, RQ2."""
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
    print_valid_inference(result)
    if result.cross_language is not None and not result.cross_language.is_empty():
        wb = within_between_summary(result.cross_language)
        console.print(
            f"Self-consistency within vs between languages (mean over models): "
            f"{_fmt(wb['within'].mean())} vs {_fmt(wb['between'].mean())}"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def print_valid_inference(result: AnalysisResult) -> None:
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


def print_comparison(comparison: pl.DataFrame) -> None:
    """Each regression term as the paper printed it and as this reproduction finds it."""
    table = Table(title="Paper vs this reproduction (class: pos/neg = sign at p < .05, ns = not significant)")
    for column in ("term", "paper", "ours", "diff (paper SEs)", "agrees"):
        table.add_column(column)
    for row in comparison.iter_rows(named=True):
        ours = "-" if row["coef"] is None else f"{row['coef']:+.3f} ({row['se']:.3f}) {row['class']}"
        diff = "-" if row["diff_in_paper_se"] is None else f"{row['diff_in_paper_se']:+.1f}"
        table.add_row(
            row["term"],
            f"{row['paper_coef']:+.3f} ({row['paper_se']:.3f}) {row['paper_class']}",
            ours,
            diff,
            "yes" if row["class_agrees"] else "NO",
        )
    console.print(table)
    agree = (
        comparison.group_by("section")
        .agg(pl.col("class_agrees").sum().alias("agree"), pl.len().alias("terms"))
        .sort("section")
    )
    for row in agree.iter_rows(named=True):
        console.print(f"{row['section']}: {row['agree']} of {row['terms']} classes as in the paper", highlight=False)
    for check, ok in acceptance_checks(comparison).items():
        console.print(
            f"  [{'green' if ok else 'red'}]{'holds' if ok else 'does not hold'}[/]: {check}", highlight=False
        )


def print_beside(result: AnalysisResult) -> None:
    """Clean consistency beside the released one, human beside model consistency, US gap, stability."""
    real = ~pl.col("model").str.starts_with("Baseline_")
    released = result.consistency.filter(real).group_by("language").agg(pl.col("mean").mean().alias("released"))
    clean = (
        result.extra_tables["consistency_clean"]
        .filter(real)
        .group_by("language")
        .agg(pl.col("mean").mean().alias("clean"))
    )
    both = released.join(clean, on="language").sort("language")
    console.print(
        "Model self-consistency per language, mean over models (released definition with copies | plain responses): "
        + ", ".join(f"{r['language']} {r['released']:.2f} | {r['clean']:.2f}" for r in both.iter_rows(named=True)),
        highlight=False,
    )
    if result.human_consistency is not None and not result.human_consistency.is_empty():
        human = result.human_consistency["self_consistency"]
        console.print(
            f"Human self-consistency (resampled respondents): {human.min():.2f} to {human.max():.2f}", highlight=False
        )
    clean_fit = result.extra_tables["rq1_clean_consistency"].filter(pl.col("term").str.starts_with("consistency"))
    console.print(
        "RQ1 consistency slopes with plain-response consistency: "
        + ", ".join(f"{r['language']} {r['coef']:.2f}" for r in clean_fit.iter_rows(named=True)),
        highlight=False,
    )
    gap = result.us_gap.group_by("language").agg((pl.col("ci_low") > 0).sum().alias("gap"), pl.len().alias("models"))
    if result.rq2 is not None:
        contrast = result.rq2.us_bias.group_by("language").agg(
            ((pl.col("coef") > 0) & (pl.col("p") < 0.05)).sum().alias("contrast")
        )
        gap = gap.join(contrast, on="language", how="left")
    console.print(
        "US-centric bias per language, models counted (baseline contrast, p < .05 | draw-free US-minus-native gap, "
        "95% interval above 0): "
        + ", ".join(
            f"{r['language']} {r.get('contrast', '-')} | {r['gap']} of {r['models']}"
            for r in gap.sort("language").iter_rows(named=True)
        ),
        highlight=False,
    )
    if "stability" in result.extra_tables:
        stab = result.extra_tables["stability"]
        for section in ("rq1_capability", "rq1_consistency", "rq2_us_bias"):
            part = stab.filter(pl.col("section") == section)
            console.print(
                f"{section}: paper class holds in {part['share_class_holds'].mean():.0%} of re-runs on average "
                f"(min {part['share_class_holds'].min():.0%} over terms)",
                highlight=False,
            )


# -- judges ------------------------------------------------------------------------------------
def print_validation(judge: str, report: ValidationReport) -> None:
    """A judge's agreement, kappa and VPS error on the hand labels, each with its interval."""
    table = Table(title=f"judge {judge}: {report.n_summaries} summaries in {report.n_responses} responses")
    table.add_column("metric")
    table.add_column("estimate", justify="right")
    table.add_column(f"{report.confidence:.0%} interval", justify="right")
    for name, interval in (
        ("agreement", report.agreement),
        ("Cohen's kappa", report.kappa),
        ("VPS MAE", report.vps_mae),
    ):
        table.add_row(name, _na(interval.estimate), f"{_na(interval.low)} to {_na(interval.high)}")
    console.print(table)
    console.print(
        f"coverage {report.coverage:.1%}; bootstrap {report.bootstrap_rounds} rounds over responses; "
        f"VPS error over {report.n_responses_with_vps} responses with a defined VPS"
    )


def print_candidates() -> None:
    """The offline judge candidates and what validation measured for each."""
    table = Table(title="offline stance judges")
    for column in ("candidate", "default", "summaries", "agreement", "kappa", "VPS MAE", "interpretable"):
        table.add_column(column)
    for name in known_candidates():
        q = judge_quality(name)
        table.add_row(
            name,
            "yes" if name == default_judge_name() else "",
            str(q.n_summaries) if q.n_summaries is not None else "n/a",
            _na(q.agreement),
            _na(q.kappa),
            _na(q.vps_mae),
            "yes" if q.interpretable else "no",
        )
    console.print(table)


def _na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
