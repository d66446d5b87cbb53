"""Running an experiment: the library function behind `culturalign run` (usable from Python).

    from culturalign.run import run_experiment
    result = run_experiment("examples/quickstart.toml", limit=8)

Before anything starts, every backend is checked (known backend, key variable set, server
reachable); a problem is one UserError naming the field, and no run is opened. Then the
store is opened, the run started or resumed, the probe's stages run in order (each one's
typed result recorded in the store), then the probe's analysis and, unless told not to, the
report.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from culturalign.config import Experiment, load_experiment
from culturalign.engine.batching import BatchExported
from culturalign.engine.summary import open_existing_store, run_usage
from culturalign.errors import BackendError, UserError
from culturalign.estimate import estimate_run
from culturalign.models.base import ModelSpec
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND, get_backend
from culturalign.paths import check_output_dir, check_output_file
from culturalign.probes.registry import (
    AnalysisSummary,
    ParseCounts,
    Probe,
    ReportResult,
    RunContext,
    StageResult,
    get_probe,
)
from culturalign.reports import report_stage
from culturalign.store.db import RunStore
from culturalign.store.stats import endpoint_summary

# The steps after a probe's stages, by the names a run reports them under.
ANALYZE = "analyze"
REPORT = "report"


@dataclass
class RunResult:
    store_path: Path
    output_dir: Path
    dry_run: bool = False
    run_id: str | None = None
    stages: list[str] = field(default_factory=list)
    results: dict[str, StageResult] = field(default_factory=dict)  # each step's typed result, by name
    summary: pl.DataFrame = field(default_factory=pl.DataFrame)  # engine.summary.run_usage: tokens and cost
    endpoints: pl.DataFrame = field(default_factory=pl.DataFrame)  # store.stats.endpoint_summary
    estimate: pl.DataFrame = field(default_factory=pl.DataFrame)  # estimate.estimate_run: per stage and model
    report_path: Path | None = None

    @property
    def estimated_cost_usd(self) -> float | None:
        if self.estimate.is_empty():
            return None
        priced = self.estimate["cost_usd_est"].drop_nulls()
        return float(priced.sum()) if priced.len() else None

    @property
    def estimated_batch_cost_usd(self) -> float | None:
        """The same, with every priced openai model sent through its Batch API."""
        if self.estimate.is_empty() or "cost_usd_batch_est" not in self.estimate.columns:
            return None
        batch = self.estimate["cost_usd_batch_est"]
        if batch.drop_nulls().len() == 0:
            return None
        return float(batch.fill_null(self.estimate["cost_usd_est"]).drop_nulls().sum())


def run_experiment(
    path_or_experiment: str | Path | Experiment,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    show_progress: bool = True,
    batch: bool = False,
    report: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
) -> RunResult:
    """Run (or, with dry_run, only plan and price) an experiment; resumes an unfinished run.

    `batch` sends every openai model and judge through its provider's Batch API; the run is the
    same run as without it (resuming either way), since batching changes no answer. `report=False`
    stops after the analysis: no figures are drawn (`culturalign report STORE` makes them later).
    `engine` "ray" asks the models through a Ray cluster (`ray_address`, else RAY_ADDRESS, else
    a local instance): see engine/ray_engine.py. Only where answers come from changes."""
    from culturalign.engine.ray_engine import engine_scope

    with engine_scope(engine, ray_address, start=not dry_run):
        return _run_experiment(
            path_or_experiment,
            limit=limit,
            dry_run=dry_run,
            show_progress=show_progress,
            batch=batch,
            report=report,
        )


def _run_experiment(
    path_or_experiment: str | Path | Experiment,
    *,
    limit: int | None,
    dry_run: bool,
    show_progress: bool,
    batch: bool,
    report: bool,
) -> RunResult:
    experiment = (
        path_or_experiment if isinstance(path_or_experiment, Experiment) else load_experiment(path_or_experiment)
    )
    unbatched_config = experiment.as_dict()
    if batch:
        experiment = with_batch(experiment)
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive number of requests, got {limit}")
    probe = get_probe(experiment.config.probe)
    result = RunResult(store_path=experiment.store_path, output_dir=experiment.output_dir, dry_run=dry_run)
    check_locations(experiment)  # a store or output that cannot be written stops here, before any call
    if dry_run:
        check_backends(experiment, contact=False)
        result.estimate = estimate_run(experiment, probe, limit)
        return result

    check_backends(experiment, contact=True)
    probe.plan(experiment)  # bad items, codebook or translations stop here, before a run is opened
    config = unbatched_config
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
            results=result.results,
        )
        try:
            run_steps(ctx, probe, report=report, done=result.stages)
        except (KeyboardInterrupt, BatchExported):
            store.finish_run(run_id, status="interrupted")
            raise
        except BaseException as exc:
            store.failed(exc)  # a damaged store gets no "failed" mark: nothing more is written to it
            store.finish_run(run_id, status="failed")
            raise
        store.finish_run(run_id, status="done")
        result.summary = run_usage(store, run_id)
        result.endpoints = endpoint_summary(store, run_id)
    result.report_path = _report_path(result)
    return result


def run_steps(ctx: RunContext, probe: Probe, *, report: bool, done: list[str]) -> None:
    """The probe's stages, then its analysis, then the report; each result recorded as it comes."""
    for stage in probe.stages:
        ctx.record(stage.name, stage.run(ctx))
        done.append(stage.name)
    if probe.analyze is None:
        return
    analysis = probe.analyze(ctx)
    ctx.record(ANALYZE, analysis)
    done.append(ANALYZE)
    if report and probe.report_sections is not None:
        ctx.record(REPORT, report_stage(ctx, analysis.folder))
        done.append(REPORT)


