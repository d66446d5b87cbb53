"""The `[wvs]` section of an experiment file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from culturalign.models.base import GenerateConfig, ModelSpec

# Languages the response-language detector may answer besides the run's own: English (the
# usual fallback of a model) and the neighbours a response is most easily confused with.
DEFAULT_DETECTOR_EXTRAS = ["en", "de", "fr", "es", "it", "sv", "nb"]


class WVSSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompts_per_language: int = Field(
        default=300, gt=0, le=100_000, description="prompts drawn per language (paper: 300)"
    )
    interviewees: int = Field(default=10, ge=2, le=50, description="N, the interviews each prompt asks for")
    items: list[str] | None = Field(default=None, description="codebook items to ask about; default all")
    codebook: Path | None = Field(default=None, description="a codebook TOML file; default the shipped one")
    generation: GenerateConfig = Field(
        default_factory=lambda: GenerateConfig(max_tokens=1024),
        description="generation parameters; a model's own `params` take precedence",
    )
    translator: ModelSpec | None = Field(
        default=None, description="model that translates templates and topics into languages without a translation"
    )
    min_summaries: int | None = Field(
        default=None, ge=1, le=50, description="fewest interview summaries a kept response has; default half of N"
    )
    detector_languages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DETECTOR_EXTRAS),
        description="languages the detector may answer besides the run's own",
    )

    judge_aggregation: Literal["majority", "median"] = Field(
        default="majority",
        description="several judges: majority vote per interviewee, or the median of the judges' response VPS",
    )

    def fewest_summaries(self) -> int:
        return self.min_summaries if self.min_summaries is not None else max(1, self.interviewees // 2)
