"""What the wvs analysis hands the report: headline numbers, the paper's figures, tables and
example responses with their judge labels.

Every part is built only from the files the analysis wrote; a part whose files are missing
(a run without capability scores has no RQ1) is replaced by a sentence saying so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure as MplFigure

from culturalign.errors import DataError
from culturalign.probes.wvs.judge_quality import failure_warnings, newer_validations, quality_of_stored_run
from culturalign.probes.wvs.language_status import languages_section
from culturalign.probes.wvs.report import figures as fig
from culturalign.probes.wvs.report import supplement_figures as supplement
from culturalign.probes.wvs.report.examples import examples_from_store
from culturalign.probes.wvs.report_inference import capability_effect_section, valid_headlines
from culturalign.probes.wvs.report_missing import missing_part
from culturalign.report.provenance import fleiss_text, judge_failures_text, judge_summary, load_manifest
from culturalign.report.sections import Figure, ReportSource, Section, Table
from culturalign.report.style import save_figure
from culturalign.store.db import RunStore
from culturalign.tables import read_table

EXAMPLES_PER_MODEL = 3


class _Analysis:
    """Lazy access to the analysis tables; a missing table is None, not an error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, pl.DataFrame | None] = {}

    def table(self, name: str) -> pl.DataFrame | None:
        if name not in self._cache:
            # Parquet first: it keeps numeric types where a CSV column of all-missing values reads as text.
            path = next(
                (
                    self.directory / f"{name}{s}"
                    for s in (".parquet", ".csv")
                    if (self.directory / f"{name}{s}").is_file()
                ),
                None,
            )
            self._cache[name] = _numeric(read_table(path)) if path is not None else None
        return self._cache[name]

    def has(self, *names: str) -> bool:
        return all((table := self.table(n)) is not None and not table.is_empty() for n in names)

    def need(self, name: str) -> pl.DataFrame:
        """A table the caller has checked with `has`."""
        table = self.table(name)
        if table is None:
            raise DataError(f"the analysis folder {self.directory} has no {name} table")
        return table


_NUMERIC_COLUMNS = ("mean", "ci_low", "ci_high", "coef", "se", "p", "self_consistency", "score", "vps")


def _numeric(df: pl.DataFrame) -> pl.DataFrame:
    """Numbers as numbers: in a small run a column can be all missing, which a CSV reader takes for text."""
    return df.with_columns(
        pl.col(c).cast(pl.Float64, strict=False) for c in _NUMERIC_COLUMNS if c in df.columns and df[c].dtype == pl.Utf8
    )


def _without_baselines(df: pl.DataFrame) -> pl.DataFrame:
    """Random baselines are references in figures, not results to headline."""
    keep = ~pl.col("model").str.to_lowercase().str.starts_with("baseline")
    if "family" in df.columns:
        keep = keep & ~pl.col("family").fill_null("").str.to_lowercase().str.starts_with("baseline")
    return df.filter(keep)


def _ci(mean: float | None, low: float | None, high: float | None) -> str:
    """A value with its interval; a run too small for an estimate says so instead of failing."""
    if mean is None:
        return "not estimable (too few responses)"
    if low is None or high is None:
        return f"{mean:.3f} [interval not estimable]"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _draw(
    section: Section, figures_dir: Path, stem: str, title: str, caption: str, draw: Callable[[], MplFigure]
) -> None:
    """Add one figure to the section, or a sentence saying why it could not be drawn."""
    try:
        png, svg = save_figure(draw(), figures_dir, stem)
    except DataError as exc:
        section.paragraphs.append(f"{title}: not drawn ({exc}).")
        return
    except (ValueError, TypeError, KeyError, pl.exceptions.PolarsError) as exc:
        # One odd table must not cost the run its whole report; the page names the failure.
        section.paragraphs.append(f"{title}: not drawn, the data could not be plotted ({type(exc).__name__}: {exc}).")
        return
    section.figures.append(Figure(title=title, png=png, svg=svg, caption=caption))


