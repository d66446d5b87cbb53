"""Reading what `culturalign compare` is given into per-unit tables.

An input is an analysis folder (with manifest.json), a run's output folder (holding
analysis/manifest.json), a run store (.sqlite/.sqlite3/.db; its latest run) or a wvs response
table in the released layout (.csv/.parquet). Each becomes a `Source`: a label, the probe, and
the rows the probe's measure needs, one per unit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from culturalign.errors import DataError
from culturalign.paths import package_data
from culturalign.report.provenance import MANIFEST_NAME, load_manifest
from culturalign.tables import read_table

PROBES = ("wvs", "vsm", "statements")
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
TABLE_SUFFIXES = (".csv", ".parquet")


@dataclass
class Source:
    label: str
    probe: str
    path: Path
    rows: pl.DataFrame  # probe-specific, with a `model` column (see units.py)
    targets: pl.DataFrame | None = None  # statements: model, language, dimension, value
    notes: list[str] = field(default_factory=list)


def _analysis_dir(path: Path) -> Path | None:
    for folder in (path, path / "analysis"):
        if (folder / MANIFEST_NAME).is_file():
            return folder
    return None


def _table(folder: Path, stem: str) -> pl.DataFrame:
    for suffix in (".parquet", ".csv"):
        if (folder / f"{stem}{suffix}").is_file():
            return read_table(folder / f"{stem}{suffix}")
    raise DataError(
        f"{folder} has no {stem}.parquet or {stem}.csv; rerun its analysis with this version of culturalign"
    )


def _need(df: pl.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what} misses the column(s) {', '.join(missing)}; rerun its analysis")


def _own_truth(truth: pl.DataFrame) -> pl.DataFrame:
    """Ground truth of each language's speakers: language, item, truth."""
    own = truth.filter(pl.col("population_kind") == "language").select(
        pl.col("population").alias("language"),
        pl.col("item").cast(pl.Utf8).str.to_lowercase(),
        pl.col("vps").alias("truth"),
    )
    if own.is_empty():
        raise DataError(
            "the ground truth has no language-level rows (population_kind = language); "
            "compare measures alignment with each prompt language's speakers"
        )
    return own


def wvs_rows(responses: pl.DataFrame, truth: pl.DataFrame, what: str) -> pl.DataFrame:
    """model, language, item, vps, truth: kept responses in their prompt language with truth."""
    _need(responses, ["model", "language", "item", "vps"], what)
    kept = responses
    if "response_language" in kept.columns:
        kept = kept.filter(pl.col("response_language").is_null() | (pl.col("response_language") == pl.col("language")))
    rows = kept.select("model", "language", "item", "vps").join(_own_truth(truth), on=["language", "item"])
    if rows.is_empty():
        raise DataError(f"{what}: no response has ground truth for its prompt language; check the item keys")
    return rows


def _ground_truth(ground_truth: str | Path | None) -> pl.DataFrame:
    """A table or folder of ground truth; None or "published": the published tables."""
    from culturalign.probes.wvs.analysis.truth import tidy_truth
    from culturalign.probes.wvs.sources.groundtruth import load_ground_truth

    path = None if ground_truth in (None, "", "published") else Path(ground_truth)
    return tidy_truth(load_ground_truth(path))


def vsm_rows(folder: Path) -> pl.DataFrame:
    """model, condition, country, dr (finite ratios; an infinite one, a perfect match, is left out)."""
    table = _table(folder, "deviation_ratio")
    _need(table, ["model", "country", "condition", "dr"], f"{folder}/deviation_ratio")
    return table.select("model", "condition", "country", pl.col("dr").cast(pl.Float64)).filter(pl.col("dr").is_finite())


@cache
def _target_aliases() -> dict[str, list[str]]:
    data = tomllib.loads(package_data("compare", "target_countries.toml").read_text(encoding="utf-8"))
    return {k: [a.lower() for a in v] for k, v in data["targets"].items()}


