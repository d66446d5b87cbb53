"""Rendering the report: sections, provenance and the manifest's definitions into one HTML file.

A pure renderer: it knows nothing of probes, stages or the run store's layout. It gets the
sections a probe made (`report.sections`), the analysis manifest and the run's record, copies
the figures into `figures/` beside the page and writes `report.html` (self-contained).
Finding the analysis and asking the probe for its sections is `culturalign.reports`.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from culturalign import __version__
from culturalign.report.html import ReportPage, render_page, section_view
from culturalign.report.provenance import MANIFEST_NAME
from culturalign.report.sections import Figure, Section, Table
from culturalign.store.db import RunInfo
from culturalign.tables import write_text

REPORT_FILE = "report.html"
FIGURES_DIR = "figures"
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
    "judge_error_rate_source": "Where that error rate comes from",
}


def gather_figures(sections: list[Section], figures_dir: Path) -> list[Section]:
    """Copy figures a probe drew elsewhere into the report's figures folder (PNG and SVG)."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    for section in sections:
        moved = []
        for figure in section.figures:
            png = _into(figure.png, figures_dir)
            svg = _into(figure.svg, figures_dir) if figure.svg is not None else None
            moved.append(Figure(title=figure.title, png=png, svg=svg, caption=figure.caption))
        section.figures = moved
    return sections


def _into(path: Path, folder: Path) -> Path:
    """The file in `folder`, copied there when it lies elsewhere."""
    if path.parent.resolve() == folder.resolve():
        return path
    shutil.copy2(path, folder / path.name)
    return folder / path.name


def definitions_section(manifest: dict[str, Any]) -> Section | None:
    definitions = manifest.get("definitions")
    if not isinstance(definitions, dict) or not definitions:
        return None
    table = pl.DataFrame({"term": [str(k) for k in definitions], "definition": [str(v) for v in definitions.values()]})
    return Section(title="Definitions", tables=[Table(title="How each number is defined", data=table)])


FINISHED = "done"


def run_status(run: RunInfo | None, finishing: bool) -> str:
    """The run's status as the report states it: a run whose last step is writing this report is done."""
    if run is None:
        return ""
    return FINISHED if finishing and run.status == "running" else run.status


def interim_notice(run: RunInfo | None, status: str) -> str | None:
    """A sentence at the top of a report written before its run finished, else None."""
    if run is None or status == FINISHED:
        return None
    if status == "running":
        return (
            f"Interim report: run {run.name} is still going. The numbers below cover only the answers stored "
            "so far and will change; write the report again when the run has finished."
        )
    return (
        f"Interim report: run {run.name} stopped before it finished (status {status}). The numbers below cover "
        "only the answers stored so far; run the same experiment again to resume it, then write the report again."
    )


def provenance_rows(
    manifest: dict[str, Any], run: RunInfo | None, analysis_dir: Path, status: str = ""
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if run is not None:
        status = status or run.status
        ended = run.ended_at or ("with this report, its last step" if status == FINISHED else "not finished")
        rows += [
            ("Run", f"{run.name} ({run.run_id}), status {status}"),
            ("Run started", run.started_at),
            ("Run ended", ended),
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


def summary_line(manifest: dict[str, Any], run: RunInfo | None, analysis_dir: Path, status: str = "") -> str:
    bits = [
        f"run {run.name} ({status or run.status})" if run else "no run store given",
        f"analysed {analysed_at(manifest, analysis_dir)}",
        f"culturalign {manifest.get('package_version', __version__)}",
    ]
    return " · ".join(bits)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def render_report(
    probe: str,
    sections: list[Section],
    manifest: dict[str, Any],
    run: RunInfo | None,
    analysis_dir: Path,
    out_dir: Path,
    closing: list[Section] | None = None,
    finishing: bool = False,
) -> Path:
    """Write `out_dir`/report.html (and its figures) from a probe's sections, then the manifest's
    definitions, then `closing` (e.g. the run's calls and cost); returns the page's path.
    A report of a run that has not finished says at the top that it is interim; `finishing`
    means this report is the run's own last step, so the run is done once it is written."""
    figures_dir = out_dir / FIGURES_DIR
    sections = gather_figures(sections, figures_dir)
    extra = definitions_section(manifest)
    if extra is not None:
        sections.append(extra)
    sections.extend(closing or [])
    status = run_status(run, finishing)
    interim = interim_notice(run, status)
    notices = ([interim] if interim else []) + [n for s in sections for n in s.notices]
    page = ReportPage(
        title=f"culturalign report{' (interim)' if interim else ''}: {probe}" + (f", run {run.name}" if run else ""),
        subtitle=f"What the {probe} probe measured, each number with its uncertainty, and how it was made.",
        summary_line=summary_line(manifest, run, analysis_dir, status),
        provenance=provenance_rows(manifest, run, analysis_dir, status),
        notices=notices,
        config_text=json.dumps(run.config, indent=2, ensure_ascii=False, default=str) if run else "",
        sections=[section_view(i, s) for i, s in enumerate(sections, start=1)],
    )
    target = out_dir / REPORT_FILE
    write_text(target, render_page(page))
    return target
