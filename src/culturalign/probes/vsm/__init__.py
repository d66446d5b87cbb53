"""The `vsm` probe: Hofstede's Values Survey Module 2013 answered under country personas in many
languages, scored into six dimensions and compared with Hofstede's published country scores
(Sukiennik et al., "An Evaluation of Cultural Value Alignment in LLM")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.probes.registry import Probe, Stage, register_probe
from culturalign.probes.vsm import stages
from culturalign.probes.vsm.counts import count
from culturalign.probes.vsm.settings import VsmSettings

if TYPE_CHECKING:
    from culturalign.report.sections import ReportSource, Section


def report_sections(source: ReportSource) -> list[Section]:
    # Imported when a report is made: its figures need matplotlib, which a run without a report never loads.
    from culturalign.probes.vsm.report_sections import report_sections as sections

    return sections(source)


PROBE = register_probe(
    Probe(
        name="vsm",
        description="VSM 2013 under country personas; dimension gaps, deviation ratio and rankings",
        settings_model=VsmSettings,
        stages=(
            Stage("translate", stages.translate, "wording into every prompt language (files, reviewed or translator)"),
            Stage("generate", stages.generate, "one call per model x country x language x item x repeat"),
            Stage("parse", stages.parse, "read the chosen option 1-5 out of each answer"),
        ),
        plan=stages.plan,
        count=count,
        analyze=stages.analyze,  # dimension scores, gaps, deviation ratio, rankings, bootstrap
        report_sections=report_sections,
        report_covariates=True,
        translations=stages.translations,
    )
)

analysis_stage = stages.analyze

__all__ = ["PROBE", "VsmSettings", "analysis_stage"]
