"""Building the report: from an analysis folder (or a run store) to one HTML file.

`build_report` finds the analysis, asks the analysis's probe for its sections
(`culturalign.probes.<probe>.report_sections`), adds provenance from the manifest and the
run store, and writes `report.html` (self-contained) plus `figures/` (PNG and SVG) into
the output folder. `report_stage` is the last stage of `culturalign run`.
"""

from __future__ import annotations

import importlib
import inspect
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from culturalign import __version__
from culturalign.errors import DataError, UserError
from culturalign.probes.registry import RunContext
from culturalign.report.html import ReportPage, render_page, section_view
from culturalign.report.provenance import MANIFEST_NAME, load_manifest
from culturalign.report.sections import Figure, Section, Table
from culturalign.store.db import RunInfo, RunStore
from culturalign.tables import write_text

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
_MANIFEST_LABELS = {
    "probe": "Probe",
    "package_version": "culturalign version (analysis)",
    "command": "Analysis command",
    "created_at": "Analysed at",
    "seed": "Seed",
    "rounds": "Bootstrap rounds",
    "ground_truth_source": "Ground truth",
    "ground_truth": "Ground truth",
    "judge_error_rate": "Judge error rate used for correction",
}


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
    """Run the probe's analysis stage for a stored run, writing into `out_dir`/analysis."""
    from culturalign.config import parse_experiment
    from culturalign.probes.registry import get_probe

    # The probe's own analysis stage, as `culturalign run` would call it.
    stage = next((s.run for s in get_probe(run.probe).stages if s.name in ("analyze", "analysis")), None)
    if stage is None:
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
    stage(ctx)
    analysis = Path(ctx.notes.get("analysis", out_dir / "analysis"))
    if not (analysis / MANIFEST_NAME).is_file():
        raise DataError(f"the analysis of run {run.run_id} wrote no {MANIFEST_NAME}; check the run has judged answers")
    return analysis


# -- sections and provenance ------------------------------------------------------------------
def probe_sections(
    probe: str,
    analysis_dir: Path,
    store: RunStore | None,
    figures_dir: Path,
    run_id: str | None,
    covariates: Path | None = None,
) -> list[Section]:
    """Ask the probe's `report_sections`; pass figures_dir and run_id to those that take them."""
    try:
        module = importlib.import_module(f"culturalign.probes.{probe}.report_sections")
    except ModuleNotFoundError:
        raise DataError(
            f"probe {probe!r} named in {MANIFEST_NAME} has no report sections; check the manifest's probe field"
        ) from None
    build: Callable[..., list[Section]] = module.report_sections
    accepted = inspect.signature(build).parameters
    extra = {
        k: v for k, v in (("figures_dir", figures_dir), ("run_id", run_id), ("covariates", covariates)) if k in accepted
    }
    if covariates is not None and "covariates" not in accepted:
        raise DataError(f"a covariates table is only used by the vsm report, not by the {probe} probe")
    return build(analysis_dir, store, **extra)


def gather_figures(sections: list[Section], figures_dir: Path) -> list[Section]:
    """Copy figures a probe drew elsewhere into the report's figures folder (PNG and SVG)."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    for section in sections:
        moved = []
        for figure in section.figures:
            files = {}
            for attr in ("png", "svg"):
                path: Path | None = getattr(figure, attr)
                if path is not None and path.parent.resolve() != figures_dir.resolve():
                    shutil.copy2(path, figures_dir / path.name)
                    path = figures_dir / path.name
                files[attr] = path
            moved.append(Figure(title=figure.title, png=files["png"], svg=files["svg"], caption=figure.caption))
        section.figures = moved
    return sections


def definitions_section(manifest: dict[str, Any]) -> Section | None:
    definitions = manifest.get("definitions")
    if not isinstance(definitions, dict) or not definitions:
        return None
    table = pl.DataFrame({"term": [str(k) for k in definitions], "definition": [str(v) for v in definitions.values()]})
    return Section(title="Definitions", tables=[Table(title="How each number is defined", data=table)])


def usage_section(store: RunStore, run: RunInfo) -> Section:
    """Calls, tokens and money per stage and model, from what the store recorded."""
    from culturalign.engine.summary import run_usage, total_cost

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


def provenance_rows(manifest: dict[str, Any], run: RunInfo | None, analysis_dir: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if run is not None:
        rows += [
            ("Run", f"{run.name} ({run.run_id}), status {run.status}"),
            ("Run started", run.started_at),
            ("Run ended", run.ended_at or "not finished"),
            ("culturalign version (run)", run.package_version),
        ]
    shown = set()
    if "created_at" not in manifest:
        rows.append(("Analysed at", analysed_at(manifest, analysis_dir)))
    for key, label in _MANIFEST_LABELS.items():
        if key in manifest and label not in shown and manifest[key] is not None:
            rows.append((label, _plain(manifest[key])))
            shown.add(label)
    for key, value in manifest.items():
        if key not in _MANIFEST_LABELS and not isinstance(value, dict | list) and value is not None:
            rows.append((key.replace("_", " "), _plain(value)))
    rows += [
        ("Analysis folder", str(analysis_dir)),
        ("Report written", f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC by culturalign {__version__}"),
    ]
    return rows


def analysed_at(manifest: dict[str, Any], analysis_dir: Path) -> str:
    """When the analysis was made: the manifest's own time, else when its manifest was written."""
    recorded = manifest.get("created_at")
    if recorded:
        return str(recorded)
    written = datetime.fromtimestamp((analysis_dir / MANIFEST_NAME).stat().st_mtime, UTC)
    return f"{written:%Y-%m-%d %H:%M} UTC"


def summary_line(manifest: dict[str, Any], run: RunInfo | None, analysis_dir: Path) -> str:
    bits = [
        f"run {run.name} ({run.status})" if run else "no run store given",
        f"analysed {analysed_at(manifest, analysis_dir)}",
        f"culturalign {manifest.get('package_version', __version__)}",
    ]
    return " · ".join(bits)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


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
        from culturalign.report.covariates import load_covariates

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
    figures_dir = out_dir / FIGURES_DIR
    sections = gather_figures(
        probe_sections(probe, analysis_dir, store, figures_dir, run.run_id if run else run_id, covariates), figures_dir
    )
    extra = definitions_section(manifest)
    if extra is not None:
        sections.append(extra)
    if store is not None and run is not None:
        sections.append(usage_section(store, run))
    page = ReportPage(
        title=f"culturalign report: {probe}" + (f", run {run.name}" if run else ""),
        subtitle=f"What the {probe} probe measured, each number with its uncertainty, and how it was made.",
        summary_line=summary_line(manifest, run, analysis_dir),
        provenance=provenance_rows(manifest, run, analysis_dir),
        config_text=json.dumps(run.config, indent=2, ensure_ascii=False, default=str) if run else "",
        sections=[section_view(i, s) for i, s in enumerate(sections, start=1)],
    )
    target = out_dir / REPORT_FILE
    write_text(target, render_page(page))
    return target


def report_stage(ctx: RunContext) -> None:
    """Last stage of `culturalign run`: the report of this run's analysis, in output/report."""
    path = build_report(ctx.output_dir / "analysis", ctx.output_dir / "report", store=ctx.store, run_id=ctx.run_id)
    ctx.notes["report"] = path
