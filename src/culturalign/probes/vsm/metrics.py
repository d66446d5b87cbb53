"""Gaps, deviation ratio (Eq. 1 of Sukiennik et al.), rankings and their bootstrap intervals.

Everything works on one dense cube of answers: values[model, country, language, item, repeat]
(the chosen option 1-5, NaN where no valid answer was read). A repeat is one trial: its 24
answers give one score per dimension. For a (model, country) under a prompt condition:

    Difference_i = mean over dimensions of |score_i,d - GT_d|           (trial i)
    DR = [ mean over d of |GT_d - global mean GT_d| ] / [ mean over trials of Difference_i ]

Conditions: aligned (the country's own language), english, chinese, average (every prompt
language of the run), other (all but en and zh). How languages are averaged is a choice
(`language_average`): "scores" averages the trial's scaled scores over languages before the
gap is taken (one profile per country role, the default); "ratios" computes gaps and ratios
per language and averages those (the typical single-language alignment).
A dimension whose items failed in a trial drops out of that trial's mean (NaN-aware means).

Undefined ratios: when the model's mean gap is exactly 0 (clipping puts a score at 0 or 100
and the published score is 0 or 100 too), the ratio has no finite value. It is reported as
undefined (NaN, flagged in `dr_undefined` / `dr_dim_undefined`), counted, and left out of
every mean over models, countries or languages; it is never drawn as 0.
Bootstrap: each round redraws, for every (model, country, language, item), the repeats with
replacement, so intervals show how much the figures move with the sampled answers; at
temperature 0 with identical repeats they have zero width, which is the honest answer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from culturalign.analysis.bootstrap import percentile_interval
from culturalign.probes.vsm.scores import Scaling, raw_indices

CONDITIONS = ("aligned", "english", "chinese", "average", "other")
LANGUAGE_AVERAGES = ("scores", "ratios")


@dataclass
class Cube:
    values: np.ndarray  # [M, C, L, I, R]
    models: list[str]
    countries: list[str]
    languages: list[str]
    own_language: list[str]  # per country
    origins: list[str | None] = field(default_factory=list)  # per model


def _nanmean(x: np.ndarray, axis) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """num / den, and where den is exactly 0 (an exact match): NaN and a True flag."""
    undefined = np.broadcast_to(den == 0, np.broadcast(num, den).shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(undefined, np.nan, num / den), undefined.copy()


def trial_scores(values: np.ndarray, scaling: Scaling) -> np.ndarray:
    """[M, C, L, I, R] answers -> [M, C, L, R, D] scaled dimension scores per trial."""
    return scaling.apply(raw_indices(np.moveaxis(values, 3, -1)))


def condition_scores(scores: np.ndarray, cube: Cube) -> np.ndarray:
    """[M, C, L, R, D] -> [M, C, K, R, D] with K = CONDITIONS; NaN where a condition has no language."""
    m, c, _, r, d = scores.shape
    out = np.full((m, c, len(CONDITIONS), r, d), np.nan)
    lang_at = {lang: i for i, lang in enumerate(cube.languages)}
    for ci, own in enumerate(cube.own_language):
        if own in lang_at:
            out[:, ci, 0] = scores[:, ci, lang_at[own]]
    if "en" in lang_at:
        out[:, :, 1] = scores[:, :, lang_at["en"]]
    if "zh" in lang_at:
        out[:, :, 2] = scores[:, :, lang_at["zh"]]
    out[:, :, 3] = _nanmean(scores, axis=2)
    others = [i for lang, i in lang_at.items() if lang not in ("en", "zh")]
    if others:
        out[:, :, 4] = _nanmean(scores[:, :, others], axis=2)
    return out


@dataclass
class Evaluation:
    score: np.ndarray  # [M, C, K, D] mean over trials
    gap: np.ndarray  # [M, C, K, D] mean |score - GT| over trials
    mean_difference: np.ndarray  # [M, C, K]
    dr: np.ndarray  # [M, C, K], NaN where undefined
    dr_dim: np.ndarray  # [M, C, K, D], NaN where undefined
    n_trials: np.ndarray  # [M, C, K] trials with at least one dimension score
    numerator: np.ndarray  # [C]
    dr_undefined: np.ndarray  # [M, C, K] count of undefined ratios behind the cell (0 or 1; more when averaged)
    dr_dim_undefined: np.ndarray  # [M, C, K, D] likewise per dimension

    @property
    def country_dr(self) -> np.ndarray:  # [C, K]
        return _nanmean(self.dr, axis=0)

    @property
    def model_dr(self) -> np.ndarray:  # [M, K]
        return _nanmean(self.dr, axis=1)

    @property
    def country_difference(self) -> np.ndarray:  # [C, K]
        return _nanmean(self.mean_difference, axis=0)

    @property
    def model_difference(self) -> np.ndarray:  # [M, K]
        return _nanmean(self.mean_difference, axis=1)

    @property
    def dimension_dr(self) -> np.ndarray:  # [K, D]
        return _nanmean(self.dr_dim, axis=(0, 1))

    @property
    def country_undefined(self) -> np.ndarray:  # [C, K] undefined ratios left out of country_dr
        return self.dr_undefined.sum(axis=0)

    @property
    def model_undefined(self) -> np.ndarray:  # [M, K]
        return self.dr_undefined.sum(axis=1)

    @property
    def dimension_undefined(self) -> np.ndarray:  # [K, D]
        return self.dr_dim_undefined.sum(axis=(0, 1))

    def group_dr(self, members: np.ndarray) -> np.ndarray:
        """[C, K] mean DR over the models where `members` is true."""
        return _nanmean(self.dr[members], axis=0) if members.any() else np.full(self.dr.shape[1:], np.nan)


def evaluate(cond_scores: np.ndarray, gt: np.ndarray, global_mean: np.ndarray) -> Evaluation:
    """Gaps and deviation ratios for [M, C, K, R, D] scores against gt [C, D]."""
    gt_b = gt[None, :, None, None, :]
    abs_gap = np.abs(cond_scores - gt_b)
    difference = _nanmean(abs_gap, axis=-1)  # [M, C, K, R]
    mean_difference = _nanmean(difference, axis=-1)
    spread = np.abs(gt - global_mean[None, :])  # [C, D]
    numerator = spread.mean(axis=-1)
    gap = _nanmean(abs_gap, axis=3)
    dr, dr_undefined = _ratio(numerator[None, :, None], mean_difference)
    dr_dim, dr_dim_undefined = _ratio(spread[None, :, None, :], gap)
    return Evaluation(
        score=_nanmean(cond_scores, axis=3),
        gap=gap,
        mean_difference=mean_difference,
        dr=dr,
        dr_dim=dr_dim,
        n_trials=np.sum(~np.isnan(difference), axis=-1),
        numerator=numerator,
        dr_undefined=dr_undefined.astype(int),
        dr_dim_undefined=dr_dim_undefined.astype(int),
    )


def evaluate_cube(
    cube: Cube, scaling: Scaling, gt: np.ndarray, global_mean: np.ndarray, language_average: str = "scores"
) -> Evaluation:
    scores = trial_scores(cube.values, scaling)
    ev = evaluate(condition_scores(scores, cube), gt, global_mean)
    if language_average == "ratios":
        _average_ratios_over_languages(ev, evaluate(scores, gt, global_mean), cube)
    elif language_average != "scores":
        raise ValueError(f"language_average must be one of {LANGUAGE_AVERAGES}, not {language_average!r}")
    return ev


def _average_ratios_over_languages(ev: Evaluation, per_language: Evaluation, cube: Cube) -> None:
    """Overwrite the average and other conditions with means of the per-language gaps and ratios
    (`per_language` has the prompt languages where conditions usually are); undefined
    per-language ratios are left out of the mean and added to its undefined count."""
    everything = list(range(len(cube.languages)))
    others = [i for i, lang in enumerate(cube.languages) if lang not in ("en", "zh")]
    for k, chosen in ((CONDITIONS.index("average"), everything), (CONDITIONS.index("other"), others)):
        if not chosen:
            continue
        ev.gap[:, :, k] = _nanmean(per_language.gap[:, :, chosen], axis=2)
        ev.mean_difference[:, :, k] = _nanmean(per_language.mean_difference[:, :, chosen], axis=2)
        ev.dr[:, :, k] = _nanmean(per_language.dr[:, :, chosen], axis=2)
        ev.dr_dim[:, :, k] = _nanmean(per_language.dr_dim[:, :, chosen], axis=2)
        ev.dr_undefined[:, :, k] = per_language.dr_undefined[:, :, chosen].sum(axis=2)
        ev.dr_dim_undefined[:, :, k] = per_language.dr_dim_undefined[:, :, chosen].sum(axis=2)


def neutral_dr(scaling: Scaling, gt: np.ndarray, global_mean: np.ndarray) -> np.ndarray:
    """[C] DR of a respondent whose item means are all equal (every index 0 before C): a reference
    for what a model earns by answering the same option throughout."""
    neutral = scaling.apply(np.zeros(gt.shape[-1]))
    spread = np.abs(gt - global_mean[None, :]).mean(axis=-1)
    return _ratio(spread, np.abs(neutral[None, :] - gt).mean(axis=-1))[0]


# name -> function of an Evaluation giving the array to put intervals on
STATISTICS = {
    "score": lambda e: e.score,
    "gap": lambda e: e.gap,
    "mean_difference": lambda e: e.mean_difference,
    "dr": lambda e: e.dr,
    "dr_dim": lambda e: e.dr_dim,
    "country_dr": lambda e: e.country_dr,
    "model_dr": lambda e: e.model_dr,
    "country_difference": lambda e: e.country_difference,
    "model_difference": lambda e: e.model_difference,
    "dimension_dr": lambda e: e.dimension_dr,
}


def resample_repeats(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Redraw the repeats of every (model, country, language, item) with replacement."""
    idx = rng.integers(0, values.shape[-1], size=values.shape)
    return np.take_along_axis(values, idx, axis=-1)