def statements_rows(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores (model, language, statement_id, dimension, score) and each language's target country
    profile (language, dimension, value) from the analysis's Hofstede table."""
    scores = _table(folder, "scores")
    _need(scores, ["model", "language", "statement_id", "dimension", "score"], f"{folder}/scores")
    scores = scores.select("model", "language", pl.col("statement_id").cast(pl.Utf8), "dimension", "score")
    hofstede = _table(folder, "hofstede")
    countries = hofstede.filter(pl.col("kind") == "country")
    aliases = _target_aliases()
    rows = []
    lowered = countries.with_columns(pl.col("name").str.to_lowercase().alias("_name"))
    for language in scores["language"].unique().to_list():
        # the first alias present wins, so a language with two candidate countries gets one target
        for alias in aliases.get(language, []):
            found = lowered.filter(pl.col("_name") == alias)
            if found.height:
                rows += [(language, r["dimension"], float(r["value"])) for r in found.iter_rows(named=True)]
                break
    targets = pl.DataFrame(rows, schema={"language": pl.Utf8, "dimension": pl.Utf8, "value": pl.Float64}, orient="row")
    return scores, targets


def load_source(path: str | Path, ground_truth: str | Path | None = None) -> Source:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; give analysis folders, run folders, run stores or response tables")
    if path.is_file() and path.suffix.lower() in STORE_SUFFIXES:
        return _from_store(path, ground_truth)
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        from culturalign.probes.wvs.analysis.responses import load_response_table

        rows = wvs_rows(load_response_table(path), _ground_truth(ground_truth), str(path))
        return Source(path.stem, "wvs", path, rows)
    folder = _analysis_dir(path) if path.is_dir() else None
    if folder is None:
        raise DataError(
            f"{path} is not an analysis folder, run folder, run store (.sqlite) or response table (.csv/.parquet)"
        )
    return _from_folder(folder, path, ground_truth)


def _from_folder(folder: Path, given: Path, ground_truth: str | Path | None) -> Source:
    manifest = load_manifest(folder)
    probe = manifest.get("probe")
    label = given.resolve().name if given.resolve().name != "analysis" else given.resolve().parent.name
    if probe == "wvs":
        responses = _table(folder, "responses")
        truth = _ground_truth(ground_truth) if ground_truth else _table(folder, "ground_truth")
        return Source(label, "wvs", given, wvs_rows(responses, truth, str(folder)))
    if probe == "vsm":
        rows = vsm_rows(folder)
        total = _table(folder, "deviation_ratio").height
        notes = (
            [f"{total - rows.height} deviation ratio(s) not finite (a perfect match) left out"]
            if total > rows.height
            else []
        )
        return Source(label, "vsm", given, rows, notes=notes)
    if probe == "statements":
        scores, targets = statements_rows(folder)
        return Source(label, "statements", given, scores, targets)
    raise DataError(f"{folder}/{MANIFEST_NAME} names probe {probe!r}; compare knows {', '.join(PROBES)}")


def _from_store(path: Path, ground_truth: str | Path | None) -> Source:
    from culturalign.reports import recorded_analysis_dir
    from culturalign.store.db import RunStore

    with RunStore(path) as store:
        run = store.run(None)
        if run.probe == "wvs":
            from culturalign.probes.wvs.analysis.from_store import responses_from_store

            responses, _ = responses_from_store(store, run.run_id)
            recorded = recorded_analysis_dir(store, run)
            if ground_truth is None and recorded is not None:
                truth = _table(recorded, "ground_truth")
            else:
                truth = _ground_truth(ground_truth)
            return Source(run.name, "wvs", path, wvs_rows(responses, truth, str(path)))
        recorded = recorded_analysis_dir(store, run)
    if recorded is None:
        raise DataError(
            f"run {run.name} in {path} has no analysis folder to read; finish it with `culturalign run`, "
            "or give its analysis folder"
        )
    source = _from_folder(recorded, recorded.parent, ground_truth)
    source.label = run.name
    return source


def entry_labels(sources: list[Source]) -> dict[tuple[int, str], str]:
    """A label per (source, model): the model's name, or "model @ run" when two inputs share the name
    or the same input appears twice."""
    seen: dict[str, set[int]] = {}
    for i, source in enumerate(sources):
        for model in source.rows["model"].unique().to_list():
            seen.setdefault(model, set()).add(i)
    labels = [s.label for s in sources]
    clash = len(set(labels)) < len(labels)
    out = {}
    for model, where in seen.items():
        for i in where:
            if len(where) == 1:
                out[(i, model)] = model
            else:
                out[(i, model)] = f"{model} @ {labels[i]}" + (f" #{i + 1}" if clash else "")
    return out


def cell_column(probe: str) -> str:
    return "condition" if probe == "vsm" else "language"
