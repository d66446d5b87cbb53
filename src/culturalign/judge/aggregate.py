"""Several judges at once: majority vote of labels, median of ordinal scores, and Fleiss' kappa.

Shared with the `statements` probe (relevance votes, polarity medians). Conventions:
- `majority_vote` ignores missing votes (None) and returns None when two values tie for the
  most votes or when every vote is missing; the stance judge maps that
  None to the label "null", so a tied interviewee counts for neither side.
- `fleiss_kappa_from_labels` drops subjects that any rater left unlabelled, since Fleiss'
  kappa needs the same number of ratings per subject.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa

from culturalign.judge.vps import vps_from_counts


def majority_vote(labels: Sequence[str | None]) -> str | None:
    """The most frequent non-missing value; None on a tie for first place or with no votes."""
    counts = Counter(x for x in labels if x is not None)
    if not counts:
        return None
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def median_label(values: Sequence[int]) -> float:
    """Median of ordinal scores (e.g. polarity -2..2); with an even count, the mean of the middle two."""
    if not values:
        raise ValueError("median_label needs at least one value")
    return float(statistics.median(values))


def fleiss_kappa_from_labels(
    ratings: Sequence[Sequence[str | None]], categories: Sequence[str] | None = None
) -> float | None:
    """Fleiss' kappa for rows of subjects x raters; None when undefined (under 2 raters or subjects,
    or every rating identical so that chance agreement is 1)."""
    complete = [[x for x in row if x is not None] for row in ratings if row and all(x is not None for x in row)]
    if len(complete) < 2:
        return None
    n_raters = len(complete[0])
    if any(len(row) != n_raters for row in complete):
        raise ValueError("every subject needs the same number of raters for Fleiss' kappa")
    if n_raters < 2:
        return None
    cats = list(categories) if categories is not None else sorted({x for row in complete for x in row})
    index = {c: i for i, c in enumerate(cats)}
    unknown = {x for row in complete for x in row if x not in index}
    if unknown:
        raise ValueError(f"rating(s) outside the categories: {sorted(map(str, unknown))}")
    table: np.ndarray[Any, np.dtype[np.int64]] = np.zeros((len(complete), len(cats)), dtype=np.int64)
    for s, row in enumerate(complete):
        for x in row:
            table[s, index[x]] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(fleiss_kappa(table, method="fleiss"))
    return None if math.isnan(value) or math.isinf(value) else value


@dataclass(frozen=True)
class CombinedJudgement:
    labels: tuple[str, ...] | None
    vps: float | None
    method: str
    n_judges_ok: int


def combine_judges(per_judge: Mapping[str, Sequence[str] | None], method: str = "majority") -> CombinedJudgement:
    """One response's labels from several judges (None = that judge failed).

    majority: per interviewee (by position), majority vote of the judges that labelled it;
    ties -> "null". median: the median of the judges' per-response VPS (labels None).
    """
    ok = {name: list(labels) for name, labels in per_judge.items() if labels is not None}
    if not ok:
        return CombinedJudgement(labels=None, vps=None, method=method, n_judges_ok=0)
    if method == "median":
        scores = [vps_from_counts(ls.count("pro"), ls.count("con")) for ls in ok.values()]
        defined = [s for s in scores if s is not None]
        vps = float(statistics.median(defined)) if defined else None
        return CombinedJudgement(labels=None, vps=vps, method=method, n_judges_ok=len(ok))
    if method != "majority":
        raise ValueError(f"unknown aggregation {method!r}; use majority or median")
    width = max(len(ls) for ls in ok.values())
    labels = tuple(
        majority_vote([ls[i] if i < len(ls) else None for ls in ok.values()]) or "null" for i in range(width)
    )
    return CombinedJudgement(
        labels=labels, vps=vps_from_counts(labels.count("pro"), labels.count("con")), method=method, n_judges_ok=len(ok)
    )


def inter_judge_kappa(per_response: Sequence[Mapping[str, Sequence[str] | None]]) -> float | None:
    """Fleiss' kappa over interviewees that every judge labelled (same position, same count)."""
    rows: list[list[str | None]] = []
    for judgements in per_response:
        labelled = list(judgements.values())
        if len(labelled) < 2 or any(ls is None for ls in labelled):
            continue
        width = min(len(ls) for ls in labelled if ls is not None)
        rows.extend([ls[i] for ls in labelled if ls is not None] for i in range(width))
    return fleiss_kappa_from_labels(rows, categories=("pro", "con", "null"))
