"""The three probes through `compare`: vsm and statements analysis folders, and the methods side by side."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from culturalign.compare.run import compare

MODELS = ["m1", "m2", "m3", "m4"]
LANGS = {"en": ("united_states", "USA"), "pt": ("portugal", "POR"), "fr": ("france", "FRA"),
         "de": ("germany", "GER"), "es": ("spain", "SPA")}  # fmt: skip
DIMS = ["pdi", "idv", "mas", "uai", "lto", "ivr"]
ITEMS = [f"q{i:02d}" for i in range(25)]


def _quality(rng: np.random.Generator) -> dict[tuple[str, str], float]:
    """How well each model knows each language's culture: what all three methods see."""
    return {
        (m, lang): float(q) for m in MODELS for lang, q in zip(LANGS, rng.uniform(0.05, 0.95, len(LANGS)), strict=True)
    }


def _wvs(tmp, rng, quality) -> tuple:
    truth = {lang: rng.uniform(0.1, 0.9, len(ITEMS)) for lang in LANGS}
    rows = []
    for (m, lang), q in quality.items():
        for i, item in enumerate(ITEMS):
            for _ in range(4):
                vps = q * truth[lang][i] + (1 - q) * rng.uniform(0, 1) + rng.normal(0, 0.03)
                rows.append((m, "fam", lang, lang, item, round(float(np.clip(vps, 0, 1)), 2)))
    cols = ["model_name", "model_family", "language", "response_language", "question_key", "response_pro_score"]
    pl.DataFrame(rows, schema=cols, orient="row").write_csv(tmp / "wvs.csv")
    gt = [("language", lang, item, float(v)) for lang, vec in truth.items() for item, v in zip(ITEMS, vec, strict=True)]
    pl.DataFrame(gt, schema=["population_kind", "population", "item", "vps"], orient="row").write_csv(tmp / "truth.csv")
    return tmp / "wvs.csv", tmp / "truth.csv"


def _vsm(tmp, quality) -> object:
    folder = tmp / "vsm" / "analysis"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"probe": "vsm"}))
    rows = [(m, country, cond, 0.5 + 2 * q + 0.1 * k)
            for (m, lang), q in quality.items() for country in [LANGS[lang][0]]
            for k, cond in enumerate(["aligned", "english"])]  # fmt: skip
    pl.DataFrame(rows, schema=["model", "country", "condition", "dr"], orient="row").write_parquet(
        folder / "deviation_ratio.parquet"
    )
    return tmp / "vsm"


def _statements(tmp, rng, quality) -> object:
    folder = tmp / "statements_analysis"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"probe": "statements"}))
    target = {lang: rng.uniform(20, 80, len(DIMS)) for lang in LANGS}
    rows = []
    for (m, lang), q in quality.items():
        for s in range(40):
            for d, dim in enumerate(DIMS):
                # a good model's scores sit at the target (on [-2, 2]); a poor one's scatter
                aim = target[lang][d] / 100 * 4 - 2
                score = float(np.clip(round(q * aim + (1 - q) * rng.uniform(-2, 2)), -2, 2))
                rows.append((m, lang, f"s{s}", dim, score))
    pl.DataFrame(rows, schema=["model", "language", "statement_id", "dimension", "score"], orient="row").write_parquet(
        folder / "scores.parquet"
    )
    hof = [
        ("country", LANGS[lang][1], None, dim, float(v))
        for lang, vec in target.items()
        for dim, v in zip(DIMS, vec, strict=True)
    ]
    pl.DataFrame(hof, schema=["kind", "name", "language", "dimension", "value"], orient="row").write_parquet(
        folder / "hofstede.parquet"
    )
    return folder


def test_three_probes_side_by_side(tmp_path) -> None:
    rng = np.random.default_rng(0)
    quality = _quality(rng)
    wvs, truth = _wvs(tmp_path, rng, quality)
    result = compare(
        [wvs, _vsm(tmp_path, quality), _statements(tmp_path, rng, quality)],
        ground_truth=truth,
        rounds=200,
        output=tmp_path / "cmp",
    )
    assert set(result.leaderboard["probe"]) == {"wvs", "vsm", "statements"}
    assert set(result.leaderboard.filter(pl.col("probe") == "vsm")["cell"]) == {"aligned", "english"}
    statements = result.leaderboard.filter(pl.col("probe") == "statements")
    assert (statements["direction"] == "lower is better").all()
    methods = result.methods
    assert set(zip(methods["method_a"], methods["method_b"], strict=True)) == {
        ("statements", "vsm"),
        ("statements", "wvs"),
        ("vsm", "wvs"),
    }
    per_model = methods.filter(pl.col("over") == "languages")
    assert per_model.height == 3 * len(MODELS) and (per_model["n"] == len(LANGS)).all()
    print(f"\ncross-method tau over languages, methods agreeing by construction: mean {per_model['tau'].mean():.2f}")
    assert per_model["tau"].mean() > 0.6
    html = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "The methods side by side" in html and "measure different things" in html
    assert html.count("data:image/png") == 4  # three leaderboards and the methods figure


def test_one_model_per_probe_still_meets_the_other_methods(tmp_path) -> None:
    """A wvs run and a vsm run of the same single model: no pair to test, but the methods table."""
    rng = np.random.default_rng(1)
    quality = {k: v for k, v in _quality(rng).items() if k[0] == "m1"}
    wvs, truth = _wvs(tmp_path, rng, quality)
    result = compare([wvs, _vsm(tmp_path, quality)], ground_truth=truth, rounds=200)
    assert result.pairs.is_empty()
    assert result.methods.filter(pl.col("scope") == "model m1")["n"].to_list() == [len(LANGS)]
