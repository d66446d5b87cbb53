"""`culturalign compare`: paired comparisons of models across runs, a leaderboard per probe,
the methods side by side and, for two runs of one experiment, what changed.

Everything is computed before anything is written; the output folder is filled in a temporary
sibling and moved into place at the end, so a failed comparison leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from culturalign import __version__
from culturalign.compare import units
from culturalign.compare.inputs import Source, cell_column, entry_labels, load_source
from culturalign.compare.leaderboard import adjacent_pairs, leaderboard, run_diff
from culturalign.compare.paired import PAIRED, UNPAIRED, CellDraws, bootstrap_cell, estimates_table, pairs_table
from culturalign.errors import DataError
from culturalign.tables import write_json, write_table_pair

MANIFEST = "compare_manifest.json"
MEASURES = {
    "wvs": "alignment: Spearman of response VPS vs the prompt language's speakers' survey VPS (higher is better)",
    "vsm": "deviation ratio averaged over country personas, per prompt condition (higher is better)",
    "statements": "profile distance: mean |model profile on 0-100 - target country's Hofstede score| over "
    "dimensions (lower is better)",
}


@dataclass
class CompareResult:
    estimates: pl.DataFrame
    pairs: pl.DataFrame
    leaderboard: pl.DataFrame
    adjacent: pl.DataFrame
    draws: dict[str, list[CellDraws]]
    sources: list[Source]
    diff: pl.DataFrame | None = None
    methods: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _entry_rows(sources: list[tuple[int, Source]], labels: dict[tuple[int, str], str]) -> pl.DataFrame:
    frames = []
    for i, source in sources:
        mapping = {m: labels[(i, m)] for m in source.rows["model"].unique().to_list()}
        frames.append(source.rows.with_columns(pl.col("model").replace_strict(mapping).alias("entry")))
    return pl.concat(frames, how="vertical_relaxed")


def _targets(sources: list[tuple[int, Source]], labels: dict[tuple[int, str], str]) -> pl.DataFrame:
    frames = []
    for i, source in sources:
        targets = source.targets if source.targets is not None else pl.DataFrame()
        for model in source.rows["model"].unique().to_list():
            if targets.height:
                frames.append(targets.with_columns(pl.lit(labels[(i, model)]).alias("entry")))
    if not frames:
        return pl.DataFrame(schema={"language": pl.Utf8, "dimension": pl.Utf8, "value": pl.Float64, "entry": pl.Utf8})
    return pl.concat(frames, how="vertical_relaxed")


def probe_cells(
    probe: str, sources: list[tuple[int, Source]], labels: dict[tuple[int, str], str], min_entries: int = 2
) -> list:
    """Cells with at least `min_entries` entries: two to compare; one is enough to set a model's
    measure beside another probe's (the methods table)."""
    rows = _entry_rows(sources, labels)
    col = cell_column(probe)
    wanted = rows.group_by(col).agg(pl.col("entry").n_unique().alias("n")).filter(pl.col("n") >= min_entries)[col]
    rows = rows.filter(pl.col(col).is_in(wanted.to_list()))
    if rows.is_empty():
        return []
    if probe == "wvs":
        return units.wvs_cells(rows)
    if probe == "vsm":
        return units.vsm_cells(rows)
    targets = _targets(sources, labels)
    if targets.is_empty():
        raise DataError(
            "no statements analysis holds Hofstede scores of a target country for its prompt languages "
            "(data/compare/target_countries.toml); set `countries` in the experiment and rerun its analysis"
        )
    return units.statements_cells(rows, targets)