@dataclass
class Intervals:
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    rounds: int
    group_draws: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [B, C, K]


def bootstrap(
    cube: Cube,
    scaling: Scaling,
    gt: np.ndarray,
    global_mean: np.ndarray,
    rounds: int,
    seed: int,
    groups: dict[str, np.ndarray] | None = None,
    level: float = 0.95,
    language_average: str = "scores",
) -> Intervals:
    """Percentile intervals for every statistic (and per-round group DRs for comparisons)."""
    groups = groups or {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[np.ndarray]] = {name: [] for name in STATISTICS}
    group_draws: dict[str, list[np.ndarray]] = {name: [] for name in groups}
    for _ in range(rounds):
        resampled = Cube(resample_repeats(cube.values, rng), *_labels(cube))
        ev = evaluate_cube(resampled, scaling, gt, global_mean, language_average)
        for name, stat in STATISTICS.items():
            draws[name].append(stat(ev))
        for name, members in groups.items():
            group_draws[name].append(ev.group_dr(members))
    low, high = {}, {}
    for name, values in draws.items():
        if values:
            low[name], high[name] = percentile_interval(np.stack(values), level)
    return Intervals(low, high, rounds, {k: np.stack(v) for k, v in group_draws.items() if v})


def _labels(cube: Cube) -> tuple:
    return cube.models, cube.countries, cube.languages, cube.own_language, cube.origins


def rank_descending(values: np.ndarray) -> np.ndarray:
    """1 = highest; NaN gets no rank (returned as 0)."""
    order = np.argsort(np.where(np.isnan(values), np.inf, -values), kind="stable")
    ranks = np.empty(len(values), dtype=int)
    ranks[order] = np.arange(1, len(values) + 1)
    return np.where(np.isnan(values), 0, ranks)
