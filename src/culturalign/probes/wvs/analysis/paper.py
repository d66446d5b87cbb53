"""The paper's published numbers (package data) and the side-by-side comparison with ours."""

from __future__ import annotations

import tomllib
from functools import cache

import polars as pl

from culturalign.paths import package_data
from culturalign.probes.wvs.analysis.rq1 import MixedFit, classify
from culturalign.probes.wvs.analysis.rq2 import OlsFit

COMPARISON_SCHEMA = {
    "section": pl.Utf8,
    "term": pl.Utf8,
    "model": pl.Utf8,
    "family": pl.Utf8,
    "language": pl.Utf8,
    "paper_coef": pl.Float64,
    "paper_se": pl.Float64,
    "paper_p": pl.Float64,
    "paper_class": pl.Utf8,
    "coef": pl.Float64,
    "se": pl.Float64,
    "p": pl.Float64,
    "class": pl.Utf8,
    "class_agrees": pl.Boolean,
    "diff_in_paper_se": pl.Float64,
}


@cache
def paper_numbers() -> dict:
    with open(package_data("paper", "multilingual_multicultural.toml"), "rb") as fh:
        return tomllib.load(fh)


def paper_terms() -> pl.DataFrame:
    """Every published coefficient: section (rq1_consistency, rq1_capability, rq2_us_bias), keys, coef, se, p, class."""
    data = paper_numbers()
    rows = []
    for entry in data["rq1"]["consistency"]:
        rows.append(
            {
                "section": "rq1_consistency",
                "term": f"consistency:language[{entry['language']}]",
                "model": None,
                "family": None,
                "language": entry["language"],
                "paper_coef": entry["coef"],
                "paper_se": entry["se"],
                "paper_p": entry["p"],
                "paper_class": classify(entry["coef"], entry["p"]),
            }
        )
    for entry in data["rq1"]["capability"]:
        rows.append(
            {
                "section": "rq1_capability",
                "term": f"multilingual:family[{entry['family']}]:language[{entry['language']}]",
                "model": None,
                "family": entry["family"],
                "language": entry["language"],
                "paper_coef": entry["coef"],
                "paper_se": entry["se"],
                "paper_p": entry["p"],
                "paper_class": entry["class"],
            }
        )
    for model, language, coef, se, p in data["rq2"]["us_bias"]:
        rows.append(
            {
                "section": "rq2_us_bias",
                "term": f"us:model[{model}]:language[{language}]",
                "model": model,
                "family": None,
                "language": language,
                "paper_coef": coef,
                "paper_se": se,
                "paper_p": p,
                "paper_class": classify(coef, p),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            k: COMPARISON_SCHEMA[k]
            for k in (
                "section",
                "term",
                "model",
                "family",
                "language",
                "paper_coef",
                "paper_se",
                "paper_p",
                "paper_class",
            )
        },
    )


def our_terms(rq1: MixedFit, rq2: OlsFit) -> pl.DataFrame:
    """Our coefficients keyed like paper_terms()."""
    rq1_rows = rq1.table.select("term", pl.lit(None, dtype=pl.Utf8).alias("model"), "coef", "se", "p")
    rq2_rows = rq2.us_bias.select(
        pl.format("us:model[{}]:language[{}]", "model", "language").alias("term"), "model", "coef", "se", "p"
    )
    return pl.concat([rq1_rows.drop("model"), rq2_rows.drop("model")])


def compare_with_paper(rq1: MixedFit, rq2: OlsFit) -> pl.DataFrame:
    ours = our_terms(rq1, rq2)
    joined = paper_terms().join(ours, on="term", how="left")
    return (
        joined.with_columns(
            pl.struct("coef", "p")
            .map_elements(
                lambda r: classify(r["coef"], r["p"]) if r["coef"] is not None else None, return_dtype=pl.Utf8
            )
            .alias("class"),
        )
        .with_columns(
            (pl.col("class") == pl.col("paper_class")).alias("class_agrees"),
            ((pl.col("coef") - pl.col("paper_coef")) / pl.col("paper_se")).alias("diff_in_paper_se"),
        )
        .select(list(COMPARISON_SCHEMA))
    )


def acceptance_checks(comparison: pl.DataFrame) -> dict[str, bool]:
    """The headline findings, each as one yes/no against our fit (see the issue's acceptance)."""
    cap = comparison.filter(pl.col("section") == "rq1_capability")
    cons = comparison.filter(pl.col("section") == "rq1_consistency")
    bias = comparison.filter(pl.col("section") == "rq2_us_bias")

    def classes(df: pl.DataFrame, **keys: str) -> list[str]:
        for key, value in keys.items():
            df = df.filter(pl.col(key) == value)
        return df["class"].to_list()

    biased = {
        lang: bias.filter((pl.col("language") == lang) & (pl.col("class") == "pos"))["model"].to_list()
        for lang in ("da", "en", "nl", "pt")
    }
    return {
        "gemma capability positive in all four languages": classes(cap, family="gemma") == ["pos"] * 4,
        "olmo capability positive in da and nl": all(
            classes(cap, family="olmo", language=lang) == ["pos"] for lang in ("da", "nl")
        ),
        ">= 9 of 12 capability classes as in the paper": int(cap["class_agrees"].sum()) >= 9,
        "all four consistency slopes positive": cons["class"].to_list() == ["pos"] * 4,
        "US bias in all nine models in en": len(biased["en"]) == 9,
        "US bias in no model in nl": len(biased["nl"]) == 0,
        "US bias in >= 7 models in pt": len(biased["pt"]) >= 7,
        "US bias in da: none or gemma-2-2b-it alone": biased["da"] in ([], ["gemma-2-2b-it"]),
    }