def compare(
    inputs: list[str | Path],
    *,
    rounds: int = 1000,
    seed: int = 0,
    ground_truth: str | Path | None = None,
    output: str | Path | None = None,
    command: str = "",
) -> CompareResult:
    """Compare every model of the inputs; write the folder when `output` is given."""
    if rounds < 100:
        raise DataError("--rounds must be at least 100 for 95% intervals and Holm-corrected p-values")
    if not inputs:
        raise DataError("give at least one run or analysis to compare")
    if output is not None:
        _check_output(Path(output))
    missing = [str(p) for p in inputs if not Path(p).exists()]
    if missing:
        raise DataError(
            f"not found: {', '.join(missing)}; give analysis folders, run folders, run stores or response tables"
        )
    sources = [load_source(p, ground_truth) for p in inputs]
    labels = entry_labels(sources)
    by_probe: dict[str, list[tuple[int, Source]]] = {}
    for i, source in enumerate(sources):
        by_probe.setdefault(source.probe, []).append((i, source))
    _check_comparable(sources, by_probe)
    notes: list[str] = [f"{s.label}: {n}" for s in sources for n in s.notes]
    draws: dict[str, list[CellDraws]] = {}
    seeds = np.random.SeedSequence(seed).spawn(len(by_probe))
    for (probe, members), child in zip(sorted(by_probe.items()), seeds, strict=True):
        cells = probe_cells(probe, members, labels, min_entries=1 if len(by_probe) > 1 else 2)
        if not cells:
            notes.append(f"{probe}: no language or condition was measured for two entries; nothing to pair")
            continue
        rng = np.random.default_rng(child)
        draws[probe] = [bootstrap_cell(c, rng, rounds) for c in cells]
        for c in cells:
            notes += [f"{probe} {c.cell}: {n}" for n in c.notes]
    if not draws and len(by_probe) < 2:
        raise DataError(
            "the inputs share no language or condition measured for two models; "
            "give runs of the same probe in a common language (or vsm condition)"
        )
    all_draws = [d for ds in draws.values() for d in ds]
    estimates = estimates_table(all_draws)
    pairs = pairs_table(all_draws)
    board = leaderboard(estimates, pairs)
    result = CompareResult(estimates, pairs, board, adjacent_pairs(board, pairs), draws, sources, notes=notes)
    result.diff = _two_run_diff(sources, by_probe, draws)
    if len(by_probe) >= 2:
        from culturalign.compare.methods import method_agreement

        result.methods = method_agreement(sources, draws, labels)
    result.manifest = _manifest(result, rounds, seed, command, inputs)
    if output is not None:
        write_compare(result, Path(output))
    return result


def _check_comparable(sources: list[Source], by_probe: dict[str, list[tuple[int, Source]]]) -> None:
    models = {m for s in sources for m in s.rows["model"].unique().to_list()}
    if len(sources) == 1 and sources[0].rows["model"].n_unique() < 2:
        raise DataError(
            f"{sources[0].path} holds one model; compare needs two or more models: give a second run or analysis"
        )
    if len(by_probe) > 1:
        # different probes are never tested against each other: they only meet, model by model,
        # in the methods table, so they need models in common
        per_probe = [{m for _, s in ms for m in s.rows["model"].unique().to_list()} for ms in by_probe.values()]
        if not set.intersection(*per_probe):
            raise DataError(
                "the inputs are runs of different probes (" + ", ".join(sorted(by_probe)) + ") that share no model, "
                "so they are not comparable; compare each probe's runs on their own, or give runs of several probes "
                "that measured the same models"
            )
    if len(models) < 2 and len(sources) < 2:
        raise DataError("compare needs two or more models or runs")


def _two_run_diff(
    sources: list[Source], by_probe: dict[str, list[tuple[int, Source]]], draws: dict[str, list[CellDraws]]
) -> pl.DataFrame | None:
    """Two inputs of one probe with models in common: what changed from the first to the second."""
    if len(sources) != 2 or len(by_probe) != 1:
        return None
    first, second = sources
    common = sorted(set(first.rows["model"].unique().to_list()) & set(second.rows["model"].unique().to_list()))
    if not common or first.label == second.label:
        return None
    return run_diff(draws.get(first.probe, []), first.label, second.label, common)


def _manifest(result: CompareResult, rounds: int, seed: int, command: str, inputs: list) -> dict:
    return {
        "command": command,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "inputs": [{"path": str(s.path), "label": s.label, "probe": s.probe} for s in result.sources],
        "rounds": rounds,
        "seed": seed,
        "measures": {p: MEASURES[p] for p in result.draws},
        "test": "paired bootstrap: each round draws the shared units (wvs items, vsm countries, statements) with "
        "replacement, the same draw for every model of a language/condition; 95% percentile intervals; "
        "two-sided p from the bootstrap SE of the paired difference, scaled by sqrt(n / (n - 1)), against t on "
        "n - 1 units; Holm's correction (family-wise error 0.05) over all pairs and cells of a probe (pairs.csv), "
        "over the comparisons with each cell's best (leaderboard marker), over each cell's adjacent steps",
        "resampling_labels": {"paired": PAIRED, "unpaired": UNPAIRED},
        "notes": result.notes,
    }


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise DataError(f"{out} exists and is not an earlier compare folder; choose a new --output folder")


def write_compare(result: CompareResult, out: Path) -> Path:
    """Tables (CSV + Parquet), figures and compare.html, built in a temporary folder and moved into place."""
    from culturalign.compare.page import write_page

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tables = {"estimates": result.estimates, "pairs": result.pairs, "leaderboard": result.leaderboard,
                  "adjacent_pairs": result.adjacent}  # fmt: skip
        if result.diff is not None:
            tables["diff"] = result.diff
        if result.methods is not None:
            tables["methods"] = result.methods
        for stem, table in tables.items():
            write_table_pair(table, staging, stem)
        write_page(result, staging)
        write_json(staging / MANIFEST, {**result.manifest, "files": sorted(p.name for p in staging.iterdir())})
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
