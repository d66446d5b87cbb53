"""What a probe hands the report: sections of text, figures, tables and example responses.

Each probe exposes `report_sections(analysis_dir: Path, store: RunStore | None) -> list[Section]`
(in its own package); the HTML report renders any probe's sections the same way, with
autoescaping, so nothing a model wrote can run in the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


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
    notices: list[str] = field(default_factory=list)  # shown at the top of the report, before every section
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
