"""Every call a `vsm` run will make, for `--dry-run`: translation of the wording, then generation.

Generation is counted exactly for small plans (answers already in the store as cached); a large
plan is counted by arithmetic from one repeat, since repeats differ only in their sample index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from culturalign.estimate import PlannedCalls, planned_from_requests
from culturalign.translation.stage import pending_requests

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.store.db import RunStore

EXACT_UP_TO = 20_000


def count(experiment: Experiment, limit: int | None, store: RunStore | None) -> list[PlannedCalls]:
    from culturalign.probes.vsm.instrument import load_wording
    from culturalign.probes.vsm.stages import _instrument_files, build_requests
    from culturalign.probes.vsm.translate import translation_job

    settings, config = experiment.settings, experiment.config
    limit = limit if limit is not None else config.limit
    files: list[str | Path] = list(_instrument_files(experiment))
    wording = load_wording(files)
    planned: list[PlannedCalls] = []
    if settings.translator is not None:
        job = translation_job(wording, config.languages, settings.translator)
        planned += planned_from_requests("translate", pending_requests(job), store)
    one_repeat = build_requests(
        experiment.model_copy(update={"settings": settings.model_copy(update={"repeats": 1})}), wording
    )
    total = len(one_repeat) * settings.repeats
    if limit is None and total > EXACT_UP_TO:
        return planned + _scaled(one_repeat, settings.repeats, _asked_once(experiment))
    requests = build_requests(experiment, wording)
    return planned + planned_from_requests("generate", requests if limit is None else requests[:limit], store)


def _asked_once(experiment: Experiment) -> set[str]:
    """Models in answer mode `scored`: deterministic, asked once whatever `repeats` says."""
    from culturalign.probes.answer_modes import modes_by_model

    modes = modes_by_model(experiment.settings, experiment.config.models)
    return {name for name, mode in modes.items() if mode == "scored"}


def _scaled(one_repeat: list, repeats: int, asked_once: set[str]) -> list[PlannedCalls]:
    rows = planned_from_requests("generate", one_repeat)
    for row in rows:
        if row.model.name in asked_once:
            continue
        row.requests *= repeats
        row.input_tokens *= repeats
        row.output_tokens *= repeats
    return rows