# -- sections ----------------------------------------------------------------------------------
def summary_section(data: _Analysis, manifest: dict) -> Section:
    section = Section(title="Summary")
    section.paragraphs.append(
        "Alignment is the Spearman correlation between the value polarity score (VPS) of each model response "
        "and the survey VPS of the population for the response's item; intervals are 95% bootstrap percentile "
        f"intervals ({manifest.get('rounds', '?')} rounds), n is the number of responses."
    )
    notes = manifest.get("notes")
    if isinstance(notes, list) and notes:
        section.paragraphs.append("Notes of the analysis: " + "; ".join(str(n) for n in notes) + ".")
    validation = manifest.get("judge_validation")
    judge_text, warnings = judge_summary(validation, manifest.get("judge_error_rate"))
    section.headline.append(("Judge agreement with hand labels", judge_text))
    section.warnings.extend(warnings)
    section.notices.extend(failure_warnings(validation if isinstance(validation, dict) else None))
    for label, text in (
        ("Agreement between the judges", fleiss_text(validation)),
        ("Responses each judge could not label (after retries)", judge_failures_text(validation)),
    ):
        if text:
            section.headline.append((label, text))
    error = manifest.get("judge_error_rate")
    if isinstance(error, int | float):
        where = manifest.get("judge_error_rate_source") or "its source was not recorded"
        section.headline.append(("Judge error e in the attenuation correction", f"{error:.3f}: {where}"))
    if data.has("alignment"):
        own = _without_baselines(data.table("alignment")).filter(
            (pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language"))
        )
        for language in sorted(own["language"].unique().to_list()):
            rows = own.filter(pl.col("language") == language).sort("mean", descending=True, nulls_last=True)
            for label, row in (("highest", rows.row(0, named=True)), ("lowest", rows.row(-1, named=True))):
                section.headline.append(
                    (
                        f"{language}: {label} alignment with {language} speakers",
                        f"{row['model']}: ρ = {_ci(row['mean'], row['ci_low'], row['ci_high'])}, "
                        f"n = {row['n_responses']} responses",
                    )
                )
    if data.has("paper_comparison"):
        comparison = data.need("paper_comparison")
        if "class_agrees" in comparison.columns:
            agrees = comparison["class_agrees"].cast(pl.Boolean).sum()
            section.headline.append(
                (
                    "Agreement with the published analysis",
                    f"{agrees} of {comparison.height} published coefficients keep their class (positive, negative or "
                    "not significant at p < .05)",
                )
            )
    section.headline.extend(valid_headlines(data))
    if data.has("consistency", "human_consistency"):
        human_low = float(data.need("human_consistency")["self_consistency"].min())
        cons = _without_baselines(data.need("consistency"))
        below = cons.filter(pl.col("ci_high") < human_low).height
        section.headline.append(
            (
                "Models less self-consistent than people",
                f"{below} of {cons.height} model × language cells: upper 95% bound below the lowest human value "
                f"({human_low:.2f})",
            )
        )
    return section


def rq1_section(data: _Analysis, figures_dir: Path, manifest: dict) -> Section | None:
    section = Section(title="RQ1 as the paper fitted it (paper's method: mixed model on bootstrap rounds)")
    if not data.has("rq1"):
        return None
    rq1 = data.table("rq1")
    section.paragraphs.append(
        "Linear mixed model: alignment ~ 0 + consistency:language + capability:family:language, random intercept "
        "per model, one row per model × language × bootstrap round. Rounds are not independent samples, so the "
        "printed standard errors shrink as rounds are added: read the slopes' signs and sizes, not their p-values."
    )
    _draw(
        section,
        figures_dir,
        "fig1_rq1_coefficients",
        "Capability slopes by language and family",
        "Points: coefficients; bars: 95% intervals; filled points and stars: p < .05.",
        lambda: fig.rq1_coefficients_figure(rq1),
    )
    if data.has("alignment", "consistency", "capability"):
        _draw(
            section,
            figures_dir,
            "fig4_capability_alignment",
            "Capability vs adjusted alignment",
            "Alignment with the prompt language's speakers minus the consistency term of the mixed model; "
            "lines carry the family's RQ1 slope.",
            lambda: fig.capability_alignment_figure(
                data.table("alignment"), data.table("consistency"), data.table("capability"), rq1
            ),
        )
    fit = manifest.get("rq1_r2")
    if isinstance(fit, dict) and fit.get("marginal") is not None:
        section.paragraphs.append(
            f"Variance explained (Nakagawa R²): marginal {fit['marginal']:.3f}, "
            f"conditional {fit.get('conditional', 0):.3f}."
        )
    section.tables.append(Table(title="RQ1 coefficients", data=rq1))
    return section


def us_bias_section(data: _Analysis, figures_dir: Path) -> Section:
    section = Section(title="US-centric bias")
    if not data.has("us_bias"):
        if not data.has("us_gap"):
            missing_part(section, data.directory, "us_gap")
        else:
            _us_gap_part(data, figures_dir, section)
        return section
    families: dict[str, str] = {}
    if data.has("alignment"):
        pairs = data.need("alignment").select("model", "family").unique()
        families = dict(zip(pairs["model"].to_list(), pairs["family"].to_list(), strict=True))
    section.paragraphs.append(
        "Paper's method (RQ2): OLS alignment ~ us × model:language with the uniform random baseline as reference, "
        "fitted on bootstrap rounds as if they were observations, so its standard errors and p-values shrink as "
        "rounds are added. A positive coefficient means the model, in that language, agrees more with US "
        "respondents than with local ones, relative to one random baseline draw. Conclusions rest on the gap below."
    )
    _draw(
        section,
        figures_dir,
        "fig5_us_bias",
        "US-bias coefficients",
        "Bars: ± 1 standard error of the regression; filled points and stars: p < .05.",
        lambda: fig.us_bias_figure(data.table("us_bias"), families),
    )
    section.tables.append(Table(title="US-bias coefficients (paper's method)", data=data.table("us_bias")))
    if data.has("us_gap"):
        _us_gap_part(data, figures_dir, section)
    return section


def _us_gap_part(data: _Analysis, figures_dir: Path, section: Section) -> None:
    """The model's own US-minus-native gap: no baseline draw, intervals from resampled responses."""
    section.paragraphs.append(
        "US minus local alignment: the model's own alignment with US respondents minus its mean alignment with "
        "the countries where the prompt language is native, in every bootstrap round (responses resampled). "
        "An interval above 0 means more aligned with the US; p is the two-sided bootstrap p-value."
    )
    if {"mean", "ci_low", "ci_high", "family"} <= set(data.need("us_gap").columns):
        _draw(
            section,
            figures_dir,
            "us_gap",
            "US minus local alignment",
            "The model's own difference in alignment with US respondents and with local ones (no baseline draw "
            "involved); bars: 95% bootstrap intervals.",
            lambda: supplement.us_gap_figure(data.table("us_gap")),
        )
    section.tables.append(
        Table(
            title="US minus local alignment gap",
            data=data.table("us_gap"),
            caption="The model's own US-minus-native alignment difference, which does not depend on a baseline draw.",
        )
    )


def consistency_section(data: _Analysis, figures_dir: Path) -> Section:
    section = Section(title="Self-consistency")
    if not data.has("consistency"):
        missing_part(section, data.directory, "consistency")
        return section
    human = data.table("human_consistency")
    section.paragraphs.append(
        "Spearman correlation of VPS between pairs of responses of the same model to the same item, corrected "
        "for judge error. The grey band spans the survey's own self-consistency (10 respondents redrawn 100 times) "
        "over the populations."
    )
    _draw(
        section,
        figures_dir,
        "fig3_self_consistency",
        "Self-consistency per model and language",
        "Points: mean; bars: 95% bootstrap intervals; band: human range.",
        lambda: fig.self_consistency_figure(data.table("consistency"), human),
    )
    section.tables.append(Table(title="Self-consistency", data=data.table("consistency")))
    return section


def ground_truth_section(data: _Analysis, figures_dir: Path) -> Section:
    section = Section(title="The survey ground truth")
    if not data.has("ground_truth"):
        missing_part(section, data.directory, "ground_truth")
        return section
    truth = data.need("ground_truth")
    n_items = truth["item"].n_unique()
    section.paragraphs.append(
        f"Value polarity scores of {n_items} items: the weighted share of respondents on the item's 'pro' side."
    )
    _draw(
        section,
        figures_dir,
        "fig2_ground_truth_correlations",
        "Correlation of ground truth between countries",
        "Pearson correlation over the items both countries have; similar countries are placed together.",
        lambda: fig.ground_truth_correlation_figure(truth, "country"),
    )
    return section


def population_section(data: _Analysis, figures_dir: Path) -> Section:
    section = Section(title="Alignment with each population")
    if not data.has("alignment"):
        missing_part(section, data.directory, "alignment")
        return section
    alignment = data.need("alignment")
    for language in sorted(alignment["language"].drop_nulls().unique().to_list()):
        _draw(
            section,
            figures_dir,
            f"alignment_{language}",
            f"Prompt language {language}",
            "Points: alignment; bars: 95% bootstrap intervals.",
            functools.partial(supplement.population_alignment_figure, alignment, language),
        )
    section.tables.append(Table(title="Alignment", data=alignment))
    return section


def reproduction_section(data: _Analysis) -> Section | None:
    """Only for reproductions: each published coefficient beside ours, and how stable that is."""
    if not data.has("paper_comparison"):
        return None
    section = Section(title="Comparison with the published analysis")
    section.paragraphs.append(
        "Each published coefficient beside this analysis's estimate; diff_in_paper_se is the difference in units "
        "of the published standard error. With 100 bootstrap rounds estimates move between re-runs by up to about "
        "two published standard errors."
    )
    section.tables.append(Table(title="Published vs reproduced coefficients", data=data.table("paper_comparison")))
    if data.has("stability"):
        section.tables.append(Table(title="How often each conclusion holds over re-runs", data=data.table("stability")))
    return section


def examples_section(store: RunStore | None, run_id: str | None) -> Section:
    section = Section(title="Example responses")
    if store is None:
        section.paragraphs.append("No run store was given, so there are no example responses to show.")
        return section
    try:
        run = store.run(run_id)
    except DataError as exc:
        section.paragraphs.append(f"No example responses: {exc}.")
        return section
    section.examples.extend(examples_from_store(store, run.run_id, EXAMPLES_PER_MODEL))
    section.paragraphs.append(
        f"Up to {EXAMPLES_PER_MODEL} responses per model from run {run.run_id}, as the model wrote them, split into "
        "interviewees with the judge's label on each (pro, con or null)."
        if section.examples
        else f"Run {run.run_id} holds no answered generation requests."
    )
    return section


def report_sections(source: ReportSource) -> list[Section]:
    """The wvs report, section by section; figures go to `source.figures_dir`."""
    analysis_dir, figures_dir = Path(source.analysis_dir), source.figures_dir
    manifest = load_manifest(analysis_dir)
    data = _Analysis(analysis_dir)
    summary = summary_section(data, manifest)
    run_id = source.run_id or manifest.get("run_id")
    if source.store is not None and run_id:
        try:
            current = quality_of_stored_run(source.store, run_id)
        except DataError:
            current = None  # the run is not in this store: nothing newer to say
        summary.warnings.extend(newer_validations(manifest.get("judge_validation"), current))
    sections = [
        summary,
        languages_section(manifest),
        capability_effect_section(data),
        rq1_section(data, figures_dir, manifest),
        us_bias_section(data, figures_dir),
        consistency_section(data, figures_dir),
        ground_truth_section(data, figures_dir),
        population_section(data, figures_dir),
        reproduction_section(data),
        examples_section(source.store, source.run_id or manifest.get("run_id")),
    ]
    return [s for s in sections if s is not None]
