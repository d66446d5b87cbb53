"""What the statements analysis hands the report: the labelled set, the profiles with a bar
chart per dimension beside Hofstede's country scores, the group view, the language-effect
test in the paper's Table 3 layout, failures, label quality, and a few model answers.

Built only from the files the analysis wrote (and, for examples, the run store); a missing
table becomes a sentence saying so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.probes.statements.answers import read_stance
from culturalign.probes.statements.evaluate import read_scored_stance
from culturalign.probes.statements.figures import profile_figure, scaled_figure
from culturalign.probes.statements.group_figure import group_figure
from culturalign.probes.statements.statements import load_frames
from culturalign.report.provenance import load_manifest
from culturalign.report.sections import Example, Figure, LabelledSpan, ReportSource, Section, Table
from culturalign.report.style import save_figure
from culturalign.store.db import RunStore
from culturalign.tables import read_table

EXAMPLES_PER_MODEL = 2
FEW_STATEMENTS = 10  # below this many scored statements a dimension's interval is too wide to read much into
MAX_EXAMPLE_CHARS = 1500


def _table(directory: Path, stem: str) -> pl.DataFrame | None:
    for suffix in (".parquet", ".csv"):
        if (directory / f"{stem}{suffix}").is_file():
            return read_table(directory / f"{stem}{suffix}")
    return None


def _interval(mean: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    if mean is None:
        return "n/a"
    if low is None or high is None or math.isnan(low):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def _labels() -> dict[str, str]:
    return {key: dim.label for key, dim in load_frames().dimensions.items()}


def summary_section(directory: Path, manifest: dict) -> Section:
    section = Section(title="Summary")
    section.paragraphs.append(
        "Each model agreed or disagreed with debate statements that judges had labelled with the Hofstede dimension "
        "they bear on and the polarity of agreeing (-2, -1, +1, +2). A model's score on a dimension is the mean of "
        "polarity × (+1 agree, -1 disagree) over the dimension's statements, in [-2, 2]; intervals are 95% "
        f"percentile bootstrap intervals over statements ({manifest.get('rounds', '?')} rounds)."
    )
    modes = manifest.get("answer_modes") or {}
    if modes:
        section.paragraphs.append(
            "Answer modes: "
            + "; ".join(f"{name} {mode}" for name, mode in modes.items())
            + ". free = the paper's protocol (arguments, then a final-answer line read from the text); constrained = "
            "JSON arguments with a verdict restricted to agree/disagree; scored = no arguments, the probability of "
            "each verdict after a one-word question (p_agree and entropy_bits in stances). See docs/answer-modes.md."
        )
    tiny = manifest.get("tiny_models") or []
    if tiny:
        section.warnings.append(
            f"{', '.join(tiny)}: the embedded Gemma 3 270M, a tiny base model. Its profiles and intervals show that the "
            "pipeline runs end to end on real model output; they are not a measurement of any culture."
        )
    pairs = manifest.get("scored_pairs") or {}
    labels = _labels()
    section.headline.append(
        (
            "Statements kept (votes ≥ {})".format(manifest.get("min_votes", "?")),
            str(manifest.get("statements_kept", "?")),
        )
    )
    section.headline.append(
        ("Scored statement × dimension pairs", ", ".join(f"{labels.get(d, d)} {n}" for d, n in pairs.items()) or "none")
    )
    judges = ", ".join(manifest.get("judges") or []) or "none"
    section.headline.append(
        (
            "Labels",
            (
                f"{manifest.get('labels_source', '?')} (label set {manifest.get('label_set', '?')}); "
                f"judges {judges} in {', '.join(manifest.get('labelling_languages') or [])}"
            ),
        )
    )
    thin = [labels.get(d, d) for d, n in pairs.items() if n < FEW_STATEMENTS]
    if thin:
        section.warnings.append(
            f"Fewer than {FEW_STATEMENTS} scored statements on {', '.join(thin)}: "
            "their profiles rest on very few answers and their intervals are wide."
        )
    qc = _table(directory, "qc")
    if qc is None:
        section.warnings.append(
            "The labels were not checked against human annotators in this analysis: run "
            "`culturalign statements qc --human FILE` to measure relevance precision and polarity "
            "error before interpreting the profiles."
        )
    return section


def profiles_section(directory: Path, figures_dir: Path) -> Section:
    section = Section(title="Profiles per dimension")
    profiles = _table(directory, "profiles")
    if profiles is None or profiles.is_empty():
        section.paragraphs.append("This analysis has no profiles.csv (no readable stance on a scored statement).")
        return section
    hofstede = _table(directory, "hofstede")
    countries = pl.DataFrame(schema={"country": pl.Utf8, "dimension": pl.Utf8, "value": pl.Float64})
    if hofstede is not None and hofstede.height:
        countries = hofstede.filter(pl.col("kind") == "country").select(
            pl.col("name").alias("country"), "dimension", "value"
        )
    labels = _labels()
    drawings = (
        (
            "statements_profiles",
            "Mean score per dimension, model and prompt language",
            "Bars: mean of polarity × (+1 agree, -1 disagree); whiskers: 95% bootstrap intervals over statements.",
            lambda: profile_figure(profiles, labels),
        ),
        (
            "statements_hofstede",
            "Profiles on 0-100 beside Hofstede country scores",
            "Coloured bars: model profiles scaled to 0-100 (whiskers: 95% intervals); grey bars: country scores.",
            lambda: scaled_figure(profiles, countries, labels),
        ),
    )
    for stem, title, caption, draw in drawings:
        try:
            png, svg = save_figure(draw(), figures_dir, stem)
        except DataError as exc:
            section.paragraphs.append(f"{title}: not drawn ({exc}).")
            continue
        section.figures.append(Figure(title=title, png=png, svg=svg, caption=caption))
    shown = profiles.select(
        "model",
        "language",
        pl.col("dimension").replace(labels).alias("dimension"),
        pl.struct("mean", "ci_low", "ci_high")
        .map_elements(lambda s: _interval(s["mean"], s["ci_low"], s["ci_high"]), return_dtype=pl.Utf8)
        .alias("mean [95% CI]"),
        pl.col("mean_100").round(1).alias("0-100"),
        "n_statements",
    )
    section.tables.append(Table(title="Mean score per model, prompt language and dimension", data=shown))
    if countries.height:
        section.tables.append(
            Table(
                title="Hofstede country scores used for comparison",
                data=countries.with_columns(pl.col("dimension").replace(labels)),
            )
        )
    return section


def groups_section(directory: Path, manifest: dict, figures_dir: Path | None = None) -> Section:
    section = Section(title=f"Groups of models (by {manifest.get('group_by', 'origin')})")
    groups = _table(directory, "groups")
    if groups is None or groups.is_empty():
        section.paragraphs.append(
            "No group view: it needs at least two groups of models (set `origin` on the "
            "models) and statements where the groups answer differently."
        )
        return section
    section.paragraphs.append(
        "Per statement the median score of each group's models; only statements where the "
        "groups' medians differ enter the means (n_statements). Language 'native' pools each "
        "group's models answering in the group's own language (the paper's Figure 1 view)."
    )
    figure = group_figure(groups, figures_dir or directory / "figures")
    if figure is not None:
        section.figures.append(figure)
    section.tables.append(
        Table(
            title="Group means on the statements where the groups differ",
            data=groups.select(
                "group",
                "language",
                pl.col("dimension").replace(_labels()),
                pl.struct("mean", "ci_low", "ci_high")
                .map_elements(lambda s: _interval(s["mean"], s["ci_low"], s["ci_high"]), return_dtype=pl.Utf8)
                .alias("mean [95% CI]"),
                pl.col("mean_100").round(1).alias("0-100"),
                "n_statements",
            ),
        )
    )
    return section


def language_section(directory: Path, manifest: dict) -> Section:
    section = Section(title="Does the prompt language change the profile?")
    table3, effects = _table(directory, "table3"), _table(directory, "language_effect")
    if effects is None or effects.is_empty():
        section.paragraphs.append("Only one prompt language, or no statement scored in two: no language test.")
        return section
    tested = effects.filter(pl.col("p_value").is_not_null())
    significant = tested.filter(pl.col("significant"))
    section.headline.append(
        (
            f"Language differences with p < {manifest.get('alpha', 0.05)}",
            f"{significant.height} of {tested.height} model × dimension × language-pair tests",
        )
    )
    section.paragraphs.append(
        "Paired bootstrap test on the statements scored in both languages: the differences "
        "are centred to impose the null of no difference; p = (1 + #{|mean*| ≥ |mean|}) / "
        "(rounds + 1). No correction for multiple tests is applied: with many tests, a few "
        "p < 0.05 are expected by chance."
    )
    if table3 is not None and table3.height:
        section.tables.append(
            Table(
                title="Mean scores by dimension and prompt language (* = language difference "
                "significant for that model)",
                data=table3,
            )
        )
    section.tables.append(
        Table(
            title="Language-effect tests",
            data=effects.select(
                "model",
                pl.col("dimension").replace(_labels()),
                "language_a",
                "language_b",
                "n_statements",
                pl.struct("difference", "ci_low", "ci_high")
                .map_elements(lambda s: _interval(s["difference"], s["ci_low"], s["ci_high"]), return_dtype=pl.Utf8)
                .alias("difference [95% CI]"),
                pl.col("p_value").round(4),
            ),
        )
    )
    return section


def quality_section(directory: Path) -> Section:
    section = Section(title="Answers and label quality")
    failures = _table(directory, "failures")
    if failures is not None and failures.height:
        section.tables.append(
            Table(
                title="Stances read and failures per model and language",
                data=failures,
                caption="A tie between runs or runs without a readable answer give no stance; "
                "those statements are left out, never filled with a default.",
            )
        )
    qc = _table(directory, "qc")
    if qc is not None and qc.height:
        section.tables.append(Table(title="Human quality control (layout of the paper's Table 2)", data=qc))
    return section


def examples(store: RunStore, run_id: str | None) -> list[Example]:
    """A few evaluation answers per model with the stance read from them (escaped on render)."""
    try:
        answers = store.requests_with_meta(store.run(run_id).run_id, "evaluate")
    except DataError:
        return []
    if answers.is_empty():
        return []
    frames = load_frames()
    out = []
    answered = answers.filter(pl.col("response").is_not_null())
    for model in sorted(answered["model"].unique().to_list()):
        for row in answered.filter(pl.col("model") == model).head(EXAMPLES_PER_MODEL).iter_rows(named=True):
            if row.get("answer_mode") == "scored" and row["language"] in frames.choices:
                stance, failure, p_agree, _ = read_scored_stance(row["response"], frames, row["language"])
                stance = stance and f"{stance} (p_agree {p_agree:.2f})"
            else:
                stance, failure = read_stance(row["response"], frames.keywords.get(row["language"], {}))
            prompt = json.loads(row["messages_json"] or "[]")
            text = row["response"][:MAX_EXAMPLE_CHARS]
            out.append(
                Example(
                    model=model,
                    language=row["language"],
                    prompt=prompt[-1]["content"] if prompt else "",
                    parts=(LabelledSpan(text=text, label=stance or failure),),
                    note=f"statement {row['statement_id']}, run {row['sample']}",
                )
            )
    return out


def report_sections(source: ReportSource) -> list[Section]:
    analysis_dir, figures_dir, store = Path(source.analysis_dir), source.figures_dir, source.store
    manifest = load_manifest(analysis_dir)
    sections = [
        summary_section(analysis_dir, manifest),
        profiles_section(analysis_dir, figures_dir),
        groups_section(analysis_dir, manifest, figures_dir),
        language_section(analysis_dir, manifest),
        quality_section(analysis_dir),
    ]
    if store is not None:
        found = examples(store, source.run_id or manifest.get("run_id"))
        if found:
            sections.append(Section(title="Example answers", examples=found))
    return sections
