"""Every call a `statements` run will make, for `--dry-run`: translation, relevance, polarity, evaluation.

Relevance is exact. Polarity and evaluation depend on the votes, so they are counted as an
upper bound: every (statement, dimension) pair found relevant, every statement scored. With a
labels file the labelling stages ask nothing and only the scored statements are evaluated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from culturalign.estimate import PlannedCalls, planned_from_requests
from culturalign.translation.stage import pending_requests

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.store.db import RunStore


def count(experiment: Experiment, limit: int | None, store: RunStore | None) -> list[PlannedCalls]:
    from culturalign.probes.statements.evaluate import evaluation_requests
    from culturalign.probes.statements.labelling import (
        experiment_frames,
        experiment_statements,
        labelling_requests,
        labels_file,
        load_labels,
    )
    from culturalign.probes.statements.translate import translation_job

    limit = limit if limit is not None else experiment.config.limit

    def cut(requests: list[Request]) -> list[Request]:
        return requests if limit is None else requests[:limit]

    statements = experiment_statements(experiment)
    frames = experiment_frames(experiment)
    planned: list[PlannedCalls] = []
    planned += planned_from_requests("translate", pending_requests(translation_job(experiment, statements)), store)
    path = labels_file(experiment)
    if path is None:
        for task in ("relevance", "polarity"):
            planned += planned_from_requests(task, cut(labelling_requests(experiment, statements, frames, task)), store)
    else:
        scored = load_labels(path).filter(pl.col("scored"))["statement_id"].to_list()
        statements = statements.filter(pl.col("statement_id").is_in(sorted(set(scored))))
    planned += planned_from_requests("evaluate", cut(evaluation_requests(experiment, statements, frames)), store)
    return planned
