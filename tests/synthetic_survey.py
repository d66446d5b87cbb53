"""Synthetic respondent files in the layout of the joint EVS/WVS file, for ground-truth tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def random_survey(
    rng: np.random.Generator,
    n: int,
    countries: Sequence[str] = ("DK", "NL", "BR", "PT"),
    languages: Sequence[str] = ("da", "nl", "pt", "en"),
    cells: Sequence[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Respondents with random weights and answers (missing codes included) to F118 (1-10),
    E069_02 (1-4) and E028 (1-3). Country and interview language are drawn independently, or,
    with `cells`, as (country, interview language) pairs, each equally likely: a joint file
    where each country interviews in its own languages."""
    if cells is None:
        country = rng.choice(list(countries), n)
        language = rng.choice(list(languages), n)
    else:
        drawn = rng.integers(0, len(cells), n)
        country = np.array([cells[i][0] for i in drawn])
        language = np.array([cells[i][1] for i in drawn])
    return pd.DataFrame(
        {
            "cntry_AN": country,
            "lnge_iso": language,
            "gwght": rng.uniform(0.2, 3, n),
            "pwght": rng.uniform(0.5, 2, n),
            "F118": rng.integers(-5, 11, n),
            "E069_02": rng.integers(-3, 5, n),
            "E028": rng.integers(-2, 4, n),
        }
    )
