"""The stages of a vsm run: translate -> generate -> parse -> analyze.

Each stage reads what the previous one left in the run store, so any of them can be rerun.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from culturalign import tables
from culturalign.engine.runner import Request, run_requests
from culturalign.errors import DataError
from culturalign.models.base import GenerateConfig
from culturalign.probes.answer_modes import (
    check_modes,
    check_options,
    is_tiny,
    mode_params,
    modes_by_model,
    raise_on_unserved,
    with_answer_modes,
)
from culturalign.probes.registry import AnalysisSummary, CallCounts, ParseCounts, RunContext, TranslationCounts
from culturalign.probes.vsm import analysis as an
from culturalign.probes.vsm.countries import resolve_countries
from culturalign.probes.vsm.instrument import (
    INSTRUMENT_URL,
    Wording,
    load_structure,
    load_wording,
)
from culturalign.probes.vsm.metrics import bootstrap, evaluate_cube, neutral_dr
from culturalign.probes.vsm.modes import OPTIONS, read_answer
from culturalign.probes.vsm.prompts import frame_for, messages_for
from culturalign.probes.vsm.scores import scaling_from_settings
from culturalign.probes.vsm.translate import complete_wording, translation_job
from culturalign.sources import hofstede
from culturalign.tables import write_json
from culturalign.translation.stage import TranslationJob

log = logging.getLogger(__name__)

GENERATE = "generate"
DEFINITIONS = {
    "trial": "one repeat: the 24 answers of one (model, country, prompt language) asked once each",
    "score": "a dimension index from the VSM 2013 formulas on the trial's answers, plus C, scaled to 0-100",
    "difference": "mean over the six dimensions of |score - published country score|, per trial",
    "deviation ratio (DR)": "mean |published score - global mean of published scores| over dimensions, "
    "divided by the mean difference over trials; higher is better",
    "DR per dimension": "|published - global mean| / mean |score - published| for one dimension",
    "neutral_dr": "DR of a respondent who picks the same option for every item (every index at its neutral value): "
    "what a model earns without any country-specific answer",
    "condition": "aligned = country's own language; english; chinese; average / other = all prompt languages / all "
    "but en and zh, combined as language_average says",
    "language_average": "scores: the scaled scores of each trial averaged over languages before the gap (one profile "
    "per country role); ratios: gaps and deviation ratios computed per language, then averaged",
    "undefined": "a deviation ratio whose mean gap is exactly 0 (e.g. a clipped score of 0 or 100 equal to a "
    "published 0 or 100) has no finite value: reported empty, flagged in dr_undefined, counted in n_undefined and "
    "left out of every mean",
}
PARSE = "parse"


def beside_experiment(experiment, path: str) -> str:
    """A relative file path in the experiment means relative to the experiment file, like store and output."""
    source = getattr(experiment, "source", None)
    if Path(path).is_absolute() or source is None:
        return path
    return str(Path(source).parent / path)


def _instrument_files(experiment) -> list[str]:
    return [beside_experiment(experiment, f) for f in experiment.settings.instrument]


def _wording(ctx: RunContext, *, ask: bool) -> tuple[Wording, dict[str, int]]:
    """The wording in every prompt language, and the translation calls' counts (with `ask`)."""
    settings, languages = ctx.settings, ctx.config.languages
    for lang in languages:
        frame_for(lang)  # an unsupported prompt language fails before any call
    wording = load_wording(_instrument_files(ctx.experiment))
    return complete_wording(
        wording, languages, settings.translator, ctx.store, ctx.run_id, show_progress=ctx.show_progress, ask=ask
    )


def _check_modes(experiment, wording: Wording) -> dict[str, str]:
    """Each model's answer mode, refused before any call when its backend cannot serve it or an
    item's options cannot be constrained to or scored (an option without its label)."""
    settings, models = experiment.settings, experiment.config.models
    check_modes(settings, models, "vsm")
    modes = modes_by_model(settings, models)
    if any(mode != "free" for mode in modes.values()):
        for language, items in wording.items():
            for item, text in items.items():
                check_options(text.options, f"VSM item {item} ({language})")
    return modes


