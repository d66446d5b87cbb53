"""Reading an analysis folder's manifest and saying, in words, how far to trust its judge.

Shared by every probe's report sections: a judge's measured agreement goes beside the
headline numbers, with a plain warning when it is poor or was never measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from culturalign.errors import DataError

MANIFEST_NAME = "manifest.json"
POOR_KAPPA = 0.6


def load_manifest(analysis_dir: Path) -> dict[str, Any]:
    """The analysis manifest as a dict; a one-line error when it is missing or not JSON."""
    path = analysis_dir / MANIFEST_NAME
    if not path.is_file():
        raise DataError(
            f"{analysis_dir} has no {MANIFEST_NAME}; give an analysis folder written by `culturalign analyze`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); rerun the analysis to rewrite it") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} holds a JSON {type(data).__name__}, expected an object; rerun the analysis")
    return data


def estimate_of(value: Any) -> float | None:
    """A number from a plain value or from an {estimate, low, high} interval."""
    if isinstance(value, Mapping):
        value = value.get("estimate")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def format_interval(value: Any, digits: int = 2, percent: bool = False) -> str:
    """'0.91 [0.87, 0.94]' from an interval dict, '0.91' from a number, '' when unknown."""
    estimate = estimate_of(value)
    if estimate is None:
        return ""
    scale, suffix = (100.0, "%") if percent else (1.0, "")
    fmt = f".{0 if percent else digits}f"
    text = f"{estimate * scale:{fmt}}{suffix}"
    if isinstance(value, Mapping):
        low, high = estimate_of(value.get("low")), estimate_of(value.get("high"))
        if low is not None and high is not None:
            text += f" [{low * scale:{fmt}}{suffix}, {high * scale:{fmt}}{suffix}]"
    return text


def _first(mapping: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping and mapping[name] is not None:
            return mapping[name]
    return None


def judge_entries(validation: Any) -> list[Mapping[str, Any]]:
    """One record per judge, whether the manifest holds one record, a list, or {"quality": [...]}."""
    if isinstance(validation, Mapping) and isinstance(validation.get("quality"), list):
        validation = validation["quality"]
    if isinstance(validation, Mapping):
        return [validation] if validation else []
    if isinstance(validation, list):
        return [v for v in validation if isinstance(v, Mapping)]
    return []


def judge_summary(validation: Any, error_rate: float | None = None) -> tuple[str, list[str]]:
    """The judges' measured agreement in one line, and the warnings a reader must see."""
    entries = judge_entries(validation)
    if not entries:
        note = f"; assumed error rate {error_rate:.3f}" if isinstance(error_rate, int | float) else ""
        return (
            f"not validated{note}",
            [
                "The judge that labelled these responses was not validated against hand labels: "
                "treat every alignment number as unverified until `culturalign judge validate` has measured it."
            ],
        )
    texts: list[str] = []
    warnings: list[str] = []
    for entry in entries:
        text, entry_warnings = _one_judge(entry)
        texts.append(text)
        warnings.extend(w for w in entry_warnings if w not in warnings)
    return "; ".join(texts), warnings


def judge_failures_text(validation: Any) -> str | None:
    """'j1 failed on 2 of 40 responses (5%); j2 ...' when the manifest counted the judges' failures."""
    parts = []
    for entry in judge_entries(validation):
        rate, judged = entry.get("failure_rate"), entry.get("judged")
        if isinstance(rate, int | float) and isinstance(judged, int):
            text = f"{entry.get('judge')}: {entry.get('failed')} of {judged} responses ({rate:.1%})"
            if isinstance(entry.get("calls"), int):
                text += f", {entry.get('failed_calls')} of {entry['calls']} calls failed"
            parts.append(text)
    return "; ".join(parts) or None


def fleiss_text(validation: Any) -> str | None:
    """Agreement between several judges, when the manifest has it."""
    if not isinstance(validation, Mapping) or "inter_judge_fleiss_kappa" not in validation:
        return None
    kappa = estimate_of(validation.get("inter_judge_fleiss_kappa"))
    if kappa is None:
        return "not estimable (no interviewee was labelled by every judge, or all gave one label)"
    return f"{kappa:.2f} (Fleiss' kappa over the interviewees every judge labelled)"


def _one_judge(validation: Mapping[str, Any]) -> tuple[str, list[str]]:
    name = _first(validation, "judge", "model", "name")
    if validation.get("validated") is False:
        text = f"{name}: not validated" if name else "not validated"
        own = validation.get("warning")
        return text, [
            str(own)
            if own
            else f"The judge {name or ''} was not validated against hand labels: its scores cannot be interpreted."
        ]
    agreement = _first(validation, "agreement", "accuracy")
    kappa = _first(validation, "cohen_kappa", "kappa")
    n = _first(validation, "n_summaries", "n", "n_labels")
    parts = []
    if agreement is not None:
        parts.append(f"agreement {format_interval(agreement, percent=True)}")
    if kappa is not None:
        parts.append(f"Cohen's kappa {format_interval(kappa)}")
    mae = _first(validation, "vps_mae", "mae")
    if mae is not None:
        parts.append(f"VPS mean absolute error {format_interval(mae, digits=3)}")
    if n is not None:
        parts.append(f"n={n} hand-labelled summaries")
    source = _first(validation, "source", "reference")
    text = (f"{name}: " if name else "") + ", ".join(parts or ["validation recorded without figures"])
    if source:
        text += f" ({source})"
    warnings: list[str] = []
    kappa_value = estimate_of(kappa)
    if kappa_value is not None and kappa_value < POOR_KAPPA:
        warnings.append(
            f"The judge{' ' + str(name) if name else ''} agrees poorly with hand labels (Cohen's kappa "
            f"{kappa_value:.2f} < {POOR_KAPPA}): the alignment numbers below mostly measure the judge's noise "
            "and should not be interpreted."
        )
    elif kappa_value is None and estimate_of(agreement) is None:
        warnings.append("The judge's validation holds no agreement figures: its quality is unknown.")
    return text, warnings
