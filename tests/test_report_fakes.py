"""A small, plausible wvs analysis folder and run store for the figure and report tests.

The numbers are random but shaped like the analysis stage's output (same files, same columns,
values in the ranges the paper reports), so the report is exercised on realistic input
without any published data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from culturalign.models.base import ChatMessage, GenerateConfig, ModelOutput, ModelSpec
from culturalign.store import RunStore
from culturalign.tables import write_table

MODELS = {
    "gemma-2-2b-it": "gemma",
    "gemma-2-9b-it": "gemma",
    "gemma-2-27b-it": "gemma",
    "OLMo-2-1124-7B-Instruct": "olmo",
    "OLMo-2-1124-13B-Instruct": "olmo",
    "gpt-3.5-turbo-0125": "openai",
    "gpt-4o": "openai",
}
COUNTRIES = {"da": ["DK"], "nl": ["NL"], "pt": ["BR", "PT"], "en": ["GB", "US", "NZ"]}
LANGUAGES = sorted(COUNTRIES)
ITEMS = ["d059", "e035", "e069_02", "e116", "f118", "f120", "h010", "f028"]
XSS_RESPONSE = (
    "1. Ana is in favour. <script>document.title='pwned-script'</script>\n"
    "2. Bruno is against it. <img src=x onerror=\"document.title='pwned-img'\">\n"
    "3. Carla has no opinion."
)
XSS_SUMMARIES = [
    "Ana is in favour. <script>document.title='pwned-script'</script>",
    "Bruno is against it. <img src=x onerror=\"document.title='pwned-img'\">",
    "Carla has no opinion.",
]


def _interval(rng: np.random.Generator, mean: float, half: float) -> tuple[float, float, float]:
    width = half * rng.uniform(0.7, 1.3)
    return round(mean, 4), round(mean - width, 4), round(mean + width, 4)


def fake_alignment(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for model, family in MODELS.items():
        for language in LANGUAGES:
            populations = [("language", language), ("global", "global")] + [("country", c) for c in COUNTRIES[language]]
            if "US" not in COUNTRIES[language]:
                populations.append(("country", "US"))
            for kind, population in populations:
                mean, low, high = _interval(rng, rng.uniform(0.05, 0.45), 0.06)
                rows.append(
                    {
                        "model": model,
                        "family": family,
                        "language": language,
                        "population_kind": kind,
                        "population": population,
                        "mean": mean,
                        "ci_low": low,
                        "ci_high": high,
                        "n_responses": int(rng.integers(111, 300)),
                        "n_items": 32,
                    }
                )
    return pl.DataFrame(rows)


def fake_consistency(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for model, family in MODELS.items():
        for language in LANGUAGES:
            mean, low, high = _interval(rng, rng.uniform(0.2, 0.6), 0.05)
            rows.append(
                {"model": model, "family": family, "language": language, "mean": mean, "ci_low": low, "ci_high": high}
            )
    return pl.DataFrame(rows)


def fake_rq1(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for language in LANGUAGES:
        coef = rng.uniform(0.4, 0.72)
        rows.append(
            {
                "term": f"consistency:language[{language}]",
                "family": None,
                "language": language,
                "coef": coef,
                "se": 0.03,
                "p": 1e-6,
                "ci_low": coef - 0.06,
                "ci_high": coef + 0.06,
            }
        )
        for family in sorted(set(MODELS.values())):
            coef, se = rng.normal(0.2, 0.4), rng.uniform(0.05, 0.15)
            p = float(2 * (1 - _normal_cdf(abs(coef / se))))
            rows.append(
                {
                    "term": f"multilingual:family[{family}]:language[{language}]",
                    "family": family,
                    "language": language,
                    "coef": coef,
                    "se": se,
                    "p": p,
                    "ci_low": coef - 1.96 * se,
                    "ci_high": coef + 1.96 * se,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"family": pl.Utf8})


def _normal_cdf(z: float) -> float:
    from math import erf, sqrt

    return 0.5 * (1 + erf(z / sqrt(2)))


def fake_us_bias(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for model in MODELS:
        for language in LANGUAGES:
            coef, se = rng.normal(0.05, 0.08), rng.uniform(0.01, 0.03)
            rows.append(
                {
                    "model": model,
                    "language": language,
                    "coef": coef,
                    "se": se,
                    "p": float(2 * (1 - _normal_cdf(abs(coef / se)))),
                }
            )
    return pl.DataFrame(rows)


def fake_us_gap(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    for model, family in MODELS.items():
        for language in LANGUAGES:
            mean, low, high = _interval(rng, rng.normal(0.03, 0.05), 0.04)
            rows.append(
                {
                    "model": model,
                    "family": family,
                    "language": language,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "share_us_ahead": float(rng.uniform(0, 1)),
                    "rounds": 100,
                }
            )
    return pl.DataFrame(rows)


def fake_ground_truth(rng: np.random.Generator) -> pl.DataFrame:
    base = rng.uniform(0.1, 0.9, len(ITEMS))
    rows = []
    countries = sorted({c for cs in COUNTRIES.values() for c in cs})
    for kind, populations in (("country", countries), ("language", LANGUAGES), ("global", ["global"])):
        for population in populations:
            values = np.clip(base + rng.normal(0, 0.12, len(ITEMS)), 0, 1)
            for item, vps in zip(ITEMS, values, strict=True):
                rows.append(
                    {
                        "population_kind": kind,
                        "population": population,
                        "item": item,
                        "vps": float(vps),
                        "n_respondents": int(rng.integers(800, 3000)),
                        "weight_sum": float(rng.uniform(800, 3000)),
                    }
                )
    return pl.DataFrame(rows)


def fake_manifest(judge_validation: dict | None) -> dict:
    return {
        "probe": "wvs",
        "command": "culturalign analyze runs/demo.sqlite --rounds 100",
        "seed": 7,
        "rounds": 100,
        "ground_truth_source": "published tables (pinned download)",
        "judge_error_rate": 0.045,
        "judge_validation": judge_validation,
        "definitions": {"alignment": "Spearman correlation of response VPS with population VPS"},
        "package_version": "0.1.0",
        "created_at": "2026-11-23T14:00:00+00:00",
    }


ALL_TABLES = frozenset(
    {
        "alignment",
        "consistency",
        "rq1",
        "us_bias",
        "ground_truth",
        "human_consistency",
        "capability",
        "bootstrap",
        "us_gap",
    }
)


def write_fake_analysis(
    directory: Path, *, seed: int = 3, judge_validation: dict | None = None, only: set[str] | None = None
) -> Path:
    """Write the analysis contract's files (or `only` those tables, plus the manifest); returns the folder."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    _write_tables(directory, rng)
    for name in ALL_TABLES - (only if only is not None else ALL_TABLES):
        for path in directory.glob(f"{name}.*"):
            path.unlink()
    (directory / "manifest.json").write_text(json.dumps(fake_manifest(judge_validation), indent=2), encoding="utf-8")
    return directory


