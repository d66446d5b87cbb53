"""The report section holding the vsm paper's remaining figures (see paper_figures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.probes.vsm import paper_figures as pf
from culturalign.report.covariates import load_covariates
from culturalign.report.sections import Figure, Section, Table
from culturalign.report.style import save_figure
from culturalign.tables import read_table

COVARIATES_HELP = (
    "Give a covariates table with `culturalign report ... --covariates FILE` (CSV or Parquet): columns kind "
    "(model or country), name (as the run names it: the model's name, the country key such as united_states) "
    "and numeric covariates, e.g. params_billion for models, gdp_per_capita and web_share for countries."
)


def _read(analysis_dir: Path, stem: str) -> pl.DataFrame:
    path = analysis_dir / f"{stem}.parquet"
    return read_table(path) if path.is_file() else pl.DataFrame()


def _add(section: Section, figures_dir: Path, stem: str, title: str, caption: str, draw: Callable) -> None:
    try:
        png, svg = save_figure(draw(), figures_dir, stem)
    except (DataError, KeyError, ValueError, pl.exceptions.PolarsError) as exc:
        section.paragraphs.append(f"{title}: not drawn ({exc}).")
        return
    section.figures.append(Figure(title=title, png=png, svg=svg, caption=caption))


def paper_sections(
    analysis_dir: Path, figures_dir: Path, manifest: dict, condition: str, covariates: Path | None = None
) -> list[Section]:
    dims = _read(analysis_dir, "dimension_scores")
    models = _read(analysis_dir, "model_ranking")
    countries = _read(analysis_dir, "country_ranking")
    answers = _read(analysis_dir, "answers")
    section = Section(title="The paper's figures: scores, origins, languages, covariates")
    if dims.height:
        _add(section, figures_dir, f"vsm_fig2_scatter_{condition}", "Model vs country scores (Fig. 2)",
             "One point per model, country and dimension; dashed: equal scores.",
             lambda: pf.score_scatter_figure(dims, condition))  # fmt: skip
        origins = {
            m["name"]: (m.get("origin") or "").upper() for m in manifest.get("models", []) if isinstance(m, dict)
        }
        _add(section, figures_dir, f"vsm_fig5_origin_{condition}", "US- vs China-origin models (Fig. 5)",
             "Mean score over all countries per origin group; bars: 95% bootstrap intervals over countries.",
             lambda: pf.origin_average_figure(dims, origins, condition))  # fmt: skip
    if models.height:
        _add(section, figures_dir, f"vsm_model_metrics_{condition}", "Model ranking by both metrics",
             "Left: deviation ratio with 95% bootstrap intervals; right: mean absolute gap to the published scores.",
             lambda: pf.model_metrics_figure(models, condition))  # fmt: skip
    if answers.height and dims.height and manifest.get("constants"):
        try:
            per_language = pf.language_scores(
                answers, dims, manifest["constants"], manifest.get("normalisation", "clip")
            )
        except DataError as exc:
            section.paragraphs.append(f"Scores per prompt language: not computed ({exc}).")
        else:
            _add(section, figures_dir, "vsm_language_scores", "Scores per prompt language",
                 "Mean over models and country personas of the absolute gap to the published score.",
                 lambda: pf.language_scores_figure(per_language))  # fmt: skip
            section.tables.append(Table("Dimension scores per prompt language (over country personas)", per_language))
    if covariates is None:
        section.paragraphs.append(
            "Alignment against covariates (Fig. 6): no covariates table given. " + COVARIATES_HELP
        )
    else:
        table = load_covariates(covariates)
        _add(section, figures_dir, f"vsm_fig6_covariates_{condition}", "Alignment against covariates (Fig. 6)",
             "Mean deviation ratio per model (over countries) or per country (over models) against each covariate "
             f"of {Path(covariates).name}.", lambda: pf.covariates_figure(models, countries, table, condition))  # fmt: skip
    return [section]
