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


def render_report(
    probe: str,
    sections: list[Section],
    manifest: dict[str, Any],
    run: RunInfo | None,
    analysis_dir: Path,
    out_dir: Path,
    closing: list[Section] | None = None,
) -> Path:
    """Write `out_dir`/report.html (and its figures) from a probe's sections, then the manifest's
    definitions, then `closing` (e.g. the run's calls and cost); returns the page's path."""
    figures_dir = out_dir / FIGURES_DIR
    sections = gather_figures(sections, figures_dir)
    extra = definitions_section(manifest)
    if extra is not None:
        sections.append(extra)
    sections.extend(closing or [])
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
