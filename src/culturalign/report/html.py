"""Rendering report sections into one self-contained HTML page.

jinja2 autoescapes every value: section text, table cells and example responses are data,
never markup, and the template marks nothing as safe. Images are inlined as base64 PNG
data URLs (built here from our own files), so the page opens offline and fetches nothing.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from culturalign.report.sections import Example, Section

TEMPLATE_NAME = "report.html.j2"
_LABEL_CLASSES = {"pro": "pro", "con": "con", "null": "null"}  # anything else renders as "other"
MAX_TABLE_ROWS = 2000


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str  # what the sort script compares: a plain number or the text
    numeric: bool


@dataclass(frozen=True)
class TableView:
    title: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    truncated_from: int | None = None


@dataclass(frozen=True)
class FigureView:
    title: str
    caption: str
    data_url: str
    svg_name: str | None


@dataclass(frozen=True)
class PartView:
    text: str
    label: str
    label_class: str


@dataclass(frozen=True)
class ExampleView:
    model: str
    language: str
    prompt: str
    note: str
    parts: list[PartView]


@dataclass
class SectionView:
    anchor: str
    title: str
    paragraphs: list[str]
    headline: list[tuple[str, str]]
    warnings: list[str]
    figures: list[FigureView]
    tables: list[TableView]
    examples: dict[str, list[ExampleView]] = field(default_factory=dict)


@dataclass
class ReportPage:
    title: str
    subtitle: str
    summary_line: str
    provenance: list[tuple[str, str]]
    config_text: str
    sections: list[SectionView]
    notices: list[str] = field(default_factory=list)  # before every section: interim run, failing judge


def format_value(value: Any, column: str = "") -> Cell:
    """Numbers rounded for reading but sorted by their full value; p-values in a readable form."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("", "", False)
    if isinstance(value, bool):
        return Cell(str(value).lower(), str(int(value)), True)
    if isinstance(value, int):
        return Cell(str(value), str(value), True)
    if isinstance(value, float):
        if column.lower() in {"p", "p_value", "pvalue"}:
            text = "< 0.001" if value < 0.001 else f"{value:.3f}"
        elif value != 0 and abs(value) < 0.001:
            text = f"{value:.1e}"
        else:
            text = f"{value:.3f}"
        return Cell(text, repr(value), True)
    return Cell(str(value), str(value), False)


def table_view(title: str, caption: str, df: pl.DataFrame) -> TableView:
    shown = df.head(MAX_TABLE_ROWS)
    rows = [[format_value(v, c) for c, v in zip(shown.columns, row, strict=True)] for row in shown.iter_rows()]
    return TableView(title, caption, list(df.columns), rows, df.height if df.height > MAX_TABLE_ROWS else None)


def png_data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def example_view(example: Example) -> ExampleView:
    parts = [
        PartView(
            text=part.text,
            label=part.label or "unlabelled",
            label_class=_LABEL_CLASSES.get((part.label or "").lower(), "other"),
        )
        for part in example.parts
    ]
    return ExampleView(example.model, example.language, example.prompt, example.note, parts)


def section_view(index: int, section: Section) -> SectionView:
    examples: dict[str, list[ExampleView]] = {}
    for example in section.examples:
        examples.setdefault(example.model, []).append(example_view(example))
    return SectionView(
        anchor=f"s{index}",
        title=section.title,
        paragraphs=list(section.paragraphs),
        headline=list(section.headline),
        warnings=list(section.warnings),
        figures=[
            FigureView(f.title, f.caption, png_data_url(f.png), f.svg.name if f.svg is not None else None)
            for f in section.figures
        ],
        tables=[table_view(t.title, t.caption, t.data) for t in section.tables],
        examples=examples,
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every file, whatever its name: nothing a model wrote may become markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def script_hash(template_source: str) -> str:
    """The CSP hash of the template's one inline script, so the browser runs it and nothing else.

    Even if some text slipped through unescaped, an injected script or event handler would be
    refused by the page's Content-Security-Policy.
    """
    scripts = re.findall(r"<script>(.*?)</script>", template_source, flags=re.DOTALL)
    if len(scripts) != 1:
        raise RuntimeError(f"{TEMPLATE_NAME} must hold exactly one inline script, found {len(scripts)}")
    digest = hashlib.sha256(scripts[0].encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_page(page: ReportPage) -> str:
    env = _environment()
    source = (Path(__file__).parent / "templates" / TEMPLATE_NAME).read_text(encoding="utf-8")
    return env.get_template(TEMPLATE_NAME).render(page=page, script_hash=script_hash(source))
