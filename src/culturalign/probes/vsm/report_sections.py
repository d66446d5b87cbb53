"""What the vsm probe hands the report: rankings, radar charts, origin comparison, sensitivity, failures."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from culturalign.probes.vsm import figures
from culturalign.probes.vsm.paper_figures import radar_with_average
from culturalign.probes.vsm.paper_sections import paper_sections
from culturalign.report.sections import Example, Figure, LabelledSpan, ReportSource, Section, Table
from culturalign.report.style import save_figure
from culturalign.tables import read_table

FAILURE_WARN_RATE = 0.2


def _read(analysis_dir: Path, stem: str) -> pl.DataFrame:
    path = analysis_dir / f"{stem}.parquet"
    return read_table(path) if path.is_file() else pl.DataFrame()


def _fmt(value, low=None, high=None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}"
    if low is not None and high is not None:
        text += f" [95% CI {low:.2f}, {high:.2f}]"
    return text


def _constants(constants: dict[str, float]) -> str:
    values = set(constants.values())
    if len(values) == 1:
        return f"C = {values.pop():g} for every index"
    return "C = " + ", ".join(f"{k.upper()} {v:g}" for k, v in constants.items())


MODE_TEXT = {
    "free": "free (the paper's protocol: free text, the chosen number read out of it)",
    "constrained": "constrained (the output restricted to the options 1-5)",
    "scored": "scored (each option's log-probability as a continuation of the prompt; the item's answer is the "
    "expected value of that distribution, asked once, so its repeats are identical and its intervals have zero "
    "width; the entropy of each distribution is in item_means)",
}


def answer_modes_paragraph(models: list[dict]) -> str:
    modes = {m["name"]: m.get("answer_mode", "free") for m in models}
    parts = [f"{mode}: {', '.join(n for n, m in modes.items() if m == mode)}" for mode in dict.fromkeys(modes.values())]
    explained = "; ".join(MODE_TEXT[mode] for mode in dict.fromkeys(modes.values()) if mode in MODE_TEXT)
    return f"Answer modes ({'; '.join(parts)}). Meaning: {explained}. See docs/answer-modes.md."


def _figure(fig, directory: Path, stem: str, title: str, caption: str) -> Figure:
    png, svg = save_figure(fig, directory, stem)
    return Figure(title=title, png=png, svg=svg, caption=caption)


def _main_condition(table: pl.DataFrame) -> str:
    present = set(table["condition"]) if table.height else set()
    return next((c for c in ("aligned", "average", "english", "chinese") if c in present), "average")


def report_sections(source: ReportSource) -> list[Section]:
    analysis_dir, figures_dir, covariates = Path(source.analysis_dir), Path(source.figures_dir), source.covariates
    manifest = json.loads((analysis_dir / "manifest.json").read_text(encoding="utf-8"))
    countries = _read(analysis_dir, "country_ranking")
    models = _read(analysis_dir, "model_ranking")
    dims = _read(analysis_dir, "dimension_scores")
    dim_dr = _read(analysis_dir, "dimension_dr")
    failures = _read(analysis_dir, "failures")
    condition = _main_condition(countries)
    return [
        _overview(manifest, countries, models, failures, dims, condition),
        _rankings(countries, models, figures_dir, condition, manifest, _read(analysis_dir, "language_average")),
        _dimensions(dims, dim_dr, figures_dir, condition),
        _origin(_read(analysis_dir, "origin_comparison")),
        _sensitivity(
            _read(analysis_dir, "sensitivity_agreement"), _read(analysis_dir, "sensitivity_rankings"), manifest
        ),
        _extraction(failures, _read(analysis_dir, "answers")),
        *paper_sections(analysis_dir, figures_dir, manifest, condition, covariates),
    ]


def _overview(
    manifest: dict,
    countries: pl.DataFrame,
    models: pl.DataFrame,
    failures: pl.DataFrame,
    dims: pl.DataFrame,
    condition: str,
) -> Section:
    section = Section(title="VSM 2013: country personas against Hofstede's scores")
    n, ok = manifest["answers"]["n"], manifest["answers"]["ok"]
    section.headline.append(("Answers read", f"{ok} of {n} ({ok / n:.0%})" if n else "none"))
    for label, table, key in (("Best-aligned country", countries, "country"), ("Best-aligned model", models, "model")):
        top = table.filter((pl.col("condition") == condition) & (pl.col("rank") == 1)) if table.height else table
        if top.height:
            r = top.row(0, named=True)
            section.headline.append(
                (f"{label} ({condition})", f"{r[key]}: DR {_fmt(r['dr'], r['dr_low'], r['dr_high'])}")
            )
    section.paragraphs += [
        "Each model answered the 24 content items of Hofstede's Values Survey Module 2013 in the role of an average "
        "person from each country, in each prompt language, one item per call. The six dimension indices use the "
        "manual's formulas on the item means of each repeat (trial).",
        "Deviation ratio (DR) of a model and country: the mean distance of the country's published scores from the "
        "global mean of the published scores, divided by the mean over trials of the model's mean absolute gap to the "
        "published scores. Above 1, the model is closer to the country than the global mean is; higher is better.",
        f"Scaling: {_constants(manifest['constants'])}, normalisation '{manifest['normalisation']}'; global mean over "
        f"{'the paper' if manifest['global_mean'] == 'paper' else 'this run'}'s countries. Intervals: "
        f"{manifest['bootstrap']}, {manifest['bootstrap_rounds']} rounds.",
        "The questionnaire is (c) Geert Hofstede BV; the country scores are Hofstede's published data "
        "(Hofstede, Hofstede & Minkov 2010). The VSM manual warns that scores from a new sample are not directly "
        "comparable to the published country scores.",
    ]
    section.warnings += list(manifest.get("warnings", []))
    section.paragraphs.append(answer_modes_paragraph(manifest.get("models", [])))
    tiny = [m["name"] for m in manifest.get("models", []) if m.get("tiny")]
    if tiny:
        section.warnings.append(
            f"{', '.join(tiny)}: the embedded Gemma 3 270M, a tiny base model. Its scores and intervals show that the "
            "pipeline runs end to end on real model output; they are not a measurement of any culture."
        )
    undefined = manifest.get("undefined_ratios") or {}
    if undefined.get("dr") or undefined.get("dr_per_dimension"):
        section.warnings.append(
            f"{undefined.get('dr', 0)} deviation ratios and {undefined.get('dr_per_dimension', 0)} per-dimension ratios "
            "are undefined: the model's score equals the published score exactly (usually a clipped 0 or 100), so the "
            "gap is 0. They are shown as empty and marked in the figures, counted in n_undefined, and left out of every "
            "mean (which therefore leaves out the closest matches)."
        )
    if manifest.get("repeats", 0) < 2:
        section.warnings.append("Only one repeat per item: the bootstrap intervals cannot show any sampling variation.")
    elif (
        dims.height and dims["score_low"].null_count() < dims.height and (dims["score_high"] == dims["score_low"]).all()
    ):
        section.warnings.append(
            "All repeats gave identical answers, so every interval has zero width: they show no sampling "
            "variation, not certainty about the population."
        )
    if failures.height:
        bad = failures.filter(pl.col("failure_rate") > FAILURE_WARN_RATE)
        for r in bad.iter_rows(named=True):
            section.warnings.append(
                f"{r['model']} in {r['language']}: {r['n'] - r['ok']} of {r['n']} answers gave no readable choice "
                f"({r['failure_rate']:.0%}); its scores rest on fewer answers."
            )
    return section


LANGUAGE_AVERAGE_TEXT = {
    "scores": "Average over languages (this run): each trial's scaled scores are averaged over the prompt languages "
    "and the gap is taken from that average profile. This is the default because the paper's language-average "
    "condition asks what culture a model gives a country role beyond the influence of the prompt language, i.e. one "
    "profile per role; note that errors in opposite directions in different languages cancel in it.",
    "ratios": "Average over languages (this run): gaps and deviation ratios are computed in each prompt language and "
    "then averaged: the typical alignment of a single-language prompt. Errors in different languages do not cancel, "
    "so it is usually lower than averaging the scores first (the default).",
}


def _rankings(
    countries: pl.DataFrame,
    models: pl.DataFrame,
    figures_dir: Path,
    condition: str,
    manifest: dict | None = None,
    both_averages: pl.DataFrame | None = None,
) -> Section:
    section = Section(title="Rankings by deviation ratio")
    averaging = (manifest or {}).get("language_average", "scores")
    section.paragraphs.append(LANGUAGE_AVERAGE_TEXT[averaging])
    if both_averages is not None and both_averages.height:
        section.tables.append(Table("Average-over-languages DR under both averaging rules", both_averages))
    if countries.height:
        section.figures.append(_figure(figures.ranking_figure(countries, "country", condition), figures_dir,
                                       f"vsm_country_ranking_{condition}", "Country ranking",
                                       "Mean DR over models; bars show 95% bootstrap intervals; dashed line: DR = 1."))  # fmt: skip
        section.tables.append(Table("Country ranking per prompt condition", countries.sort("condition", "rank")))
    if models.height:
        section.figures.append(_figure(figures.ranking_figure(models, "model", condition), figures_dir,
                                       f"vsm_model_ranking_{condition}", "Model ranking",
                                       "Mean DR over countries; bars show 95% bootstrap intervals."))  # fmt: skip
        section.tables.append(Table("Model ranking per prompt condition", models.sort("condition", "rank")))
    section.paragraphs.append(
        "neutral_dr in the country table is the DR of a respondent who gives the same answer to every item (every "
        "index at its constant C): a country whose models barely beat it is not evidence of alignment."
    )
    section.paragraphs.append(
        "Prompt conditions: aligned (the country's own language), english, chinese, average (scores averaged over "
        "all prompt languages of the run), other (averaged over all but English and Chinese)."
    )
    return section


def _dimensions(dims: pl.DataFrame, dim_dr: pl.DataFrame, figures_dir: Path, condition: str) -> Section:
    section = Section(title="Dimension scores")
    if dims.height:
        section.figures.append(_figure(radar_with_average(dims, condition), figures_dir, f"vsm_radar_{condition}",
                                       "Radar charts", "Black: Hofstede's published score; blue: mean over models; "
                                       "dashed grey: the overall average of the countries shown."))  # fmt: skip
        summary = (
            dims.filter(pl.col("condition") == condition)
            .group_by("country", "dimension")
            .agg(pl.col("score").mean().alias("model_mean"), pl.col("ground_truth").first(),
                 pl.col("abs_gap").mean().alias("mean_abs_gap"), pl.len().alias("n_models"))
            .sort("country", "dimension")
        )  # fmt: skip
        section.tables.append(Table(f"Scores per country and dimension ({condition})", summary))
    if dim_dr.height:
        section.figures.append(_figure(figures.dimension_dr_figure(dim_dr), figures_dir, "vsm_dimension_dr",
                                       "DR per dimension", "Mean over models and countries."))  # fmt: skip
        section.tables.append(Table("Deviation ratio per dimension", dim_dr))
    return section


def _origin(origin: pl.DataFrame) -> Section:
    section = Section(title="US- and China-origin models against US and China scores")
    if origin.height == 0:
        section.paragraphs.append("No comparison: give models an origin (origin = \"US\" or \"CN\") and include the "
                                  "United States or China among the countries.")  # fmt: skip
        return section
    section.tables.append(Table("Deviation ratio by model origin", origin))
    section.paragraphs.append(
        "Rows US-CN give the difference of the group means with its 95% bootstrap interval and a two-sided bootstrap "
        "p-value (empty when the rounds show no spread). Groups are small; read them as descriptions of these models."
    )
    return section


def _sensitivity(agreement: pl.DataFrame, rankings: pl.DataFrame, manifest: dict) -> Section:
    section = Section(title="Sensitivity to the constant C and the normalisation")
    section.paragraphs.append(
        "The deviation ratio depends on how indices are put on the 0-100 scale. Rankings are recomputed with C = 0, "
        "C = 50 (both then bounded to 0-100) and with the possible range of each index mapped onto 0-100; the "
        "table gives Spearman's rank correlation of each with the configured scaling (n = entities ranked)."
    )
    if agreement.height:
        section.tables.append(Table("Rank agreement with the configured scaling", agreement))
    if rankings.height:
        section.tables.append(
            Table("Rankings under each scaling", rankings.sort("kind", "condition", "scheme", "rank"))
        )
    return section


def _extraction(failures: pl.DataFrame, answers: pl.DataFrame) -> Section:
    section = Section(title="Answer extraction")
    section.paragraphs.append(
        "The chosen option is read from digits in any script, then number words of the prompt language, then the "
        "text of a single option label. Anything else is a failure, kept with its text and never replaced by a default. "
        "Constrained answers are the option itself; scored answers are a distribution over the five options."
    )
    if failures.height:
        section.tables.append(Table("Readable answers and failures per model and language", failures))
    if answers.height and "entropy_bits" in answers.columns and answers["entropy_bits"].is_not_null().any():
        scored = (
            answers.filter(pl.col("entropy_bits").is_not_null())
            .group_by("model", "language")
            .agg(pl.len().alias("items"), pl.col("value").mean().alias("mean_expected_answer"),
                 pl.col("entropy_bits").mean().alias("mean_entropy_bits"),
                 pl.col("entropy_bits").min().alias("min_entropy_bits"),
                 pl.col("entropy_bits").max().alias("max_entropy_bits"))
            .sort("model", "language")
        )  # fmt: skip
        section.tables.append(
            Table("Scored answers: expected option and entropy (bits; uniform over 5 = 2.32)", scored)
        )
    if answers.height:
        failed = answers.filter(pl.col("choice").is_null() & pl.col("response").is_not_null()).head(6)
        for r in failed.iter_rows(named=True):
            section.examples.append(Example(
                model=r["model"], language=r["language"], prompt=f"{r['country']}, item {r['item']}",
                parts=(LabelledSpan(r["response"], r["status"]),), note="no choice could be read",
            ))  # fmt: skip
    return section