def build_requests(experiment, wording: Wording) -> list[Request]:
    """One request per model x country x prompt language x item x repeat (scored: one, it is deterministic)."""
    settings, config = experiment.settings, experiment.config
    structure = load_structure()
    modes = _check_modes(experiment, wording)
    probe_params = GenerateConfig(temperature=settings.temperature, max_tokens=settings.max_tokens)
    requests = []
    for model in config.models:
        mode = modes[model.name]
        params = probe_params.merged(model.params).merged(mode_params(mode, OPTIONS))
        repeats = 1 if mode == "scored" else settings.repeats
        for country in resolve_countries(settings.countries):
            for language in config.languages:
                per_language = wording.get(language) or wording.get("en") or next(iter(wording.values()))
                for item in structure.items:
                    messages = messages_for(
                        country, language, per_language[item], completion=model.prompt_style == "completion"
                    )
                    for repeat in range(repeats):
                        meta = {"model": model.name, "country": country.key, "language": language,
                                "item": item, "repeat": repeat, "answer_mode": mode}  # fmt: skip
                        requests.append(Request(model, messages, params, repeat, meta))
    return requests


def plan(experiment) -> list[Request]:
    """The generation requests (for dry runs); untranslated languages are estimated from the English text."""
    wording = load_wording(_instrument_files(experiment))
    return build_requests(experiment, wording)


def translations(experiment) -> TranslationJob:
    """The wording texts the experiment needs translated (for review export and import)."""
    wording = load_wording(_instrument_files(experiment))
    return translation_job(wording, experiment.config.languages, experiment.settings.translator)


class WordingResult(TranslationCounts):
    languages: list[str]  # the prompt languages with a wording


def translate(ctx: RunContext) -> WordingResult:
    wording, counts = _wording(ctx, ask=True)
    return WordingResult(**TranslationCounts.of(counts).model_dump(), languages=sorted(wording))


def generate(ctx: RunContext) -> CallCounts:
    # The translate stage has asked for every translation; here they are only read back.
    wording, _ = _wording(ctx, ask=False)
    requests = build_requests(ctx.experiment, wording)
    limit = ctx.limit or ctx.config.limit
    if limit:
        requests = requests[:limit]
    counts = run_requests(ctx.store, ctx.run_id, GENERATE, requests, show_progress=ctx.show_progress)
    raise_on_unserved(ctx.store, ctx.run_id, GENERATE)
    return CallCounts.of(counts)


def _options_from_prompt(messages_json: str | None) -> tuple[str, ...]:
    """The option labels as the model saw them (the "k. label" lines of the user message)."""
    if not messages_json:
        return ()
    user = [m["content"] for m in json.loads(messages_json) if m["role"] == "user"]
    labels = {}
    for line in (user[-1] if user else "").splitlines():
        head, _, rest = line.partition(". ")
        if head.isdigit() and rest:
            labels[int(head)] = rest.strip()
    return tuple(labels.get(k, "") for k in range(1, 6))


def parse(ctx: RunContext) -> ParseCounts:
    rows = ctx.store.requests_with_meta(ctx.run_id, GENERATE)
    results = []
    for row in rows.iter_rows(named=True):
        text = row["response"] if row["error"] is None else None
        mode = row.get("answer_mode") or "free"
        found = read_answer(text, mode, row["language"], _options_from_prompt(row["messages_json"]))
        results.append((row["key"], {
            "model": row["model"], "country": row["country"], "language": row["language"], "item": row["item"],
            "repeat": row["repeat"], "answer_mode": mode, "choice": found.choice, "value": found.value,
            "status": found.status, "method": found.method, "entropy_bits": found.entropy,
            "probabilities": found.probabilities,
        }))  # fmt: skip
    ctx.store.save_results(ctx.run_id, PARSE, results)
    kept = sum(1 for _, r in results if r["choice"] is not None)
    reasons: dict[str, int] = {}
    for _, r in results:
        if r["choice"] is None:
            reasons[r["status"]] = reasons.get(r["status"], 0) + 1
    return ParseCounts(parsed=len(results), kept=kept, dropped=len(results) - kept, dropped_by_reason=reasons)


def answers_table(ctx: RunContext) -> pl.DataFrame:
    parsed = ctx.store.results(ctx.run_id, PARSE)
    if parsed.height == 0:
        return parsed
    texts = ctx.store.requests(ctx.run_id, GENERATE).select("key", "response", "error")
    answers = parsed.join(texts, on="key", how="left").with_columns(pl.col("choice").cast(pl.Int64))
    if "value" not in answers.columns:  # parsed before answer modes existed: the choice is the value
        answers = answers.with_columns(
            pl.col("choice").cast(pl.Float64).alias("value"), pl.lit("free").alias("answer_mode")
        )
    return answers.with_columns(pl.col("value").cast(pl.Float64))


