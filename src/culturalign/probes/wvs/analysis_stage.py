"""The analyze stage of the `wvs` probe: the clean analysis of a run into OUTPUT/analysis."""

from __future__ import annotations

from typing import Any

from culturalign.analysis.from_store import responses_from_store
from culturalign.analysis.outputs import write_outputs
from culturalign.analysis.pipeline import analyze_responses
from culturalign.analysis.run_analysis import ground_truth_and_humans
from culturalign.probes.registry import RunContext

STAGE = "analyze"


def judge_validation(ctx: RunContext) -> list[dict[str, Any]]:
    """The measured quality of the run's judges (as the judge stage reports it), or [] if unknown."""
    judge_notes = ctx.notes.get("judge")
    if isinstance(judge_notes, dict) and judge_notes.get("quality"):
        return list(judge_notes["quality"])
    try:
        from culturalign.judge.quality import default_judge_name, judge_quality
        from culturalign.probes.wvs.judging import EMBEDDED_BACKEND
    except ImportError:
        return []
    names = [j.model if j.backend == EMBEDDED_BACKEND and j.model else j.name for j in ctx.config.judges]
    return [judge_quality(name).summary() for name in (names or [default_judge_name()])]


def analyze_stage(ctx: RunContext) -> None:
    """Build the response table from the run, analyse it with the clean definitions, write the tables."""
    table, counts = responses_from_store(ctx.store, ctx.run_id)
    truth, humans, source = ground_truth_and_humans(ctx.config.ground_truth)
    quality = judge_validation(ctx)
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
    write_outputs(result, ctx.output_dir / "analysis")
    ctx.notes[STAGE] = {
        "responses": table.height,
        "groups": result.alignment.height,
        "notes": result.notes,
    }
