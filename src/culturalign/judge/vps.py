"""Per-response value polarity score (docs/methods/wvs.md §W6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from culturalign.judge.stance import LABELS


@dataclass(frozen=True)
class ResponseScore:
    n_pro: int
    n_con: int
    n_null: int
    vps: float | None  # None when the response has no pro and no con interviewee

    def as_dict(self) -> dict[str, int | float | None]:
        return {"n_pro": self.n_pro, "n_con": self.n_con, "n_null": self.n_null, "vps": self.vps}


def vps_from_counts(n_pro: int, n_con: int) -> float | None:
    """n_pro / (n_pro + n_con); undefined (None) when both are 0, so the response drops out."""
    if n_pro < 0 or n_con < 0:
        raise ValueError("counts cannot be negative")
    total = n_pro + n_con
    return None if total == 0 else n_pro / total


def score_labels(labels: Sequence[str]) -> ResponseScore:
    """Counts and VPS of one response's labels; an unknown label is a programming error here."""
    unknown = {x for x in labels if x not in LABELS}
    if unknown:
        raise ValueError(f"unknown stance label(s): {sorted(map(str, unknown))}")
    n_pro = sum(1 for x in labels if x == "pro")
    n_con = sum(1 for x in labels if x == "con")
    n_null = len(labels) - n_pro - n_con
    return ResponseScore(n_pro=n_pro, n_con=n_con, n_null=n_null, vps=vps_from_counts(n_pro, n_con))
