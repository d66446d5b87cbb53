"""How far a judge agrees with hand labels: agreement, Cohen's kappa, confusion matrix and
per-response VPS error, each with a bootstrap percentile interval.

Interviewees of one response are not independent (one model wrote them together, one
judge read them together), so the bootstrap resamples whole responses, not summaries.
A judge failure (no label) counts as a disagreement: a judge is not credited for the
summaries it could not label, and its coverage is reported beside the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from culturalign.analysis.bootstrap import percentile_interval, resample_indices
from culturalign.judge.stance import LABELS
from culturalign.judge.vps import vps_from_counts

MISSING = "missing"  # the judge gave no label for this summary


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass
class ValidationReport:
    judge: str
    n_summaries: int
    n_responses: int
    n_responses_with_vps: int
    languages: dict[str, int]
    coverage: float
    agreement: Interval
    kappa: Interval
    vps_mae: Interval
    confusion: dict[str, dict[str, int]]
    per_language: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    bootstrap_rounds: int = 0
    confidence: float = 0.95
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "n_summaries": self.n_summaries,
            "n_responses": self.n_responses,
            "n_responses_with_vps": self.n_responses_with_vps,
            "languages": self.languages,
            "coverage": self.coverage,
            "agreement": self.agreement.as_dict(),
            "cohen_kappa": self.kappa.as_dict(),
            "vps_mae": self.vps_mae.as_dict(),
            "confusion": self.confusion,
            "per_language": self.per_language,
            "bootstrap": {
                "rounds": self.bootstrap_rounds,
                "confidence": self.confidence,
                "seed": self.seed,
                "unit": "response (all its summaries together)",
                "method": "percentile",
            },
        }


def agreement(reference: Sequence[str], predicted: Sequence[str | None]) -> float:
    _check_lengths(reference, predicted)
    if not reference:
        raise ValueError("agreement needs at least one labelled summary")
    return sum(1 for r, p in zip(reference, predicted, strict=True) if r == p) / len(reference)


def cohen_kappa(reference: Sequence[str], predicted: Sequence[str | None]) -> float | None:
    """Cohen's kappa over the label set plus 'missing'; None when chance agreement is 1 (undefined)."""
    _check_lengths(reference, predicted)
    n = len(reference)
    if n == 0:
        return None
    categories = _categories(reference, predicted)
    ref_counts = np.array([sum(1 for r in reference if r == c) for c in categories], dtype=float)
    pred_counts = np.array([sum(1 for p in predicted if _norm(p) == c) for c in categories], dtype=float)
    observed = agreement(reference, [_norm(p) for p in predicted])
    expected = float(np.sum(ref_counts * pred_counts)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def confusion_matrix(reference: Sequence[str], predicted: Sequence[str | None]) -> dict[str, dict[str, int]]:
    """counts[reference label][predicted label], predicted including 'missing' when any is."""
    _check_lengths(reference, predicted)
    columns = list(LABELS) + ([MISSING] if any(_norm(p) == MISSING for p in predicted) else [])
    counts = {r: {c: 0 for c in columns} for r in LABELS}
    for r, p in zip(reference, predicted, strict=True):
        if r not in counts:
            raise ValueError(f"reference label {r!r} is not one of {', '.join(LABELS)}")
        counts[r][_norm(p)] += 1
    return counts


def confusion_table(confusion: dict[str, dict[str, int]]) -> pl.DataFrame:
    rows = [{"reference": ref, **cols} for ref, cols in confusion.items()]
    return pl.DataFrame(rows)


def response_vps_errors(aligned: pl.DataFrame) -> pl.DataFrame:
    """Per response: reference VPS, judged VPS over the same interviewees, absolute error.

    `aligned` has columns response, reference, predicted. A response whose VPS is undefined
    on either side has no error (null), as such a response drops out of the analysis too.
    """
    rows = []
    for (response,), group in aligned.group_by(["response"], maintain_order=True):
        ref = group["reference"].to_list()
        pred = [_norm(p) for p in group["predicted"].to_list()]
        ref_vps = vps_from_counts(ref.count("pro"), ref.count("con"))
        pred_vps = vps_from_counts(pred.count("pro"), pred.count("con"))
        error = abs(ref_vps - pred_vps) if ref_vps is not None and pred_vps is not None else None
        rows.append({"response": response, "vps_reference": ref_vps, "vps_judge": pred_vps, "abs_error": error})
    return pl.DataFrame(
        rows,
        schema={"response": pl.Utf8, "vps_reference": pl.Float64, "vps_judge": pl.Float64, "abs_error": pl.Float64},
    )


def validate_aligned(
    aligned: pl.DataFrame, judge: str, *, rounds: int = 1000, confidence: float = 0.95, seed: int = 0
) -> ValidationReport:
    """Every metric with a response-level bootstrap interval.

    `aligned`: one row per hand-labelled summary, columns response, language, reference,
    predicted (null when the judge gave no label).
    """
    if aligned.is_empty():
        raise ValueError("no labelled summaries to validate against")
    aligned = aligned.with_columns(pl.col("response").cast(pl.Utf8))
    reference = aligned["reference"].to_list()
    predicted = [_norm(p) for p in aligned["predicted"].to_list()]
    errors = response_vps_errors(aligned)
    groups = _response_groups(aligned)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {"agreement": [], "kappa": [], "vps_mae": []}
    error_by_response = dict(zip(errors["response"].to_list(), errors["abs_error"].to_list(), strict=True))
    response_ids = list(groups)
    for _ in range(rounds):
        draw = resample_indices(rng, len(response_ids))
        chosen = [response_ids[i] for i in draw]
        rows = np.concatenate([groups[r] for r in chosen])
        ref_b = [reference[i] for i in rows]
        pred_b = [predicted[i] for i in rows]
        samples["agreement"].append(agreement(ref_b, pred_b))
        kappa_b = cohen_kappa(ref_b, pred_b)
        if kappa_b is not None:
            samples["kappa"].append(kappa_b)
        errs = [error_by_response[r] for r in chosen if error_by_response[r] is not None]
        if errs:
            samples["vps_mae"].append(float(np.mean(errs)))
    defined_errors = errors["abs_error"].drop_nulls()
    mae = float(defined_errors.mean()) if len(defined_errors) else None
    return ValidationReport(
        judge=judge,
        n_summaries=len(reference),
        n_responses=len(response_ids),
        n_responses_with_vps=len(defined_errors),
        languages=dict(sorted(aligned.group_by("language").len().iter_rows())),
        coverage=sum(1 for p in predicted if p != MISSING) / len(predicted),
        agreement=_interval(agreement(reference, predicted), samples["agreement"], confidence),
        kappa=_interval(cohen_kappa(reference, predicted), samples["kappa"], confidence),
        vps_mae=_interval(mae, samples["vps_mae"], confidence),
        confusion=confusion_matrix(reference, predicted),
        per_language=_per_language(aligned),
        bootstrap_rounds=rounds,
        confidence=confidence,
        seed=seed,
    )


def _per_language(aligned: pl.DataFrame) -> dict[str, dict[str, float | int | None]]:
    out: dict[str, dict[str, float | int | None]] = {}
    for (language,), group in aligned.group_by(["language"], maintain_order=True):
        ref = group["reference"].to_list()
        pred = [_norm(p) for p in group["predicted"].to_list()]
        errs = response_vps_errors(group)["abs_error"].drop_nulls()
        out[str(language)] = {
            "n_summaries": len(ref),
            "agreement": agreement(ref, pred),
            "cohen_kappa": cohen_kappa(ref, pred),
            "vps_mae": float(errs.mean()) if len(errs) else None,
        }
    return dict(sorted(out.items()))


def _response_groups(aligned: pl.DataFrame) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for index, response in enumerate(aligned["response"].to_list()):
        groups.setdefault(response, []).append(index)
    return {r: np.array(rows, dtype=int) for r, rows in groups.items()}


def _interval(estimate: float | None, draws: list[float], confidence: float) -> Interval:
    if estimate is None or not draws:
        return Interval(estimate, None, None)
    low, high = percentile_interval(np.asarray(draws, dtype=float), confidence)
    return Interval(estimate, float(low), float(high))


def _norm(label: str | None) -> str:
    return MISSING if label is None else label


def _categories(reference: Sequence[str], predicted: Sequence[str | None]) -> list[str]:
    seen = set(reference) | {_norm(p) for p in predicted}
    return [c for c in (*LABELS, MISSING) if c in seen]


def _check_lengths(reference: Sequence[Any], predicted: Sequence[Any]) -> None:
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference labels but {len(predicted)} judged labels")
