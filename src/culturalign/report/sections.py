"""What a probe hands the report: sections of text, figures, tables and example responses.

Each probe declares `report_sections(source: ReportSource) -> list[Section]` in its `Probe`;
the HTML report renders any probe's sections the same way, with autoescaping, so nothing a
model wrote can run in the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from culturalign.store.db import RunStore


@dataclass(frozen=True)
class ReportSource:
    """What a probe's report sections are made from: its analysis folder, and the run store when given."""

    analysis_dir: Path
    figures_dir: Path  # where the sections draw their figures
    store: RunStore | None = None
    run_id: str | None = None  # None: the run the analysis names (manifest), else the store's latest
    covariates: Path | None = None  # a user's table of model/country traits (probes whose Probe.report_covariates)


@dataclass(frozen=True)
class Figure:
    title: str
    png: Path
    svg: Path | None = None
    caption: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    data: pl.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class LabelledSpan:
    """A piece of model output with the label a judge or parser gave it (shown as text, escaped)."""

    text: str
    label: str | None = None


@dataclass(frozen=True)
class Example:
    """One model response, as text, with its parts and their labels."""

    model: str
    language: str
    prompt: str
    parts: tuple[LabelledSpan, ...]
    note: str = ""


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)  # plain text, escaped on render
    headline: list[tuple[str, str]] = field(default_factory=list)  # (label, value with its uncertainty)
    warnings: list[str] = field(default_factory=list)  # e.g. a judge whose measured agreement is poor
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
