"""The clean `wvs` analysis of a response table: alignment, consistency, RQ1, RQ2, US gap.

"Clean" definitions (the default for new runs): one bootstrap draw over the responses,
shared by every group and level; self-consistency over pairs of distinct responses; no
population copies. `consistency="released"` computes consistency as the released analysis
did (pairs on the language-level joined table, copies included) for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from culturalign import __version__
from culturalign.analysis.inference import CAPABILITY_TEST, GAP_TEST, capability_effect, gap_test
from culturalign.errors import DataError
from culturalign.probes.wvs.analysis import baselines as bl
from culturalign.probes.wvs.analysis.alignment import (
    Domain,
    DomainRounds,
    GroupRounds,
    PairSet,
    bootstrap_domain,
    corrected,
    join_truth,
    rounds_long,
    summarise,
)
from culturalign.probes.wvs.analysis.consistency import cross_language_consistency
from culturalign.probes.wvs.analysis.responses import keep_prompt_language
from culturalign.probes.wvs.analysis.rq1 import MixedFit
from culturalign.probes.wvs.analysis.rq2 import OlsFit, us_gap_rounds
from culturalign.probes.wvs.analysis.truth import comparison_country, coverage_notes, native_countries
from culturalign.probes.wvs.judge.quality import PAPER_ERROR_RATE

DEFINITIONS = {
    "clean": {
        "bootstrap": "resample response rows with replacement; the same draw for every group and level",
        "alignment": "Spearman of per-response VPS vs the item's ground truth, per model, prompt language, population",
        "consistency": "Spearman over ordered pairs of distinct responses of the same model, language and item, / (1 - e)",
        "baselines": "uniform [0,1), normal(0.5, 0.01) clipped, ground truth rounded to 0.1; items of each language's first model",
        "us_gap": "alignment with the US minus the mean over native countries, per resampled round; " + GAP_TEST,
        "capability": CAPABILITY_TEST,
        "regressions_on_rounds": "not fitted: the paper's RQ1/RQ2 fits treat bootstrap rounds as observations "
        "(p-values shrink with more rounds); only `reproduce` runs them, labelled as the paper's method",
    },
    "released": {
        "consistency": "Spearman over ordered pairs of different rows of the language-level joined table "
        "(population copies included) with the same model, language and item, / (1 - e)",
    },
}


@dataclass
class AnalysisResult:
    alignment: pl.DataFrame
    consistency: pl.DataFrame
    bootstrap: pl.DataFrame
    ground_truth: pl.DataFrame
    us_gap: pl.DataFrame
    rq1: dict[str, MixedFit] = field(default_factory=dict)
    rq2: OlsFit | None = None
    capability: pl.DataFrame | None = None
    human_consistency: pl.DataFrame | None = None
    cross_language: pl.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    extra_text: dict[str, str] = field(default_factory=dict)
    responses: pl.DataFrame | None = None  # the analysed responses, for paired comparisons (`culturalign compare`)


def judge_warnings(judge_validation: dict[str, Any] | None) -> list[str]:
    """Plain warnings when the judge is unvalidated or below the agreement threshold (METHOD 1.4)."""
    if not judge_validation:
        return [
            "no judge validation was given: the VPS judge's agreement with hand labels is unknown, "
            "so these numbers cannot be interpreted with confidence"
        ]
    warnings = []
    for judge in judge_validation.get("quality", []):
        if isinstance(judge, dict) and (judge.get("warning") or judge.get("interpretable") is False):
            kappa = judge.get("cohen_kappa")
            warnings.append(
                judge.get("warning") or f"judge {judge.get('judge')} is below the agreement threshold (kappa {kappa})"
            )
    return warnings


def alignment_table(domains: list[DomainRounds]) -> pl.DataFrame:
    frames = [
        summarise(d.alignment.keys, d.alignment.rounds).join(
            d.sizes, on=["model", "family", "language", "population_kind", "population"], how="left"
        )
        for d in domains
    ]
    return pl.concat(frames).select(
        "model",
        "family",
        "language",
        "population_kind",
        "population",
        "mean",
        "ci_low",
        "ci_high",
        "n_responses",
        "n_items",
    )


def consistency_table(rounds: GroupRounds) -> pl.DataFrame:
    return summarise(rounds.keys, rounds.rounds).select("model", "family", "language", "mean", "ci_low", "ci_high")


def alignment_rounds(domains: list[DomainRounds]) -> pl.DataFrame:
    return pl.concat([rounds_long(d.alignment.keys, d.alignment.rounds, "alignment") for d in domains])


def consistency_pairs(with_baselines: pl.DataFrame, joined: pl.DataFrame, definition: str) -> PairSet:
    """Rows for self-consistency: plain responses (clean), or the language-level joined table
    with its population copies (released); the perfect baseline has no consistency."""
    if definition == "clean":
        return PairSet(with_baselines.filter(pl.col("model") != bl.PERFECT), exclude_same_unit=True)
    copies = joined.filter((pl.col("population_kind") == "language") & (pl.col("model") != bl.PERFECT))
    return PairSet(copies, exclude_same_unit=False)


def definitions_used(consistency: str) -> dict[str, str]:
    chosen = dict(DEFINITIONS["clean"])
    if consistency == "released":
        chosen["consistency"] = DEFINITIONS["released"]["consistency"]
    return chosen


def analyze_responses(
    responses: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    rounds: int = 1000,
    seed: int = 0,
    capability: pl.DataFrame | None = None,
    judge_error_rate: float | None = None,
    consistency: str = "clean",
    human_consistency: pl.DataFrame | None = None,
    judge_validation: dict[str, Any] | None = None,
    ground_truth_source: str = "",
    command: str = "",
) -> AnalysisResult:
    """The clean analysis of a normalised response table (see responses.normalise_responses)."""
    if consistency not in ("clean", "released"):
        raise DataError(f"unknown consistency definition {consistency!r}; use clean or released")
    if rounds < 1:
        raise DataError("--rounds must be at least 1")
    error_rate = PAPER_ERROR_RATE if judge_error_rate is None else judge_error_rate
    if not 0 <= error_rate < 1:
        raise DataError("the judge error rate must lie in [0, 1)")
    notes: list[str] = judge_warnings(judge_validation)
    kept, dropped = keep_prompt_language(responses)
    if dropped:
        notes.append(f"{dropped} response(s) not written in the prompt language were left out")
    seeds = np.random.SeedSequence(seed).spawn(2)
    with_baselines = pl.concat([kept, bl.make_baselines(kept, np.random.default_rng(seeds[0]))]).with_row_index("unit")
    joined = bl.fill_perfect(join_truth(with_baselines, truth))
    if joined.filter(~bl.is_baseline(pl.col("model"))).is_empty():
        raise DataError("no response item has ground truth; check that item keys match the ground truth")
    notes.extend(coverage_notes(kept["language"].unique().to_list(), truth))
    items_without = sorted(set(kept["item"].unique()) - set(truth["item"].unique()))
    if items_without:
        notes.append(f"items without ground truth left out: {', '.join(items_without)}")
    domain = Domain(
        "responses",
        joined,
        with_baselines.height,
        {"consistency": consistency_pairs(with_baselines, joined, consistency)},
    )
    result = bootstrap_domain(domain, np.random.default_rng(seeds[1]), rounds)
    cons = corrected(result.consistency["consistency"], error_rate)
    align_long = alignment_rounds([result])
    cons_long = rounds_long(cons.keys, cons.rounds, "consistency")
    # Conclusions come from the quantities' own bootstrap distributions and from one row per model:
    # regressions on rounds (the paper's RQ1/RQ2) are only in `reproduce`.
    real = ~bl.is_baseline(pl.col("model"))
    gap = gap_test(us_gap_rounds(align_long.filter(real), native_countries(truth), comparison_country()))
    alignment = alignment_table([result])
    consistency_summary = consistency_table(cons)
    extra = {}
    if capability is not None:
        own = alignment.filter(
            real & (pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language"))
        )
        extra["capability_effect"] = capability_effect(own, consistency_summary, capability)
        if extra["capability_effect"].is_empty():
            notes.append("capability effect not estimated: fewer than 3 models with a capability score per language")
    else:
        notes.append("capability effect not estimated: no capability table (give --capability FILE)")
    if gap.is_empty():
        notes.append(
            "US-minus-native gap not estimated: no alignment with both the US and a country native to the "
            "analysed languages (too few scored responses, or the ground truth lacks those countries)"
        )
    cross = cross_language_consistency(kept, error_rate)
    manifest = {
        "probe": "wvs",
        "command": command,
        "seed": seed,
        "rounds": rounds,
        "inference": "intervals and p-values from resampled responses; capability regression on one row per model",
        "ground_truth_source": ground_truth_source,
        "judge_error_rate": error_rate,
        "judge_error_rate_source": "given" if judge_error_rate is not None else "default (paper's judge validation)",
        "judge_validation": judge_validation,
        "consistency_definition": consistency,
        "definitions": definitions_used(consistency),
        "n_responses": kept.height,
        "n_models": kept["model"].n_unique(),
        "languages": sorted(kept["language"].unique().to_list()),
        "package_version": __version__,
        "notes": notes,
    }
    return AnalysisResult(
        alignment=alignment,
        consistency=consistency_summary,
        bootstrap=pl.concat(
            [
                align_long,
                cons_long.with_columns(
                    pl.lit(None, dtype=pl.Utf8).alias("population_kind"),
                    pl.lit(None, dtype=pl.Utf8).alias("population"),
                ),
            ],
            how="diagonal",
        ),
        ground_truth=truth,
        us_gap=gap,
        capability=capability,
        human_consistency=human_consistency,
        cross_language=cross,
        manifest=manifest,
        notes=notes,
        extra_tables=extra,
        responses=kept,
    )
