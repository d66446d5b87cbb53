"""The `wvs` probe: hypothetical surveys, judged per interviewee, compared with the World Values Survey.

Stages, in order: generate, parse, judge; then the analysis (`analysis_stage`) and the report
(`report_sections`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.probes.registry import Probe, Stage, register_probe
from culturalign.probes.wvs.analysis_stage import analyze_stage
from culturalign.probes.wvs.generate import generate_stage, plan
from culturalign.probes.wvs.judging import judge_stage
from culturalign.probes.wvs.parse import parse_stage
from culturalign.probes.wvs.settings import WVSSettings

if TYPE_CHECKING:
    from culturalign.report.sections import ReportSource, Section

# Judging asks the judge once per kept response (a guess used by --dry-run estimates).
JUDGE_CALLS_PER_RESPONSE = 1.0


def report_sections(source: ReportSource) -> list[Section]:
    # Imported when a report is made: its figures need matplotlib, which a run without a report never loads.
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
        analyze=analyze_stage,  # alignment with the survey, consistency, regressions
        report_sections=report_sections,
    )
)

__all__ = ["PROBE", "WVSSettings"]
