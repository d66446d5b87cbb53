"""What is known about a judge's quality, for reports: measured agreement, or none.

Where a judge's figures come from, first found wins: a `culturalign judge validate` record
for the judge's identity in the run's store, then in the user cache (records.py), then, for
the offline candidates, the measurements shipped in data/judge/validated.toml (written from
the bench's output, see docs/judge.md). A judge found nowhere is "unvalidated". A report
must say plainly when its judge is not good enough to interpret: Cohen's kappa below the
threshold, or no validation at all.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from typing import Any

from culturalign.models.base import ModelSpec
from culturalign.paths import package_data
from culturalign.probes.wvs.judge.records import candidate_name, find_record, identity_key, judge_identity
from culturalign.store.db import RunStore

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
    source: str | None = None  # where the figures were found
    intervals: dict[str, Any] | None = None  # {metric: {estimate, low, high}} when the record has them

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
        figures = {"agreement": self.agreement, "cohen_kappa": self.kappa, "vps_mae": self.vps_mae}
        return {
            "judge": self.name,
            "validated": self.validated,
            **{k: (self.intervals or {}).get(k) or v for k, v in figures.items()},
            "n_summaries": self.n_summaries,
            "interpretable": self.interpretable,
            "source": self.source,
            "warning": self.warning(),
        }


@functools.cache
def _validated() -> dict[str, Any]:
    return tomllib.loads(package_data("judge", "validated.toml").read_text(encoding="utf-8"))


def default_judge_name() -> str:
    """The embedded offline judge chosen by measurement (data/judge/validated.toml)."""
    return str(_validated()["default"])


def kappa_threshold() -> float:
    """Cohen's kappa below which reports warn that a judge's labels are not good enough to interpret."""
    return float(_validated().get("kappa_threshold", 0.6))


def judge_quality(name: str) -> JudgeQuality:
    """The shipped measurement of an offline candidate (or "unvalidated")."""
    data = _validated()
    threshold = kappa_threshold()
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
        source=f"shipped measurement of {data.get('measured_on', '?')} on {data.get('reference', 'the reference set')}",
    )


def quality_for(spec: ModelSpec, store: RunStore | None = None) -> JudgeQuality:
    """The measured quality of the judge a spec describes, found by its identity (see module doc)."""
    found = find_record(identity_key(judge_identity(spec)), store)
    if found is not None:
        return from_record(spec.name, *found)
    candidate = candidate_name(spec)
    quality = judge_quality(candidate) if candidate is not None else None
    if quality is not None and quality.validated:
        return quality
    return JudgeQuality(name=spec.name, validated=False, threshold=kappa_threshold())


def from_record(name: str, record: dict[str, Any], where: str) -> JudgeQuality:
    intervals = {k: record.get(k) for k in ("agreement", "cohen_kappa", "vps_mae") if isinstance(record.get(k), dict)}
    return JudgeQuality(
        name=name,
        validated=True,
        agreement=_estimate(record.get("agreement")),
        kappa=_estimate(record.get("cohen_kappa")),
        vps_mae=_estimate(record.get("vps_mae")),
        n_summaries=record.get("n_summaries"),
        n_responses=record.get("n_responses"),
        reference=record.get("labels_file"),
        threshold=kappa_threshold(),
        source=(
            f"`culturalign judge validate` of {str(record.get('validated_at', '?'))[:10]} against "
            f"{record.get('labels_file', 'hand labels')}, found in the {where}"
        ),
        intervals=intervals or None,
    )


def _estimate(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("estimate")
    return _number(value)


def _number(value: Any) -> float | None:
    """TOML has no null: an undefined measurement is written as nan."""
    if value is None or value != value:
        return None
    return float(value)


def error_rate_for(given: float | None, quality: list[dict[str, Any]] | None) -> tuple[float, str]:
    """The judge error e of the attenuation correction and where it came from (docs/methods/wvs.md §W8):
    the user's value, else the measured VPS error of the run's one judge, else the paper's 0.045."""
    if given is not None:
        return given, "given by the user (judge_error_rate)"
    entries = [q for q in quality or [] if isinstance(q, dict)]
    if len(entries) > 1:
        return PAPER_ERROR_RATE, (
            f"the paper's judge ({PAPER_ERROR_RATE}): this run combines {len(entries)} judges, "
            "and the combined judge has not been validated as such"
        )
    if entries:
        mae = _estimate(entries[0].get("vps_mae"))
        name = entries[0].get("judge")
        if mae is not None and 0 <= mae < 1:
            return mae, f"measured VPS error of the judge {name} ({entries[0].get('source') or 'validation'})"
        return PAPER_ERROR_RATE, f"the paper's judge ({PAPER_ERROR_RATE}): the judge {name} has no measured VPS error"
    return PAPER_ERROR_RATE, f"the paper's judge ({PAPER_ERROR_RATE}): no judge validation was given"