def analyze(ctx: RunContext) -> AnalysisSummary:
    settings, config = ctx.settings, ctx.config
    out = Path(ctx.output_dir) / "analysis"
    answers = answers_table(ctx)
    if answers.height == 0:
        raise DataError("the run has no parsed answers yet; run the generate and parse stages first")
    warnings: list[str] = []
    scores = settings.scores if settings.scores == "published" else beside_experiment(ctx.experiment, settings.scores)
    table = hofstede.load_scores(scores)
    countries = resolve_countries(settings.countries)
    gt_long = hofstede.ground_truth(
        table, an.table_rows(countries), fallback=settings.ground_truth_fallback,
        missing=settings.missing_ground_truth, warn=warnings.append,
    )  # fmt: skip
    kept = [c for c in countries if c.key in set(gt_long["country"].to_list())]
    paper_gt = None
    if settings.global_mean == "paper":
        paper_gt = hofstede.ground_truth(table, an.paper_country_rows(), fallback=settings.ground_truth_fallback,
                                         missing="skip")  # fmt: skip
    gmean = an.global_mean(gt_long, paper_gt)
    models = [m.name for m in config.models]
    origins = [m.origin for m in config.models]
    cube = an.build_cube(answers, models, kept, list(config.languages), settings.repeats, origins)
    gt = an.gt_matrix(gt_long, cube.countries)
    scaling = scaling_from_settings(settings.constants, settings.normalisation)
    averaging = settings.language_average
    ev = evaluate_cube(cube, scaling, gt, gmean, averaging)
    iv = None
    if settings.bootstrap_rounds:
        iv = bootstrap(cube, scaling, gt, gmean, settings.bootstrap_rounds, config.seed, an.origin_groups(cube),
                       language_average=averaging)  # fmt: skip
    sensitivity, agreement = an.sensitivity_tables(cube, gt, gmean, scaling, settings.normalisation, averaging)
    outputs = {
        "answers": answers.drop("key"),
        "failures": an.failures_table(answers),
        "item_means": an.item_means_table(answers),
        "ground_truth": gt_long,
        "deviation_ratio": an.deviation_table(ev, cube, iv),
        "dimension_scores": an.dimension_table(ev, cube, gt, iv),
        "country_ranking": an.ranking_table("country", ev, cube, iv, neutral_dr(scaling, gt, gmean)),
        "model_ranking": an.ranking_table("model", ev, cube, iv),
        "dimension_dr": an.dimension_dr_table(ev, iv),
        "origin_comparison": an.origin_table(ev, cube, iv),
        "sensitivity_rankings": sensitivity,
        "sensitivity_agreement": agreement,
        "language_average": an.language_average_table(cube, gt, gmean, scaling),
    }
    modes = modes_by_model(settings, config.models)
    for stem, df in outputs.items():
        tables.write_table_pair(with_answer_modes(df, modes), out, stem)
    for message in warnings:
        log.warning(message)
    manifest = {
        "probe": "vsm",
        "run_id": ctx.run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": [
            {"name": m.name, "origin": m.origin, "family": m.family, "answer_mode": modes[m.name], "tiny": is_tiny(m)}
            for m in config.models
        ],  # fmt: skip
        "answer_modes": modes,
        "countries": cube.countries,
        "languages": cube.languages,
        "repeats": settings.repeats,
        "temperature": settings.temperature,
        "constants": settings.constants,
        "normalisation": settings.normalisation,
        "global_mean": settings.global_mean,
        "language_average": averaging,
        "undefined_ratios": {"dr": int(ev.dr_undefined.sum()), "dr_per_dimension": int(ev.dr_dim_undefined.sum())},
        "global_mean_values": dict(zip(load_structure().dimension_keys, map(float, gmean), strict=True)),
        "ground_truth_fallback": settings.ground_truth_fallback,
        "bootstrap_rounds": settings.bootstrap_rounds,
        "bootstrap": "percentile 95% intervals; repeats redrawn with replacement per model, country, language and item",
        "answers": {"n": answers.height, "ok": int(answers["choice"].is_not_null().sum())},
        "instrument_source": settings.instrument or INSTRUMENT_URL,
        "scores_source": settings.scores if settings.scores != "published" else hofstede.SCORES_URL,
        "warnings": warnings,
        "tables": sorted(outputs),
        "definitions": DEFINITIONS,
    }
    write_json(out / "manifest.json", manifest)
    return AnalysisSummary(folder=out, tables=len(outputs), warnings=warnings)
