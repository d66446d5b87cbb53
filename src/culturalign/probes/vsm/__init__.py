"""The `vsm` probe: Hofstede's Values Survey Module 2013 answered under country personas in many
languages, scored into six dimensions and compared with Hofstede's published country scores
(Sukiennik et al., "An Evaluation of Cultural Value Alignment in LLM")."""

from culturalign.probes.registry import Probe, RunContext, Stage, register_probe
from culturalign.probes.vsm import stages
from culturalign.probes.vsm.counts import count
from culturalign.probes.vsm.settings import VsmSettings


def _report(ctx: RunContext) -> None:
    # Imported when the stage runs: the report package is only needed at the end.
    from culturalign.report.build import report_stage

    report_stage(ctx)


PROBE = register_probe(
    Probe(
        name="vsm",
        description="VSM 2013 under country personas; dimension gaps, deviation ratio and rankings",
        settings_model=VsmSettings,
        stages=(
            Stage("translate", stages.translate, "wording into every prompt language (files, reviewed or translator)"),
            Stage("generate", stages.generate, "one call per model x country x language x item x repeat"),
            Stage("parse", stages.parse, "read the chosen option 1-5 out of each answer"),
            Stage("analyze", stages.analyze, "dimension scores, gaps, deviation ratio, rankings, bootstrap"),
            Stage("report", _report, "figures and the HTML report"),
        ),
        plan=stages.plan,
        count=count,
        translations=stages.translations,
    )
)

# The report builder analyses a stored run on the fly through this name.
analysis_stage = stages.analyze

__all__ = ["PROBE", "VsmSettings", "analysis_stage"]
