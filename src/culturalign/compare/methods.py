"""The three methods side by side: do they order languages (within a model) and models (within
a language) the same way?

Values compared, all oriented so that higher means better aligned:
- wvs: alignment with the prompt language's speakers (bootstrap draws over items);
- vsm: deviation ratio of the country whose main language is the prompt language, answering
  in that language (the `aligned` condition); taken as fixed (the vsm table carries no draws);
- statements: minus the profile distance to the language's target country (draws over statements).
Kendall's tau-b per pair of methods, with a 95% percentile interval from the same rounds.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl

from culturalign.compare.inputs import Source
from culturalign.compare.paired import CellDraws, percentiles

MIN_POINTS = 3
WHAT_DIFFERS = (
    "The methods measure different things. wvs asks whether the spread of opinions a model writes for ten "
    "imagined citizens tracks the survey answers of the prompt language's speakers, item by item (a "
    "correlation: it ignores the overall level). vsm asks the model to play an average person of a named "
    "country and scores six Hofstede indices from 24 items against published country scores (an absolute "
    "distance, scaled by how far the country lies from the global mean). statements reads agree/disagree "
    "stances on debate statements as positions on the same six dimensions and measures the distance of that "
    "profile from a target country. A model can track opinion distributions well and still misplace a "
    "country's index levels, and the vsm persona names the country while wvs and statements only use the "
    "language. Expect agreement only where all three vary with the same underlying cultural knowledge; with "
    "four languages or a handful of models tau is very uncertain, so read the intervals, not the point."
)


def _vsm_language(country: str) -> str | None:
    from culturalign.errors import ConfigError
    from culturalign.probes.vsm.countries import find_country

    try:
        return find_country(country).language
    except ConfigError:
        return None


def _values(sources: list[Source], draws: dict[str, list[CellDraws]], labels: dict) -> dict:
    """values[probe][(model, language)] = (point, draws or None)."""
    name_of = {label: model for (_, model), label in labels.items()}
    out: dict[str, dict[tuple[str, str], tuple[float, np.ndarray | None]]] = {}
    for probe, results in draws.items():
        if probe == "vsm":
            continue
        sign = -1.0 if probe == "statements" else 1.0
        for res in results:
            for i, entry in enumerate(res.cell.entries):
                key = (name_of.get(entry, entry), res.cell.cell)
                if np.isfinite(res.point[i]) and key not in out.setdefault(probe, {}):
                    out[probe][key] = (sign * float(res.point[i]), sign * res.rounds[:, i])
    for source in sources:
        if source.probe != "vsm":
            continue
        aligned = source.rows.filter(pl.col("condition") == "aligned")
        for r in aligned.iter_rows(named=True):
            language = _vsm_language(r["country"])
            if language is not None:
                out.setdefault("vsm", {}).setdefault((r["model"], language), (float(r["dr"]), None))
    return out


def kendall_rounds(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b per row of (rounds x n) arrays."""
    i, j = np.triu_indices(x.shape[1], k=1)
    sx = np.sign(x[:, i] - x[:, j])
    sy = np.sign(y[:, i] - y[:, j])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sx * sy).sum(axis=1) / np.sqrt((sx * sx).sum(axis=1) * (sy * sy).sum(axis=1))


def _tau(points_a, points_b, draws_a, draws_b, rounds: int) -> tuple[float, float | None, float | None]:
    tau = float(kendall_rounds(np.array([points_a]), np.array([points_b]))[0])
    if draws_a is None and draws_b is None:
        return tau, None, None
    da = np.column_stack(draws_a) if draws_a is not None else np.tile(points_a, (rounds, 1))
    db = np.column_stack(draws_b) if draws_b is not None else np.tile(points_b, (rounds, 1))
    low, high = percentiles(kendall_rounds(da, db)[:, None])
    return tau, float(low[0]), float(high[0])


def agreement_table(values: dict, rounds: int) -> pl.DataFrame:
    """Per model (over languages) and per language (over models), tau for each pair of methods."""
    rows = []
    for a, b in combinations(sorted(values), 2):
        common = sorted(set(values[a]) & set(values[b]))
        scopes: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for model, language in common:
            scopes.setdefault(("model", model), []).append((model, language))
            scopes.setdefault(("language", language), []).append((model, language))
        for (kind, name), keys in sorted(scopes.items()):
            if len(keys) < MIN_POINTS:
                continue
            pa = [values[a][k][0] for k in keys]
            pb = [values[b][k][0] for k in keys]
            da = [values[a][k][1] for k in keys] if values[a][keys[0]][1] is not None else None
            db = [values[b][k][1] for k in keys] if values[b][keys[0]][1] is not None else None
            tau, low, high = _tau(pa, pb, da, db, rounds)
            rows.append({
                "method_a": a, "method_b": b, "scope": f"{kind} {name}",
                "over": "languages" if kind == "model" else "models", "n": len(keys),
                "tau": None if np.isnan(tau) else tau, "ci_low": low, "ci_high": high,
                "points": "; ".join(f"{m}/{lang}" for m, lang in keys),
            })  # fmt: skip
    schema = {"method_a": pl.Utf8, "method_b": pl.Utf8, "scope": pl.Utf8, "over": pl.Utf8, "n": pl.Int64,
              "tau": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "points": pl.Utf8}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def method_agreement(sources: list[Source], draws: dict[str, list[CellDraws]], labels: dict) -> pl.DataFrame:
    values = _values(sources, draws, labels)
    rounds = next((r.rounds.shape[0] for rs in draws.values() for r in rs), 1000)
    return agreement_table(values, rounds)
