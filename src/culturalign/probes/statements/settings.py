"""The `[statements]` section of an experiment file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from culturalign.errors import ConfigError
from culturalign.languages import check_language
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.probes.answer_modes import AnswerMode

DIMENSIONS = ("pdi", "idv", "mas", "uai", "lto", "ivr")
# The paper writes IND for indulgence; Hofstede's table calls it IVR.
_DIMENSION_ALIASES = {"ind": "ivr"}


class StatementsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statements: Path | None = Field(
        default=None, description="CSV with id, text, votes[, language]; default the starter set"
    )
    min_votes: int = Field(
        default=3, ge=0, le=1000, description="keep statements with at least this many votes (paper: 3)"
    )
    max_statements: int | None = Field(
        default=None, gt=0, le=100_000, description="use only the first N kept statements"
    )
    dimensions: list[str] = Field(default_factory=lambda: list(DIMENSIONS), min_length=1)
    translator: ModelSpec | None = Field(
        default=None, description="model that translates statements into the languages they are not written in"
    )
    frames: Path | None = Field(default=None, description="prompt frames TOML; default the shipped one")
    labels: Path | None = Field(
        default=None, description="a labelled set exported earlier; when given, the labelling stages ask nothing"
    )
    labelling_languages: list[str] | None = Field(
        default=None, description="languages the judges label in (paper: en, zh); default the experiment's languages"
    )
    # The paper's setting: each judge answers 5 times at temperature 1 and its most frequent
    # answer is its vote (one answer at temperature 0 would be a different, greedier protocol).
    labelling_samples: int = Field(
        default=5, ge=1, le=20, description="answers per judge and language, most frequent wins (paper: 5)"
    )
    relevance_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of all judge x language votes that must say relevant (paper: 4 of 8)",
    )
    labelling: GenerateConfig = Field(
        default_factory=lambda: GenerateConfig(temperature=1.0, max_tokens=64),
        description="judges' generation parameters (paper: temperature 1)",
    )
    evaluation_samples: int = Field(
        default=5, ge=1, le=50, description="runs per model, language and statement (paper: 5)"
    )
    evaluation: GenerateConfig = Field(default_factory=lambda: GenerateConfig(temperature=1.0, max_tokens=700))
    structured_output: bool = Field(
        default=False,
        description="judges answer relevance and polarity as JSON through a schema (grammar on llama.cpp) instead of "
        "free text; the models' evaluation answers follow answer_mode",
    )
    answer_mode: AnswerMode = Field(
        default="free",
        description="evaluation answers: free text with a final-answer line (the paper); constrained: JSON with the "
        "arguments and a verdict restricted to agree/disagree; scored: the log-probability of each verdict, no "
        "arguments (see docs/answer-modes.md)",
    )
    answer_modes: dict[str, AnswerMode] = Field(
        default_factory=dict, description="per model name, overriding answer_mode"
    )
    argument_chars: int = Field(
        default=400, ge=10, le=20_000, description="longest argument text in a structured answer"
    )
    bootstrap_rounds: int = Field(
        default=1000, ge=100, le=100_000, description="bootstrap rounds for intervals and the language test"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level of the language-effect test")
    group_by: Literal["origin", "family", "model"] = Field(
        default="origin", description="model attribute for the group view"
    )
    native_languages: dict[str, str] = Field(
        default_factory=dict,
        description='group -> its native prompt language (e.g. US = "en", CN = "zh"): adds the paper\'s native-language group view',
    )
    scores: str | None = Field(
        default="published", description="Hofstede country scores: 'published' (fetched), a table path, or none"
    )
    countries: list[str] = Field(
        default_factory=lambda: ["USA", "CHI"], description="country codes or names to compare with"
    )
    scaling: Literal["range", "observed"] = Field(
        default="range", description="0-100 scaling: the fixed [-2, 2] range, or min-max over the profiles shown"
    )

    @field_validator("dimensions")
    @classmethod
    def _known_dimensions(cls, value: list[str]) -> list[str]:
        normal = [_DIMENSION_ALIASES.get(d.strip().lower(), d.strip().lower()) for d in value]
        unknown = [d for d in normal if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown dimension(s) {', '.join(unknown)}; use {', '.join(DIMENSIONS)}")
        return list(dict.fromkeys(normal))

    @field_validator("labelling_languages")
    @classmethod
    def _known_languages(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return [check_language(code) for code in value]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
