"""`judge validate` as a library call: judge the reference responses with a candidate or a
model, compare with the hand labels, write the summary (JSON) and the aligned labels (CSV)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from culturalign.config import load_experiment
from culturalign.errors import UserError
from culturalign.judge.stance import JudgeVerdict
from culturalign.models.base import ModelSpec
from culturalign.paths import cache_subdir
from culturalign.probes.wvs.judge.candidates import get_candidate, known_candidates
from culturalign.probes.wvs.judge.reference import (
    ReferenceResponse,
    align,
    load_reference_labels,
    load_responses,
    reference_responses,
    write_aligned,
)
from culturalign.probes.wvs.judge.run import prepare, run_model_judges
from culturalign.probes.wvs.judge.validate import ValidationReport, confusion_table, validate_aligned
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.store.db import RunStore
from culturalign.tables import write_json

Statements = Callable[[str], tuple[str, str]]


@dataclass
class ValidationOutcome:
    report: ValidationReport
    aligned: pl.DataFrame
    files: list[Path]


def codebook_statements(codebook_path: Path | None = None) -> Statements:
    """The English pro/con statements of each item (the judge prompt is English throughout)."""
    codebook = load_codebook(codebook_path)

    def statements(item: str) -> tuple[str, str]:
        entry = codebook.item(item)
        return entry.pro_statement("en"), entry.con_statement("en")

    return statements


def find_model(judge: str, experiment_path: Path | None) -> ModelSpec | None:
    if experiment_path is None:
        return None
    config = load_experiment(experiment_path).config
    for spec in [*config.judges, *config.models]:
        if spec.name == judge:
            return spec
    return None


def check_judge_name(judge: str, model: ModelSpec | None) -> None:
    if model is None and judge not in known_candidates():
        raise UserError(
            f"unknown judge {judge!r}: use a candidate ({', '.join(known_candidates())}) "
            "or name a model of the experiment given with --experiment"
        )


def judge_references(
    references: Sequence[ReferenceResponse], judge: str, model: ModelSpec | None = None, show_progress: bool = True
) -> list[JudgeVerdict]:
    """Verdicts for the reference responses from a named candidate or a model spec."""
    if model is None:
        check_judge_name(judge, model)
        return get_candidate(judge).judge_tasks([r.task for r in references])
    prepared = {r.response_id: prepare(r.task) for r in references}
    with RunStore(cache_subdir("judge-validation") / "judgements.sqlite") as store:
        run_id = store.start_run(f"judge-validation-{model.name}", "judge-validation", {"judge": model.identity()})
        verdicts = run_model_judges(store, run_id, "judge", prepared, [model], show_progress=show_progress)
        store.finish_run(run_id)
    return [verdicts[r.response_id][model.name] for r in references]


def validate_judge(
    labels_path: Path,
    responses_path: Path,
    judge: str,
    *,
    experiment_path: Path | None = None,
    output_dir: Path | None = None,
    rounds: int = 1000,
    seed: int = 0,
    statements: Statements | None = None,
    show_progress: bool = True,
) -> ValidationOutcome:
    model = find_model(judge, experiment_path)
    check_judge_name(judge, model)
    labels = load_reference_labels(labels_path)
    references = reference_responses(labels, load_responses(responses_path), statements or codebook_statements())
    verdicts = judge_references(references, judge, model, show_progress=show_progress)
    aligned = align(labels, references, verdicts)
    report = validate_aligned(aligned, judge, rounds=rounds, seed=seed)
    files: list[Path] = []
    if output_dir is not None:
        stem = _safe_stem(judge)
        files.append(write_json(output_dir / f"judge-validation-{stem}.json", report.as_dict()))
        files.append(write_aligned(aligned, output_dir / f"judge-validation-{stem}-labels.csv"))
        files.append(
            write_aligned(confusion_table(report.confusion), output_dir / f"judge-validation-{stem}-confusion.csv")
        )
    return ValidationOutcome(report=report, aligned=aligned, files=files)


def _safe_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
