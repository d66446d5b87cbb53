"""Running an experiment: the library function behind `culturalign run` (usable from Python).

    from culturalign.run import run_experiment
    result = run_experiment("examples/quickstart.toml", limit=8)

Before anything starts, every backend is checked (known backend, key variable set, server
reachable); a problem is one UserError naming the field, and no run is opened. Then the
store is opened, the run started or resumed, and the probe's stages run in order.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from culturalign.config import Experiment, load_experiment
from culturalign.engine.summary import run_summary as engine_run_summary
from culturalign.errors import BackendError, UserError
from culturalign.models.base import ModelSpec
from culturalign.models.registry import get_backend
from culturalign.probes.registry import Probe, RunContext, get_probe
from culturalign.store.db import RunStore

# A judge's reply (a short JSON list of labels) and its prompt beyond the response itself.
JUDGE_OUTPUT_TOKENS = 60
JUDGE_PROMPT_OVERHEAD_TOKENS = 250


class StageUnavailable(UserError):
    """A stage whose code is not part of this installation: the run stops before it, keeping all before."""


@dataclass
class RunResult:
    store_path: Path
    output_dir: Path
    dry_run: bool = False
    run_id: str | None = None
    stages: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # "stage: why" for stages that could not run
    notes: dict[str, Any] = field(default_factory=dict)
    summary: pl.DataFrame = field(default_factory=pl.DataFrame)  # engine.summary.run_summary
    estimate: pl.DataFrame = field(default_factory=pl.DataFrame)  # engine.summary.estimate, plus judge rows
    report_path: Path | None = None

    @property
    def estimated_cost_usd(self) -> float | None:
        if self.estimate.is_empty():
            return None
        priced = self.estimate["cost_usd_est"].drop_nulls()
        return float(priced.sum()) if priced.len() else None


def run_experiment(
    path_or_experiment: str | Path | Experiment,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    show_progress: bool = True,
) -> RunResult:
    """Run (or, with dry_run, only plan and price) an experiment; resumes an unfinished run."""
    experiment = (
        path_or_experiment if isinstance(path_or_experiment, Experiment) else load_experiment(path_or_experiment)
    )
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive number of requests, got {limit}")
    probe = get_probe(experiment.config.probe)
    result = RunResult(store_path=experiment.store_path, output_dir=experiment.output_dir, dry_run=dry_run)
    if dry_run:
        check_backends(experiment, contact=False)
        result.estimate = estimate_run(experiment, probe, limit)
        return result

    check_backends(experiment, contact=True)
    probe.plan(experiment)  # bad items, codebook or translations stop here, before a run is opened
    config = experiment.as_dict()
    with RunStore(experiment.store_path) as store:
        run_id = store.start_run(experiment.config.name, probe.name, config)
        result.run_id = run_id
        ctx = RunContext(
            experiment=experiment,
            store=store,
            run_id=run_id,
            output_dir=experiment.output_dir,
            show_progress=show_progress,
            limit=limit,
            notes=result.notes,
        )
        try:
            for stage in probe.stages:
                try:
                    stage.run(ctx)
                except StageUnavailable as exc:
                    # Later stages build on this one: stop here, keep what is done.
                    result.unavailable.append(f"{stage.name}: {exc}")
                    break
                result.stages.append(stage.name)
        except KeyboardInterrupt:
            store.finish_run(run_id, status="interrupted")
            raise
        except BaseException as exc:
            store.failed(exc)  # a damaged store gets no "failed" mark: nothing more is written to it
            store.finish_run(run_id, status="failed")
            raise
        store.finish_run(run_id, status="incomplete" if result.unavailable else "done")
        result.summary = engine_run_summary(store, run_id)
    result.report_path = _report_path(result)
    return result


# -- checks before a run ------------------------------------------------------------------
def experiment_models(experiment: Experiment) -> Iterator[tuple[str, ModelSpec]]:
    """Every model an experiment may call, with the field that configures it."""
    for i, spec in enumerate(experiment.config.models):
        yield f"models[{i}]", spec
    for i, spec in enumerate(experiment.config.judges):
        yield f"judges[{i}]", spec
    translator = getattr(experiment.settings, "translator", None)
    if isinstance(translator, ModelSpec):
        yield f"[{experiment.config.probe}] translator", translator


def check_backends(experiment: Experiment, *, contact: bool = True) -> None:
    """Raise BackendError naming the field of the first model that cannot work.

    `contact` also asks each backend to check itself (server reachable, weights present);
    dry runs skip that, so they never touch a server."""
    for where, spec in experiment_models(experiment):
        try:
            backend = get_backend(spec)
        except BackendError as exc:
            raise BackendError(f"{where}.backend: {exc}") from None
        if spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise BackendError(
                f"{where}.api_key_env: the environment variable {spec.api_key_env} is not set; "
                f"export it (the key is never written to a file)"
            )
        if contact:
            asyncio.run(_check_one(backend, where))


async def _check_one(backend: Any, where: str) -> None:
    try:
        await backend.check()
    except UserError as exc:
        raise BackendError(f"{where}: {exc}") from None
    except Exception as exc:  # a check that crashes is as much a stop as one that reports
        raise BackendError(f"{where}: the backend check failed ({type(exc).__name__}: {exc})") from None
    finally:
        await backend.aclose()


# -- dry-run estimate ------------------------------------------------------------------------
def estimate_run(experiment: Experiment, probe: Probe, limit: int | None = None) -> pl.DataFrame:
    """Calls, tokens and (where prices are set) cost per model, before anything is asked.

    Generation requests are counted by the engine's estimate (answers already in the store
    count as cached); each judge adds one call per generated response, sized by that
    response's output bound plus the judge's prompt, assuming every response is kept (an
    upper bound, like the output tokens)."""
    from culturalign.engine.summary import estimate

    requests = probe.plan(experiment)
    if limit is not None:
        requests = requests[:limit]
    store = RunStore(experiment.store_path) if experiment.store_path.exists() else None
    try:
        generation = estimate(requests, 0.0, store)
    finally:
        if store is not None:
            store.close()
    asked = int(generation["calls"].sum()) if generation.height else 0
    output_bound = int(generation["output_tokens_max"].sum()) if generation.height else 0
    judge_rows = []
    for judge in experiment.config.judges:
        calls = round(asked * probe.followup_calls_per_request)
        tokens_in = output_bound + calls * JUDGE_PROMPT_OVERHEAD_TOKENS
        tokens_out = calls * (judge.params.max_tokens or JUDGE_OUTPUT_TOKENS)
        judge_rows.append(
            {
                "model": judge.name,
                "backend": judge.backend,
                "requests": calls,
                "cached": 0,
                "calls": calls,
                "input_tokens_est": tokens_in,
                "output_tokens_max": tokens_out,
                "cost_usd_est": _cost(judge, tokens_in, tokens_out),
            }
        )
    if not judge_rows:
        return generation
    return pl.concat([generation, pl.DataFrame(judge_rows, schema=generation.schema)], how="vertical")


def _cost(spec: ModelSpec, tokens_in: int, tokens_out: int) -> float | None:
    if spec.price_input_per_mtok is None and spec.price_output_per_mtok is None:
        return None
    return (tokens_in * (spec.price_input_per_mtok or 0) + tokens_out * (spec.price_output_per_mtok or 0)) / 1e6


# -- after a run ---------------------------------------------------------------------------------
def _report_path(result: RunResult) -> Path | None:
    note = result.notes.get("report")
    if isinstance(note, dict) and note.get("path"):
        return Path(note["path"])
    if isinstance(note, str | Path):
        return Path(note)
    default = result.output_dir / "report.html"
    return default if "report" in result.stages and default.exists() else None
