"""The `wvs` probe as the registry sees it: settings, plan, stages, analysis, report sections.

Stages, in order: generate, parse, judge; then the analysis and the report. The judge, the
analysis and the report need the heavy libraries (statsmodels, scipy, matplotlib): their
modules are imported when they run, so validating an experiment or a dry run stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.probes.registry import AnalysisSummary, Probe, RunContext, Stage, StageResult, register_probe
from culturalign.probes.wvs.counts import count
from culturalign.probes.wvs.generate import generate_stage, plan, translation_job
from culturalign.probes.wvs.parse import parse_stage
from culturalign.probes.wvs.settings import WVSSettings

if TYPE_CHECKING:
    from culturalign.report.sections import ReportSource, Section

# Judging asks the judge once per kept response (a guess used by --dry-run estimates).
JUDGE_CALLS_PER_RESPONSE = 1.0


def judge_stage(ctx: RunContext) -> StageResult:
    from culturalign.probes.wvs.judging import judge_stage as judge

    return judge(ctx)


def analyze_stage(ctx: RunContext) -> AnalysisSummary:
    from culturalign.probes.wvs.analysis_stage import analyze_stage as analyze

    return analyze(ctx)


def report_sections(source: ReportSource) -> list[Section]:
    from culturalign.probes.wvs.report_sections import report_sections as sections

    return sections(source)


PROBE = register_probe(
    Probe(
        name="wvs",
        description="Distributional alignment with the World Values Survey through hypothetical surveys",
        settings_model=WVSSettings,
        stages=(
            Stage("generate", generate_stage, "ask every model the sampled survey prompts"),
            Stage("parse", parse_stage, "split answers into interview summaries; keep or drop them"),
            Stage("judge", judge_stage, "label each summary"),
        ),
        plan=plan,
        followup_calls_per_request=JUDGE_CALLS_PER_RESPONSE,
        count=count,
        analyze=analyze_stage,  # alignment with the survey, consistency, regressions
        report_sections=report_sections,
        translations=translation_job,
    )
)
