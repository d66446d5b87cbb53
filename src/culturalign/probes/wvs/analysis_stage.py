"""The analyze stage of the `wvs` probe: the clean analysis of a run into OUTPUT/analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from culturalign import __version__
from culturalign.errors import DataError
from culturalign.models.base import ModelSpec
from culturalign.probes.registry import AnalysisSummary, RunContext
from culturalign.probes.wvs.analysis.from_store import nothing_survived, responses_from_store
from culturalign.probes.wvs.analysis.outputs import write_outputs
from culturalign.probes.wvs.analysis.pipeline import analyze_responses
from culturalign.probes.wvs.analysis.run_analysis import ground_truth_and_humans, judge_validation_of_run
from culturalign.probes.wvs.judge.quality import default_judge_name
from culturalign.probes.wvs.judging import OFFLINE_JUDGE_BACKEND, JudgeResult, quality_summary
from culturalign.tables import write_json, write_table_pair

STAGE = "analyze"


def judge_validation(ctx: RunContext) -> list[dict[str, Any]]:
    """The measured quality of the run's judges: as the judge stage reported it, or as the store's labels say."""
    judged = ctx.result("judge", JudgeResult)
    if judged is not None and judged.quality:
        return list(judged.quality)
    recorded = judge_validation_of_run(ctx.store, ctx.run_id)
    if recorded:
        return list(recorded["quality"])
    # Nothing recorded: the judges the experiment names, or the offline default the judge stage uses.
    judges = list(ctx.config.judges) or [ModelSpec(name=default_judge_name(), backend=OFFLINE_JUDGE_BACKEND)]
    return [quality_summary(j) for j in judges]


def analyze_stage(ctx: RunContext) -> AnalysisSummary:
    """Build the response table from the run, analyse it with the clean definitions, write the tables."""
    quality = judge_validation(ctx)
    empty = nothing_survived(ctx.store, ctx.run_id)
    if empty is not None:
        # Nothing to analyse: say why and what to change, in the console and in a report of its own.
        return _write_responses_only(ctx, pl.DataFrame(), {}, quality, f"nothing to analyse: {empty}", "no responses")
    table, counts = responses_from_store(ctx.store, ctx.run_id)
    try:
        truth, humans, source = ground_truth_and_humans(ctx.config.ground_truth)
    except DataError as exc:
        if ctx.config.ground_truth not in ("", "published"):
            raise  # a ground-truth file the user named must be right
        return _write_without_ground_truth(ctx, table, counts, quality, str(exc))
    result = analyze_responses(
        table,
        truth,
        seed=ctx.config.seed,
        judge_error_rate=ctx.config.judge_error_rate,
        human_consistency=humans,
        judge_validation={"quality": quality} if quality else None,
        ground_truth_source=source,
        command=f"culturalign run (stage {STAGE})",
    )
    result.manifest["store_counts"] = counts
    out = ctx.output_dir / "analysis"
    write_outputs(result, out)
    return AnalysisSummary(folder=out, responses=table.height, groups=result.alignment.height, notes=result.notes)


def _write_without_ground_truth(
    ctx: RunContext, table: pl.DataFrame, counts: dict[str, int], quality: list[dict[str, Any]], reason: str
) -> AnalysisSummary:
    """Offline and without the published tables: keep the run whole, say what is missing and how to get it.

    Alignment needs survey ground truth; the scored responses are written so that
    `culturalign analyze --store ...` can finish the job once the tables are at hand."""
    out = ctx.output_dir / "analysis"
    store = Path(ctx.experiment.store_path)
    note = (
        f"no alignment: the published ground-truth tables could not be fetched ({reason}). "
        f"Fetch them once with `culturalign groundtruth fetch` (or build them from your survey file with "
        f"`culturalign groundtruth build`), then run `culturalign analyze --store {store} --output {out}` "
        f"and `culturalign report {out} -o {ctx.output_dir / 'report'}`"
    )
    return _write_responses_only(ctx, table, counts, quality, note, "unavailable")


def _write_responses_only(
    ctx: RunContext,
    table: pl.DataFrame,
    counts: dict[str, int],
    quality: list[dict[str, Any]],
    note: str,
    ground_truth_source: str,
) -> AnalysisSummary:
    """An analysis folder without alignment: the responses there are, and a note saying why and what to do."""
    out = ctx.output_dir / "analysis"
    write_table_pair(table, out, "responses")
    manifest = {
        "probe": "wvs",
        "command": f"culturalign run (stage {STAGE})",
        "seed": ctx.config.seed,
        "ground_truth_source": ground_truth_source,
        "judge_validation": {"quality": quality} if quality else None,
        "n_responses": table.height,
        "package_version": __version__,
        "store_counts": counts,
        "notes": [note],
        "files": ["responses.csv", "responses.parquet"],
    }
    write_json(out / "manifest.json", manifest, sort_keys=True)
    return AnalysisSummary(folder=out, responses=table.height, groups=0, notes=[note])