def with_batch(experiment: Experiment) -> Experiment:
    """The experiment with `batch = true` on every model and judge of backend openai."""
    config = experiment.config.model_copy(
        update={
            field: [m.model_copy(update={"batch": True}) if m.backend == "openai" else m for m in specs]
            for field, specs in (("models", experiment.config.models), ("judges", experiment.config.judges))
        }
    )
    return experiment.model_copy(update={"config": config})


# -- checks before a run ------------------------------------------------------------------
def check_locations(experiment: Experiment) -> None:
    """The store must be a file that can be created or opened, the output a folder that can be
    written; a problem is one UserError naming the field. Creates nothing."""
    store = experiment.store_path
    if store.is_dir():
        raise UserError(f"store {store} is a folder; give the run store a file name, e.g. {store / 'run.sqlite'}")
    check_output_file(store, "store")
    check_output_dir(experiment.output_dir, "output")


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
    from culturalign.engine.ray_engine import current_cluster, on_vllm_engine

    for where, spec in experiment_models(experiment):
        if on_vllm_engine(spec, current_cluster()):
            continue  # Ray Data LLM loads the weights on the cluster's GPU nodes, not here
        if where.startswith("judges") and spec.backend == OFFLINE_JUDGE_BACKEND:
            _check_offline_judge(spec, where)
            continue
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


def _check_offline_judge(spec: ModelSpec, where: str) -> None:
    from culturalign.probes.wvs.judge.candidates import known_candidates

    if spec.model not in known_candidates():
        raise BackendError(
            f"{where}.model: an offline judge needs `model` = one of {', '.join(known_candidates())}"
            f"{'' if spec.model is None else f', not {spec.model!r}'}"
        )


async def _check_one(backend: Any, where: str) -> None:
    try:
        await backend.check()
    except UserError as exc:
        raise BackendError(f"{where}: {exc}") from None
    except Exception as exc:  # a check that crashes is as much a stop as one that reports
        raise BackendError(f"{where}: the backend check failed ({type(exc).__name__}: {exc})") from None
    finally:
        await backend.aclose()


# -- after a run ---------------------------------------------------------------------------------
def _report_path(result: RunResult) -> Path | None:
    made = result.results.get(REPORT)
    return made.path if isinstance(made, ReportResult) else None


# -- a stored run -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunView:
    """One stored run as `culturalign runs show` presents it."""

    run_id: str
    summary: pl.DataFrame  # engine.summary.run_usage
    endpoints: pl.DataFrame  # store.stats.endpoint_summary
    results: dict[str, StageResult]  # the summaries its stages recorded (those this version can read)


# The steps every probe shares, and the typed result each records; a probe's own stage
# summaries are shown by the probe, not here.
_SHARED_RESULTS: dict[str, type[StageResult]] = {
    "parse": ParseCounts,
    "analyze": AnalysisSummary,
    "report": ReportResult,
}


def show_run(store_path: str | Path, run_id: str | None = None) -> RunView:
    with open_existing_store(store_path) as store:
        info = store.run(run_id)
        summary = run_usage(store, info.run_id)
        endpoints = endpoint_summary(store, info.run_id)
        recorded = store.stage_results(info.run_id)
    results: dict[str, StageResult] = {}
    for stage, payload in recorded.items():
        model = _SHARED_RESULTS.get(stage)
        if model is None:
            continue
        try:
            results[stage] = model.model_validate(payload)
        except ValidationError:
            continue  # e.g. a probe whose parse stage reports something else
    return RunView(info.run_id, summary, endpoints, results)
