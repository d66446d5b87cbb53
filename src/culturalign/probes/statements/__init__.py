"""The `statements` probe: debate statements labelled on Hofstede's dimensions by several
judges in several languages, then agreed or disagreed with by the models under test.

Stages, in order: translate (only with a translator), relevance, polarity (labelling; skipped when a labelled set is given),
evaluate; then the analysis and the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.probes.registry import Probe, Stage, register_probe
from culturalign.probes.statements.analysis import analysis_stage
from culturalign.probes.statements.counts import count
from culturalign.probes.statements.evaluate import evaluate_stage, evaluation_requests
from culturalign.probes.statements.labelling import (
    experiment_frames,
    experiment_statements,
    labelling_requests,
    labels_file,
    polarity_stage,
    relevance_stage,
)
from culturalign.probes.statements.settings import StatementsSettings
from culturalign.probes.statements.translate import translate_stage, translation_job

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.report.sections import ReportSource, Section


def plan(experiment: Experiment) -> list[Request]:
    """The calls a run may send: every relevance question, and (an upper bound, since labelling
    decides which statements are scored) every evaluation request. Polarity calls depend on
    the relevance votes and are not counted."""
    frames = experiment_frames(experiment)
    statements = experiment_statements(experiment)
    requests = (
        [] if labels_file(experiment) is not None else labelling_requests(experiment, statements, frames, "relevance")
    )
    requests += evaluation_requests(experiment, statements, frames)
    return requests[: experiment.config.limit] if experiment.config.limit else requests


def report_sections(source: ReportSource) -> list[Section]:
    # Imported when a report is made: its figures need matplotlib, which a run without a report never loads.
    from culturalign.probes.statements.report_sections import report_sections as sections

    return sections(source)


PROBE = register_probe(
    Probe(
        name="statements",
        description="Debate statements scored on Hofstede's six dimensions",
        settings_model=StatementsSettings,
        stages=(
            Stage("translate", translate_stage, "translate statements into the languages they are asked in"),
            Stage("relevance", relevance_stage, "judges vote whether each statement bears on each dimension"),
            Stage("polarity", polarity_stage, "judges give the polarity of agreeing with each relevant pair"),
            Stage("evaluate", evaluate_stage, "models argue for and against, then agree or disagree"),
        ),
        plan=plan,
        count=count,
        analyze=analysis_stage,  # profiles, group view, language-effect test
        report_sections=report_sections,
        translations=translation_job,
    )
)

__all__ = ["PROBE", "StatementsSettings", "analysis_stage", "plan"]
