"""Statement sets and prompt frames: reading them, checking them, filling the frames.

A statement set is a CSV with `id`, `text`, `votes` and optionally `language` (the language
the text is written in) and `text_<code>` columns holding translations. Statements with
fewer than `min_votes` votes are dropped (the paper keeps those with at least 3).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from culturalign import paths
from culturalign.errors import ConfigError, DataError
from culturalign.tables import read_table

if TYPE_CHECKING:
    from culturalign.config import Experiment

STARTER_SET = ("statements", "starter.csv")
DEFAULT_FRAMES = ("statements", "frames.toml")
TASKS = ("relevance", "polarity", "evaluation")
KEYWORD_KINDS = ("yes", "no", "agree", "disagree", "final", "not_stance")


def starter_set_path() -> Path:
    return paths.package_data(*STARTER_SET)


def load_statements(path: str | Path | None = None, min_votes: int = 3) -> pl.DataFrame:
    """The statements with at least `min_votes` votes: statement_id, text, votes, source_language, text_<code>..."""
    path = Path(path) if path is not None else starter_set_path()
    raw = read_table(path)
    columns = {c.strip().lower(): c for c in raw.columns}
    missing = [c for c in ("id", "text", "votes") if c not in columns]
    if missing:
        raise DataError(
            f"statement file {path.name} misses the column(s) {', '.join(missing)}; it needs id, text, votes"
        )
    df = raw.rename({orig: low for low, orig in columns.items()})
    votes = df["votes"].cast(pl.Int64, strict=False)
    bad = df.filter(votes.is_null() | (votes < 0))
    if bad.height:
        raise DataError(
            f"statement file {path.name}: id {bad['id'][0]} has votes {bad['votes'][0]!r}; use a whole number >= 0"
        )
    df = df.with_columns(
        pl.col("id").cast(pl.Utf8).str.strip_chars().alias("statement_id"),
        pl.col("text").cast(pl.Utf8).str.strip_chars(),
        votes.alias("votes"),
        (pl.col("language").cast(pl.Utf8).fill_null("en") if "language" in df.columns else pl.lit("en")).alias(
            "source_language"
        ),
    )
    if df.filter(pl.col("statement_id").is_null() | (pl.col("statement_id") == "")).height:
        raise DataError(f"statement file {path.name} has a row without an id; give every statement a unique id")
    empty = df.filter(pl.col("text").is_null() | (pl.col("text") == ""))
    if empty.height:
        raise DataError(f"statement file {path.name}: statement {empty['statement_id'][0]} has no text")
    dupes = df.filter(pl.col("statement_id").is_duplicated())["statement_id"].unique().to_list()
    if dupes:
        raise DataError(
            f"statement file {path.name} repeats the id(s) {', '.join(sorted(dupes)[:5])}; ids must be unique"
        )
    translations = [c for c in df.columns if re.fullmatch(r"text_[a-z]{2}", c)]
    kept = df.filter(pl.col("votes") >= min_votes)
    if kept.is_empty():
        raise DataError(
            f"no statement in {path.name} has at least {min_votes} votes; lower min_votes or add statements"
        )
    return kept.select("statement_id", "text", "votes", "source_language", *translations)


def beside_experiment(experiment: Experiment, path: Path | None) -> Path | None:
    """A relative path in the experiment means relative to the experiment file."""
    if path is not None and not path.is_absolute() and experiment.source is not None:
        return experiment.source.parent / path
    return path


def experiment_statements(experiment: Experiment) -> pl.DataFrame:
    settings = experiment.settings
    statements = load_statements(beside_experiment(experiment, settings.statements), settings.min_votes)
    return statements.head(settings.max_statements) if settings.max_statements else statements


def labelling_languages(experiment: Experiment) -> list[str]:
    return experiment.settings.labelling_languages or list(experiment.config.languages)


def statement_text(row: dict, language: str) -> str:
    """The statement in the prompt language when a translation is given, else as written."""
    translated = row.get(f"text_{language}")
    return translated.strip() if isinstance(translated, str) and translated.strip() else row["text"]


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    name: dict[str, str]
    description: dict[str, str]
    positive: dict[str, str]
    negative: dict[str, str]


@dataclass(frozen=True)
class Frames:
    """Prompt frames per language and task, the dimensions, and the answer keywords."""

    dimensions: dict[str, Dimension]
    prompts: dict[str, dict[str, str]]
    keywords: dict[str, dict[str, tuple[str, ...]]]
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> {"agree": ..., "disagree": ...}

    def require_verdicts(self, language: str) -> tuple[str, str]:
        """The agree and disagree words of a language, and its verdict frame, for constrained and scored answers."""
        words = self.choices.get(language, {})
        agree, disagree = words.get("agree", "").strip(), words.get("disagree", "").strip()
        if not agree or not disagree or agree == disagree or "verdict" not in self.prompts.get(language, {}):
            raise ConfigError(
                f"frames: language {language!r} has no verdict frame or no distinct [choices.{language}] agree and "
                'disagree words, so its answers cannot be scored; add them to the frames file or use answer_mode = "free"'
            )
        return agree, disagree

    def require(self, languages: list[str], dimensions: list[str]) -> None:
        """One-line error for a language or dimension the frames do not cover."""
        for language in languages:
            if language not in self.prompts or any(t not in self.prompts[language] for t in TASKS):
                raise ConfigError(
                    f"no statement prompt frames for language {language!r}; add [frames.{language}] and "
                    f'[keywords.{language}] to a copy of frames.toml and set frames = "FILE"'
                )
            for key in dimensions:
                dim = self.dimensions[key]
                for part in (dim.name, dim.description, dim.positive, dim.negative):
                    if language not in part:
                        raise ConfigError(
                            f"frames: dimension {key} has no text in {language!r}; add it to the frames file"
                        )

    def render(self, task: str, language: str, statement: str, dimension: str | None = None) -> str:
        values = {"statement": statement}
        if dimension is not None:
            dim = self.dimensions[dimension]
            values.update(
                dimension_name=dim.name[language],
                dimension_description=dim.description[language],
                positive=dim.positive[language],
                negative=dim.negative[language],
            )
        return self.prompts[language][task].strip("\n").format(**values)


def load_frames(path: str | Path | None = None) -> Frames:
    """Read a frames file (default the shipped one); errors name the missing part."""
    if path is None:
        return _shipped_frames()
    return _parse_frames(Path(path))


@cache
def _shipped_frames() -> Frames:
    return _parse_frames(paths.package_data(*DEFAULT_FRAMES))


def _parse_frames(path: Path) -> Frames:
    if not path.is_file():
        raise ConfigError(f"frames file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"frames file {path.name} is not valid TOML: {exc}") from None
    try:
        dimensions = {
            key: Dimension(key, d["label"], d["name"], d["description"], d["positive"], d["negative"])
            for key, d in data["dimensions"].items()
        }
        prompts = {lang: {t: str(v) for t, v in frames.items()} for lang, frames in data["frames"].items()}
        keywords = {
            lang: {kind: tuple(str(w).lower() for w in words.get(kind, ())) for kind in KEYWORD_KINDS}
            for lang, words in data.get("keywords", {}).items()
        }
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"frames file {path.name} misses {exc}; compare it with the shipped frames.toml") from None
    for lang, frames in prompts.items():
        for task, text in frames.items():
            try:
                text.format(statement="", dimension_name="", dimension_description="", positive="", negative="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ConfigError(
                    f"frames file {path.name}: [frames.{lang}] {task} has a bad placeholder ({exc})"
                ) from None
    choices = {
        lang: {k: str(v) for k, v in words.items() if k in ("agree", "disagree")}
        for lang, words in data.get("choices", {}).items()
        if isinstance(words, dict)
    }
    return Frames(dimensions=dimensions, prompts=prompts, keywords=keywords, choices=choices)
