"""What is known about a judge's quality, for reports: measured agreement, or none.

The measured figures live in data/judge/validated.toml (written from the bench's
output, see docs/judge.md); a judge not listed there is "unvalidated". A report must
say plainly when its judge is not good enough to interpret: Cohen's kappa below the
threshold, or no validation at all.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from typing import Any

from culturalign.paths import package_data

PAPER_ERROR_RATE = 0.045  # mean absolute VPS error of the paper's judge; used when nothing better is measured
PAPER_AGREEMENT = 0.91


@dataclass(frozen=True)
class JudgeQuality:
    name: str
    validated: bool
    agreement: float | None = None
    kappa: float | None = None
    vps_mae: float | None = None
    n_summaries: int | None = None
    n_responses: int | None = None
    reference: str | None = None
    threshold: float = 0.6

    @property
    def interpretable(self) -> bool:
        return self.validated and self.kappa is not None and self.kappa >= self.threshold

    def warning(self) -> str | None:
        """One plain sentence for the report, or None when the judge passed validation."""
        if not self.validated:
            return (
                f"The judge {self.name} has not been validated against hand labels: "
                "its value polarity scores cannot be interpreted."
            )
        if not self.interpretable:
            return (
                f"The judge {self.name} agreed with hand labels on {self.agreement:.0%} of "
                f"{self.n_summaries} summaries (Cohen's kappa {self.kappa:.2f}, below {self.threshold}; "
                f"the paper's judge: {PAPER_AGREEMENT:.0%}): its scores show that the pipeline runs, "
                "not what the model believes. Use a stronger judge model to interpret them."
            )
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "judge": self.name,
            "validated": self.validated,
            "agreement": self.agreement,
            "cohen_kappa": self.kappa,
            "vps_mae": self.vps_mae,
            "n_summaries": self.n_summaries,
            "interpretable": self.interpretable,
            "warning": self.warning(),
        }


@functools.cache
def _validated() -> dict[str, Any]:
    return tomllib.loads(package_data("judge", "validated.toml").read_text(encoding="utf-8"))


def default_judge_name() -> str:
    """The embedded offline judge chosen by measurement (data/judge/validated.toml)."""
    return str(_validated()["default"])


def judge_quality(name: str) -> JudgeQuality:
    data = _validated()
    threshold = float(data.get("kappa_threshold", 0.6))
    entry = data.get("judges", {}).get(name)
    if entry is None:
        return JudgeQuality(name=name, validated=False, threshold=threshold)
    return JudgeQuality(
        name=name,
        validated=True,
        agreement=_number(entry.get("agreement")),
        kappa=_number(entry.get("kappa")),
        vps_mae=_number(entry.get("vps_mae")),
        n_summaries=entry.get("n_summaries"),
        n_responses=entry.get("n_responses"),
        reference=data.get("reference"),
        threshold=threshold,
    )


def _number(value: Any) -> float | None:
    """TOML has no null: an undefined measurement is written as nan."""
    if value is None or value != value:
        return None
    return float(value)


def error_rate_for(name: str) -> float:
    """The judge's measured mean absolute VPS error, else the paper's 0.045 (attenuation correction)."""
    quality = judge_quality(name)
    return quality.vps_mae if quality.vps_mae is not None else PAPER_ERROR_RATE
