"""The analyze stage of the `wvs` probe: the clean analysis of a run into OUTPUT/analysis."""

from __future__ import annotations

from typing import Any

from culturalign.analysis.from_store import responses_from_store
from culturalign.analysis.outputs import write_outputs
from culturalign.analysis.pipeline import analyze_responses
from culturalign.analysis.run_analysis import ground_truth_and_humans
from culturalign.probes.registry import RunContext

STAGE = "analyze"


def analyze_stage(ctx: RunContext) -> None:
    """Build the response table from the run, analyse it with the clean definitions, write the tables."""
    table, counts = responses_from_store(ctx.store, ctx.run_id)
    truth, humans, source = ground_truth_and_humans(ctx.config.ground_truth)
    judge_notes: dict[str, Any] = ctx.notes.get("judge", {}) if isinstance(ctx.notes.get("judge"), dict) else {}
    result = analyze_responses(
        table,
        truth,
        seed=ctx.config.seed,
        judge_error_rate=ctx.config.judge_error_rate,
        human_consistency=humans,
        judge_validation={"quality": judge_notes.get("quality")} if judge_notes.get("quality") else None,
        ground_truth_source=source,
        command=f"culturalign run (stage {STAGE})",
    )
    result.manifest["store_counts"] = counts
    write_outputs(result, ctx.output_dir / "analysis")
    ctx.notes[STAGE] = {
        "responses": table.height,
        "groups": result.alignment.height,
        "notes": result.notes,
    }
