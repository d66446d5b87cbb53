"""Entry points shared by the CLI and the probe stage: gather inputs, analyse, write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from culturalign.errors import DataError, UserError
from culturalign.probes.wvs.analysis.capability import load_capability
from culturalign.probes.wvs.analysis.from_store import responses_from_store
from culturalign.probes.wvs.analysis.outputs import write_outputs
from culturalign.probes.wvs.analysis.pipeline import AnalysisResult, analyze_responses
from culturalign.probes.wvs.analysis.reproduce import reproduce_paper
from culturalign.probes.wvs.analysis.responses import load_response_table
from culturalign.probes.wvs.analysis.truth import human_consistency, tidy_truth
from culturalign.probes.wvs.sources.groundtruth import load_ground_truth
from culturalign.store.db import RunStore


def ground_truth_and_humans(source: str | Path | None) -> tuple[pl.DataFrame, pl.DataFrame | None, str]:
    """Ground truth from a table or folder (None or "published": the published tables)."""
    path = None if source in (None, "", "published") else Path(source)
    truth = tidy_truth(load_ground_truth(path))
    try:
        humans = human_consistency(path) if path is None or path.is_dir() else None
    except UserError:
        humans = None  # not every ground-truth source carries resampled human consistency
    return truth, humans, "published tables" if path is None else str(path)


def judge_validation_of_run(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """The measured quality of the judges that labelled this run (what the run stage reports too)."""
    from culturalign.probes.wvs.judge_quality import quality_of_stored_run

    return quality_of_stored_run(store, run_id)


def analyze(
    *,
    output: str | Path,
    store: str | Path | None = None,
    run: str | None = None,
    responses: str | Path | None = None,
    ground_truth: str | Path | None = None,
    rounds: int = 1000,
    seed: int = 0,
    capability: str | Path | None = None,
    judge_error_rate: float | None = None,
    consistency: str = "clean",
    judge_validation: dict[str, Any] | None = None,
    command: str = "",
) -> AnalysisResult:
    """`culturalign analyze`: a run of the store or an imported response table, written to `output`."""
    if (store is None) == (responses is None):
        raise DataError("give either --store (with an optional --run) or --responses FILE, not both or neither")
    counts: dict[str, int] = {}
    if responses is not None:
        table = load_response_table(responses)
    elif store is not None:
        store_path = Path(store)
        if not store_path.exists():
            raise DataError(f"run store not found: {store_path}")
        with RunStore(store_path) as opened:
            info = opened.run(run)
            table, counts = responses_from_store(opened, info.run_id)
            if judge_validation is None:
                judge_validation = judge_validation_of_run(opened, info.run_id)
    truth, humans, source = ground_truth_and_humans(ground_truth)
    cap = load_capability(capability, table["model"].unique().to_list()) if capability else None
    result = analyze_responses(
        table,
        truth,
        rounds=rounds,
        seed=seed,
        capability=cap,
        judge_error_rate=judge_error_rate,
        consistency=consistency,
        human_consistency=humans,
        judge_validation=judge_validation,
        ground_truth_source=source,
        command=command,
    )
    if counts:
        result.manifest["store_counts"] = counts
    write_outputs(result, output)
    return result


def reproduce(
    *,
    data: str | Path,
    output: str | Path,
    seed: int = 0,
    reruns: int = 0,
    fresh_baselines: bool = False,
    command: str = "",
) -> AnalysisResult:
    """`culturalign reproduce multilingual-multicultural`: the released chain and its tables
    (the comparison with the paper is in `extra_tables["paper_comparison"]`)."""
    if reruns < 0:
        raise DataError("--reruns must be 0 or more")
    result = reproduce_paper(data, seed=seed, reruns=reruns, fresh_baselines=fresh_baselines, command=command)
    write_outputs(result, output)
    return result
