"""The `[vsm]` section of an experiment file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from culturalign.errors import ConfigError
from culturalign.models.base import ModelSpec
from culturalign.probes.answer_modes import AnswerMode
from culturalign.probes.vsm.countries import resolve_countries

DIMENSION_KEYS = ("pdi", "idv", "mas", "uai", "lto", "ivr")
PAPER_COUNTRY_KEYS = (
    "bangladesh", "china", "egypt", "france", "germany", "india", "indonesia", "iran", "japan", "south_korea",
    "pakistan", "philippines", "portugal", "russia", "spain", "tanzania", "thailand", "turkey", "united_states",
    "vietnam",
)  # fmt: skip


class VsmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    countries: list[str] = Field(
        default_factory=lambda: list(PAPER_COUNTRY_KEYS),
        min_length=1,
        description="country roles (keys, English or Hofstede names); the prompt languages are the experiment's `languages`",
    )
    instrument: list[str] = Field(
        default_factory=list,
        description="wording files (item,text,option_1..option_5[,language]); empty = the copy fetched by `vsm fetch-instrument`",
    )
    translator: ModelSpec | None = Field(
        default=None, description="model translating the wording into prompt languages no instrument file covers"
    )
    repeats: int = Field(default=3, ge=1, le=100, description="calls per (model, country, language, item)")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=64, gt=0, le=32_768, description="room for the number and a short explanation")
    constants: dict[str, float] = Field(
        default_factory=lambda: {d: 50.0 for d in DIMENSION_KEYS},
        description="constant C per index (pdi idv mas uai lto ivr); the manual leaves it to the user",
    )
    normalisation: Literal["clip", "minmax", "none"] = Field(
        default="clip",
        description="clip: index + C bounded to 0-100; minmax: the possible range of the index mapped onto 0-100; none",
    )
    scores: str = Field(default="published", description="'published' (fetched by `vsm fetch-scores`) or a table path")
    ground_truth_fallback: bool = Field(
        default=True, description="fill a country's empty dimensions from its regional row (Egypt: Arab countries)"
    )
    missing_ground_truth: Literal["error", "skip"] = "error"
    global_mean: Literal["paper", "run"] = Field(
        default="paper", description="mean ground truth over the paper's 20 countries, or over this run's countries"
    )
    bootstrap_rounds: int = Field(default=1000, ge=0, le=100000)
    answer_mode: AnswerMode = Field(
        default="free",
        description="free: read the number out of free text (the paper); constrained: output restricted to 1-5; "
        "scored: each option's log-probability (see docs/answer-modes.md)",
    )
    answer_modes: dict[str, AnswerMode] = Field(
        default_factory=dict, description='per model name, overriding answer_mode (e.g. {gpt-4o = "free"})'
    )
    language_average: Literal["scores", "ratios"] = Field(
        default="scores",
        description="average-over-languages condition: average the scaled scores across languages, then take the "
        "gap (default: one profile per country role, as the paper's language-average results) or average the "
        "per-language deviation ratios",
    )

    @field_validator("constants")
    @classmethod
    def _all_dimensions(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DIMENSION_KEYS))
        if unknown:
            raise ValueError(f"unknown dimension(s) {', '.join(unknown)}; use {', '.join(DIMENSION_KEYS)}")
        return {d: float(value.get(d, 50.0)) for d in DIMENSION_KEYS}

    @field_validator("countries")
    @classmethod
    def _known_countries(cls, value: list[str]) -> list[str]:
        try:
            return [c.key for c in resolve_countries(value)]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
