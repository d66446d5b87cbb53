"""RQ1: does multilingual capability predict cultural alignment? (linear mixed model, docs/methods/wvs.md §W10)

alignment ~ 0 + consistency:language + multilingual:family:language, random intercept per
model, REML. One row per model x language x bootstrap round, population = speakers of the
prompt language. The design is built explicitly so every term has a readable name.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm

from culturalign.errors import DataError

ALPHA = 0.05
VARIANTS = {
    "main": "consistency slope per language (the paper's model)",
    "no_consistency": "without the consistency term",
    "one_consistency": "one consistency slope for all languages",
}
RQ1_COLUMNS = ["term", "family", "language", "coef", "se", "p", "ci_low", "ci_high"]


@dataclass
class MixedFit:
    variant: str
    table: pl.DataFrame  # RQ1_COLUMNS
    r2_marginal: float
    r2_conditional: float
    group_variance: float
    residual_variance: float
    n_obs: int
    n_groups: int
    converged: bool
    summary: str


def classify(coef: float, p: float, alpha: float = ALPHA) -> str:
    """'pos' / 'neg' when significant at alpha, else 'ns'."""
    if p is None or not np.isfinite(p) or p >= alpha:
        return "ns"
    return "pos" if coef > 0 else "neg"


def rq1_design(
    rows: pl.DataFrame, variant: str = "main"
) -> tuple[np.ndarray, list[str], list[tuple[str | None, str | None]]]:
    """Design matrix, term names and (family, language) of each term."""
    languages = sorted(rows["language"].unique().to_list())
    families = sorted(rows["family"].unique().to_list())
    lang = rows["language"].to_numpy()
    fam = rows["family"].to_numpy()
    cons = rows["consistency"].to_numpy().astype(float)
    multi = rows["multilingual"].to_numpy().astype(float)
    columns: list[np.ndarray] = []
    names: list[str] = []
    labels: list[tuple[str | None, str | None]] = []
    if variant == "main":
        for language in languages:
            columns.append(cons * (lang == language))
            names.append(f"consistency:language[{language}]")
            labels.append((None, language))
    elif variant == "one_consistency":
        columns.append(cons)
        names.append("consistency")
        labels.append((None, None))
    elif variant != "no_consistency":
        raise ValueError(f"unknown RQ1 variant {variant!r}")
    for language in languages:
        for family in families:
            column = multi * (fam == family) * (lang == language)
            if np.any(column != 0):
                columns.append(column)
                names.append(f"multilingual:family[{family}]:language[{language}]")
                labels.append((family, language))
    return np.column_stack(columns), names, labels


def fit_rq1(rows: pl.DataFrame, variant: str = "main") -> MixedFit:
    """Fit the mixed model on rows with alignment, consistency, multilingual, family, language, model."""
    needed = ["alignment", "consistency", "multilingual", "family", "language", "model"]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise DataError(f"RQ1 rows miss {', '.join(missing)}")
    rows = rows.drop_nulls(needed).filter(pl.col("alignment").is_not_nan() & pl.col("consistency").is_not_nan())
    if rows["model"].n_unique() < 2:
        raise DataError("RQ1 needs at least two models with a capability score; give --capability for more models")
    exog, names, labels = rq1_design(rows, variant)
    exog_frame = pl.DataFrame({name: exog[:, i] for i, name in enumerate(names)}).to_pandas()
    model = sm.MixedLM(rows["alignment"].to_numpy(), exog_frame, groups=rows["model"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter is reported through `converged`
        result = model.fit(reml=True)
    fe = np.asarray(result.fe_params)
    se = np.asarray(result.bse_fe)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = fe / se
    from scipy.stats import norm

    p = 2 * norm.sf(np.abs(z))
    crit = norm.ppf(1 - ALPHA / 2)
    table = pl.DataFrame(
        {
            "term": names,
            "family": [f for f, _ in labels],
            "language": [lang for _, lang in labels],
            "coef": fe,
            "se": se,
            "p": p,
            "ci_low": fe - crit * se,
            "ci_high": fe + crit * se,
        },
        schema={
            "term": pl.Utf8,
            "family": pl.Utf8,
            "language": pl.Utf8,
            "coef": pl.Float64,
            "se": pl.Float64,
            "p": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )
    group_var = float(np.asarray(result.cov_re)[0, 0])
    resid_var = float(result.scale)
    fixed_var = float(np.var(exog @ fe))
    total = fixed_var + group_var + resid_var
    return MixedFit(
        variant=variant,
        table=table,
        r2_marginal=fixed_var / total,
        r2_conditional=(fixed_var + group_var) / total,
        group_variance=group_var,
        residual_variance=resid_var,
        n_obs=rows.height,
        n_groups=rows["model"].n_unique(),
        converged=bool(result.converged),
        summary=str(result.summary()),
    )


def rq1_rows(language_alignment: pl.DataFrame, consistency: pl.DataFrame, capability: pl.DataFrame) -> pl.DataFrame:
    """Rows of the mixed model: language-level alignment per round (population = prompt language),
    joined to the same round's consistency and to capability (inner: models without a score drop out)."""
    align = language_alignment.filter(
        (pl.col("population_kind") == "language") & (pl.col("population") == pl.col("language"))
    ).select("model", "family", "language", "round", pl.col("value").alias("alignment"))
    cons = consistency.select("model", "language", "round", pl.col("value").alias("consistency"))
    cap = capability.select("model", "language", pl.col("score").alias("multilingual"))
    return align.join(cons, on=["model", "language", "round"], how="inner").join(
        cap, on=["model", "language"], how="inner"
    )


def fit_rq1_variants(rows: pl.DataFrame) -> dict[str, MixedFit]:
    return {variant: fit_rq1(rows, variant) for variant in VARIANTS}
