"""A run's report: find (or make) its analysis, ask its probe for the sections, render them.

`build_report` takes an analysis folder or a run store; with a store and no analysis folder
recorded for the run, the probe's analysis runs on the fly. The probe's `report_sections`
make the sections from the analysis files; `report.build.render_report` writes
`report.html` (self-contained) plus `figures/` (PNG and SVG) into the output folder.
`report_stage` is the report step of `culturalign run`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from culturalign.config import parse_experiment
from culturalign.engine.summary import run_usage, total_cost
from culturalign.errors import ConfigError, DataError, UserError
from culturalign.probes.registry import Probe, ReportResult, RunContext, get_probe
from culturalign.report.build import FIGURES_DIR, render_report
from culturalign.report.covariates import load_covariates
from culturalign.report.provenance import MANIFEST_NAME, load_manifest
from culturalign.report.sections import ReportSource, Section, Table
from culturalign.store.db import RunInfo, RunStore

STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


# -- finding the analysis ----------------------------------------------------------------------
def is_store_path(source: Path) -> bool:
    return source.suffix.lower() in STORE_SUFFIXES


def _manifest_run_id(analysis_dir: Path) -> str | None:
    try:
        return load_manifest(analysis_dir).get("run_id")
    except DataError:
        return None


def recorded_analysis_dir(store: RunStore, run: RunInfo) -> Path | None:
    """The analysis folder `culturalign run` wrote for this run, if it can still be found.

    The run's config records its output folder (absolute, or relative to where the experiment
    ran); without one the default sits beside the store, named after the run.
    """
    output = run.config.get("output")
    bases = [Path.cwd(), store.path.parent, store.path.parent.parent]
    candidates: list[Path] = []
    if output:
        candidates += [Path(output)] if Path(output).is_absolute() else [b / output for b in bases]
    candidates.append(store.path.parent / run.name)
    for folder in candidates:
        analysis = folder / "analysis"
        if (analysis / MANIFEST_NAME).is_file() and _manifest_run_id(analysis) in (None, run.run_id):
            return analysis
    return None


def analyse_on_the_fly(store: RunStore, run: RunInfo, out_dir: Path) -> Path:
    """Run the probe's analysis for a stored run, as `culturalign run` would, writing into `out_dir`/analysis."""
    analyze = get_probe(run.probe).analyze
    if analyze is None:
        raise DataError(
            f"no analysis found for run {run.run_id} and probe {run.probe!r} cannot analyse on the fly; "
            "run `culturalign analyze` first and pass its folder"
        )
    ctx = RunContext(
        experiment=parse_experiment(dict(run.config)),
        store=store,
        run_id=run.run_id,
        output_dir=out_dir,
        show_progress=False,
    )
    analysis = analyze(ctx).folder
    if not (analysis / MANIFEST_NAME).is_file():
        raise DataError(f"the analysis of run {run.run_id} wrote no {MANIFEST_NAME}; check the run has judged answers")
    return analysis


# -- entry points --------------------------------------------------------------------------------
def build_report(
    source: Path,
    out_dir: Path,
    *,
    store: RunStore | None = None,
    run_id: str | None = None,
    covariates: Path | None = None,
) -> Path:
    """Write `out_dir`/report.html from an analysis folder or a run store; returns its path.

    A store argument (or a .sqlite source) adds the run's configuration, times and example
    responses; a store without an analysis folder recorded for the run is analysed on the fly.
    """
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise UserError(f"{source} does not exist; give an analysis folder (with {MANIFEST_NAME}) or a run store")
    if covariates is not None:
        load_covariates(covariates)  # a bad table fails before anything is written
    own_store = store is None and is_store_path(source)
    if own_store:
        store = RunStore(source)
    created = not out_dir.exists()
    try:
        return _build(source, out_dir, store, run_id, covariates)
    except BaseException:
        if created:  # a failed report leaves nothing behind that it made itself
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        if own_store and store is not None:
            store.close()


def _build(source: Path, out_dir: Path, store: RunStore | None, run_id: str | None, covariates: Path | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    run: RunInfo | None = None
    if is_store_path(source):
        assert store is not None
        run = store.run(run_id)
        analysis_dir = recorded_analysis_dir(store, run) or analyse_on_the_fly(store, run, out_dir)
    elif source.is_dir():
        analysis_dir = source
    else:
        raise UserError(f"{source} is neither an analysis folder nor a run store (.sqlite)")
    manifest = load_manifest(analysis_dir)
    if store is not None and run is None:
        wanted = run_id or manifest.get("run_id")
        try:
            run = store.run(wanted)
        except DataError:
            run = None  # a store without this run still gives nothing wrong: the report says so
    probe = str(manifest.get("probe") or (run.probe if run else ""))
    if not probe:
        raise DataError(f"{analysis_dir / MANIFEST_NAME} names no probe; rerun the analysis")
    source_of_sections = ReportSource(
        analysis_dir=analysis_dir,
        figures_dir=out_dir / FIGURES_DIR,
        store=store,
        run_id=run.run_id if run else run_id,
        covariates=covariates,
    )
    sections = probe_sections(probe, source_of_sections)
    closing = [usage_section(store, run)] if store is not None and run is not None else []
    return render_report(probe, sections, manifest, run, analysis_dir, out_dir, closing)


def probe_sections(probe_name: str, source: ReportSource) -> list[Section]:
    try:
        probe: Probe | None = get_probe(probe_name)
    except ConfigError:
        probe = None
    if probe is None or probe.report_sections is None:
        raise DataError(
            f"probe {probe_name!r} named in {MANIFEST_NAME} has no report sections; check the manifest's probe field"
        )
    if source.covariates is not None and not probe.report_covariates:
        raise DataError(f"a covariates table is only used by the vsm report, not by the {probe_name} probe")
    return probe.report_sections(source)


def usage_section(store: RunStore, run: RunInfo) -> Section:
    """Calls, tokens and money per stage and model, from what the store recorded."""
    usage = run_usage(store, run.run_id)
    cost = total_cost(usage)
    table = usage.select(
        "stage",
        "model",
        "requests",
        "cached",
        "asked",
        "answered",
        "failed",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    )
    spent = "no prices set in the experiment" if cost is None else f"${cost:,.4f} at the prices the experiment sets"
    return Section(
        title="Calls, tokens and cost",
        paragraphs=[
            f"Tokens as the servers reported them; cost {spent}. An answer reused from the store's cache "
            "was paid for when it was first asked."
        ],
        tables=[Table(title="Per stage and model", data=table)],
    )


def report_stage(ctx: RunContext, analysis_dir: Path) -> ReportResult:
    """The report step of `culturalign run`: the report of this run's analysis, in output/report."""
    path = build_report(analysis_dir, ctx.output_dir / "report", store=ctx.store, run_id=ctx.run_id)
    return ReportResult(path=path)