def _write_tables(directory: Path, rng: np.random.Generator) -> None:
    write_table(fake_alignment(rng), directory / "alignment.csv")
    write_table(fake_consistency(rng), directory / "consistency.csv")
    write_table(fake_rq1(rng), directory / "rq1.csv")
    write_table(fake_us_bias(rng), directory / "us_bias.csv")
    write_table(fake_ground_truth(rng), directory / "ground_truth.csv")
    countries = sorted({c for cs in COUNTRIES.values() for c in cs})
    write_table(
        pl.DataFrame({"population": countries, "self_consistency": rng.uniform(0.66, 0.84, len(countries))}),
        directory / "human_consistency.csv",
    )
    write_table(
        pl.DataFrame(
            [{"model": m, "language": lang, "score": float(rng.uniform(30, 85))} for m in MODELS for lang in LANGUAGES]
        ),
        directory / "capability.csv",
    )
    write_table(
        pl.DataFrame(
            [
                {"model": m, "language": lang, "round": r, "mean": float(rng.uniform(0, 0.5))}
                for m in MODELS
                for lang in LANGUAGES
                for r in range(5)
            ]
        ),
        directory / "bootstrap.parquet",
    )
    write_table(fake_us_gap(rng), directory / "us_gap.csv")


def write_fake_store(path: Path, *, responses_per_model: int = 3) -> tuple[RunStore, str]:
    """A run store with generate, parse and judge results; one response carries an XSS payload."""
    store = RunStore(path)
    run_id = store.start_run(
        "demo", "wvs", {"probe": "wvs", "name": "demo", "languages": LANGUAGES, "models": [{"name": m} for m in MODELS]}
    )
    generated, parsed, judged = [], [], []
    for index, model in enumerate(MODELS):
        spec = ModelSpec(name=model, backend="mock")
        for k in range(responses_per_model):
            language = LANGUAGES[k % len(LANGUAGES)]
            item = ITEMS[k % len(ITEMS)]
            xss = index == 0 and k == 0
            plain = "1. Person one agrees.\n2. Person two disagrees.\n3. Person three is unsure."
            text = XSS_RESPONSE if xss else plain
            summaries = (
                XSS_SUMMARIES if xss else ["Person one agrees.", "Person two disagrees.", "Person three is unsure."]
            )
            messages = (ChatMessage(role="user", content=f"Interview 10 people about topic {item} ({language})"),)
            key = f"{model}-{k}"
            store.save_call(key, spec, GenerateConfig(), messages, k, ModelOutput(text=text, output_tokens=40))
            generated.append((key, {"model_name": model, "language": language, "item": item}))
            parsed.append((key, {"summaries": summaries, "n_summaries": 3}))
            judged.append((key, {"labels": ["pro", "con", "null"], "vps": 0.5}))
    store.register_requests(run_id, "generate", generated)
    store.save_results(run_id, "parse", parsed)
    store.save_results(run_id, "judge", judged)
    store.finish_run(run_id)
    return store, run_id


def test_fake_analysis_has_the_contract_files(tmp_path: Path) -> None:
    folder = write_fake_analysis(tmp_path / "analysis")
    names = {p.name for p in folder.iterdir()}
    assert {
        "manifest.json",
        "alignment.csv",
        "consistency.csv",
        "rq1.csv",
        "us_bias.csv",
        "bootstrap.parquet",
        "human_consistency.csv",
        "capability.csv",
        "ground_truth.csv",
        "us_gap.csv",
    } <= names
    alignment = pl.read_csv(folder / "alignment.csv")
    assert (alignment["ci_low"] <= alignment["mean"]).all() and (alignment["mean"] <= alignment["ci_high"]).all()
