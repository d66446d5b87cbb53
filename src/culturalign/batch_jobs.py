"""`culturalign batch export` and `batch import`: a model's requests as a portable batch file.

    from culturalign.batch_jobs import export_batch, import_batch
    export_batch("exp.toml", model="gemma-2-9b-it", output="requests.jsonl")
    # elsewhere: vllm run-batch -i requests.jsonl -o answers.jsonl --model ...
    import_batch("exp.toml", "answers.jsonl")
    # then `culturalign run exp.toml` carries on from the stored answers

The file is the JSONL that OpenAI's Batch API and `vllm run-batch` read, one request a line,
`custom_id` being the request's store key. Export never calls a model; import needs only the
store, and importing the same file twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from culturalign.config import Experiment, load_experiment
from culturalign.engine import batch_files
from culturalign.engine.batch_files import ImportCounts
from culturalign.engine.batching import BatchExported, ExportTarget, exporting
from culturalign.errors import DataError, UserError
from culturalign.store.db import RunStore


@dataclass(frozen=True)
class ExportResult:
    model: str
    path: Path | None  # None when the model had nothing pending
    requests: int
    stage: str | None


def _experiment(path_or_experiment: str | Path | Experiment) -> Experiment:
    if isinstance(path_or_experiment, Experiment):
        return path_or_experiment
    return load_experiment(path_or_experiment)


def export_batch(
    path_or_experiment: str | Path | Experiment, *, model: str, output: str | Path, show_progress: bool = False
) -> ExportResult:
    """Write the pending requests of `model` (the first stage that has any) to `output`."""
    from culturalign.run import run_experiment

    experiment = _experiment(path_or_experiment)
    names = [m.name for m in (*experiment.config.models, *experiment.config.judges)]
    if model not in names:
        raise UserError(f"--model {model!r} is not in the experiment; its models and judges: {', '.join(names)}")
    output = Path(output)
    if output.exists() and not output.is_file():
        raise UserError(f"-o {output} is a folder; name a .jsonl file")
    target = ExportTarget(model_name=model, path=output)
    try:
        with exporting(target):
            run_experiment(experiment, show_progress=show_progress)
    except BatchExported:
        return ExportResult(model=model, path=target.path, requests=target.written, stage=target.stage)
    return ExportResult(model=model, path=None, requests=0, stage=None)


def import_batch(path_or_experiment: str | Path | Experiment, file: str | Path) -> ImportCounts:
    """Store every answer of a batch output file under its request's key."""
    experiment = _experiment(path_or_experiment)
    file = Path(file)
    if not file.is_file():
        raise UserError(f"{file} is not a file; give the output JSONL of the batch run")
    if not experiment.store_path.is_file():
        raise DataError(
            f"{experiment.store_path} does not exist: no batch was exported from this experiment;"
            " run `culturalign batch export` first"
        )
    with RunStore(experiment.store_path) as store:
        return batch_files.store_outputs(store, batch_files.output_file_records(file), str(file))
