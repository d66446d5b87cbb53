"""The `wvs` probe: hypothetical surveys, judged per interviewee, compared with the World Values Survey.

Stages, in order: generate, parse, judge, analyze, report. The last three live in modules
owned elsewhere; they are resolved by import string when their stage runs, so a missing
module fails only that stage.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from culturalign.probes.registry import Probe, RunContext, Stage, register_probe
from culturalign.probes.wvs.counts import count
from culturalign.probes.wvs.generate import generate_stage, plan, translation_job
from culturalign.probes.wvs.parse import parse_stage
from culturalign.probes.wvs.settings import WVSSettings

# Judging asks the judge once per kept response (a guess used by --dry-run estimates).
JUDGE_CALLS_PER_RESPONSE = 1.0


def deferred_stage(target: str) -> Callable[[RunContext], None]:
    """A stage function imported from "module:function" only when the stage runs."""

    def run(ctx: RunContext) -> None:
        from culturalign.run import StageUnavailable

        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                raise StageUnavailable(f"this version has no {module_name} ({target}); the stage cannot run") from None
            raise
        getattr(module, attr)(ctx)

    run.__name__ = f"deferred[{target}]"
    run.target = target  # type: ignore[attr-defined]
    return run


PROBE = register_probe(
    Probe(
        name="wvs",
        description="Distributional alignment with the World Values Survey through hypothetical surveys",
        settings_model=WVSSettings,
        stages=(
            Stage("generate", generate_stage, "ask every model the sampled survey prompts"),
            Stage("parse", parse_stage, "split answers into interview summaries; keep or drop them"),
            Stage("judge", deferred_stage("culturalign.probes.wvs.judging:judge_stage"), "label each summary"),
            Stage("analyze", deferred_stage("culturalign.probes.wvs.analysis_stage:analyze_stage"), "alignment"),
            Stage("report", deferred_stage("culturalign.report.build:report_stage"), "figures and the HTML report"),
        ),
        plan=plan,
        followup_calls_per_request=JUDGE_CALLS_PER_RESPONSE,
        count=count,
        translations=translation_job,
    )
)

__all__ = ["PROBE", "WVSSettings", "deferred_stage"]
