"""Dimension indices from item means (VSM 2013 manual) and their scaling to 0-100
(docs/methods/vsm.md §V4).

index_d = sum over its two terms of weight * (mean(item_plus) - mean(item_minus)), then
- `clip` (default): index + C_d, bounded to [0, 100]. The paper says only that the model's
  scores were "normalised to 0-100" to match the country table after adding C; bounding the
  shifted score is our reading of that step. With C = 50 a neutral answer pattern sits at 50.
- `minmax`: the index's possible range (item means lie in 1..5, so +-4 * sum of weights)
  mapped linearly onto 0-100; C then plays no role.
- `none`: index + C as is.
The ground truth is never rescaled (values above 100 stay as published).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from culturalign.probes.vsm.instrument import Structure, load_structure


def raw_indices(item_means: np.ndarray, structure: Structure | None = None) -> np.ndarray:
    """Indices without C from item means on the last axis (24 items -> 6 dimensions); NaN propagates."""
    structure = structure or load_structure()
    columns = []
    for dim in structure.dimensions:
        total = np.zeros(item_means.shape[:-1])
        for weight, plus, minus in dim.terms:
            total = total + weight * (item_means[..., plus - 1] - item_means[..., minus - 1])
        columns.append(total)
    return np.stack(columns, axis=-1)


@dataclass(frozen=True)
class Scaling:
    constants: tuple[float, ...]  # one per dimension, in structure order
    normalisation: str = "clip"

    def apply(self, raw: np.ndarray, structure: Structure | None = None) -> np.ndarray:
        structure = structure or load_structure()
        if self.normalisation == "minmax":
            half = np.array([d.half_range for d in structure.dimensions])
            return (raw + half) / (2 * half) * 100.0
        shifted = raw + np.array(self.constants)
        if self.normalisation == "clip":
            return np.clip(shifted, 0.0, 100.0)
        return shifted


def scaling_from_settings(constants: dict[str, float], normalisation: str) -> Scaling:
    structure = load_structure()
    return Scaling(tuple(constants[d] for d in structure.dimension_keys), normalisation)


def sensitivity_scalings(normalisation: str) -> dict[str, Scaling]:
    """The alternatives the deviation ratio is checked against: C = 0, C = 50, min-max of the possible range."""
    n = len(load_structure().dimensions)
    bounded = normalisation if normalisation != "minmax" else "clip"
    return {
        "C=0": Scaling((0.0,) * n, bounded),
        "C=50": Scaling((50.0,) * n, bounded),
        "minmax": Scaling((0.0,) * n, "minmax"),
    }
