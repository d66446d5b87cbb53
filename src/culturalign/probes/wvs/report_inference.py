"""Report parts built on the default analysis's valid inference (see docs/analysis.md): the
headline cards and the capability section. Never from the regressions fitted on rounds."""

from __future__ import annotations

from typing import Protocol

import polars as pl

from culturalign.report.sections import Section, Table


class Tables(Protocol):
    def table(self, name: str) -> pl.DataFrame | None: ...

    def has(self, *names: str) -> bool: ...


def _real(df: pl.DataFrame) -> pl.DataFrame:
    """Random baselines are references, not results to headline."""
    return df.filter(~pl.col("model").str.to_lowercase().str.starts_with("baseline"))


def valid_headlines(data: Tables) -> list[tuple[str, str]]:
    """Headline cards from inference that holds on noise only: the draw-free US gap's bootstrap
    interval and the capability regression on one row per model (never the fits on rounds)."""
    cards = []
    if data.has("us_gap"):
        gap = _real(data.table("us_gap")).filter(pl.col("ci_low").is_not_null())
        ahead = gap.filter(pl.col("ci_low") > 0).height
        cards.append(
            (
                "More aligned with the US than with local populations",
                f"{ahead} of {gap.height} model × language cells: the US-minus-native alignment gap's 95% bootstrap "
                "interval (responses resampled) lies above 0",
            )
        )
    if data.has("capability_effect"):
        effect = data.table("capability_effect")
        assert effect is not None  # has() said so
        slopes = effect.filter(pl.col("term") == "capability")
        significant = slopes.filter(pl.col("p") < 0.05)
        positive = significant.filter(pl.col("coef") > 0).height
        n_models = ", ".join(f"{r['language']} {r['n_models']}" for r in slopes.iter_rows(named=True))
        cards.append(
            (
                "Capability predicts alignment (OLS across models, one row per model, p < .05)",
                f"{significant.height} of {slopes.height} languages: {positive} positive, "
                f"{significant.height - positive} negative (models per language: {n_models})",
            )
        )
    return cards


def capability_effect_section(data: Tables) -> Section | None:
    """The default analysis's capability test: one row per model, so its p-values mean what they say."""
    if not data.has("capability_effect"):
        return None
    section = Section(title="Does multilingual capability predict alignment?")
    section.paragraphs.append(
        "Per prompt language, an OLS regression across models of alignment with the language's speakers on the "
        "model's capability score (and its self-consistency when at least five models have a score): one row per "
        "model, t-test on n - k degrees of freedom. With few models the test has little power; read the intervals."
    )
    section.tables.append(Table(title="Capability slopes, one row per model", data=data.table("capability_effect")))
    return section
