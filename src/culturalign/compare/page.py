"""compare.html: the comparison in the report's style (same template, autoescaping and CSP)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from culturalign.compare import figures
from culturalign.errors import DataError
from culturalign.report.html import ReportPage, render_page, section_view
from culturalign.report.sections import Figure, Section, Table
from culturalign.report.style import save_figure
from culturalign.tables import write_text

PAGE = "compare.html"
FIGURES = "figures"


def _draw(section: Section, directory: Path, stem: str, title: str, caption: str, draw: Callable) -> None:
    try:
        png, svg = save_figure(draw(), directory, stem)
    except DataError as exc:
        section.paragraphs.append(f"{title}: not drawn ({exc}).")
        return
    section.figures.append(Figure(title=title, png=png, svg=svg, caption=caption))


def overview(result) -> Section:
    section = Section(title="How the comparison was made")
    section.paragraphs.append(
        "Every pair of models measured in the same language (vsm: prompt condition) is compared by a paired "
        "bootstrap: each round draws the units both were measured on (wvs items with all their responses, vsm "
        "country personas, statements) with replacement, and recomputes both models from that one draw. "
        f"Intervals are 95% percentile intervals over {result.manifest['rounds']} rounds; p-values are two-sided, "
        "from the bootstrap standard error of the paired difference (Student's t on the number of units minus one). "
        "Holm's correction: in the table of every paired difference over all pairs and cells of a probe; for the "
        "leaderboard's marker over the comparisons with the best of each language (or condition); for the steps "
        "between neighbours over the steps of each language (family-wise error 5% in each family)."
    )
    for probe, text in result.manifest["measures"].items():
        section.paragraphs.append(f"{probe}: {text}.")
    unpaired = result.estimates.filter(pl.col("resampling").str.starts_with("unpaired"))
    if unpaired.height:
        section.warnings.append(
            "Unpaired comparison (the models share no unit) in: "
            + ", ".join(sorted({f"{r['probe']} {r['cell']}" for r in unpaired.iter_rows(named=True)}))
            + ". Each model's units were resampled on their own; such differences mix item and model effects."
        )
    if result.notes:
        section.paragraphs.append("Notes: " + "; ".join(result.notes) + ".")
    return section


def probe_section(result, probe: str, figures_dir: Path) -> Section:
    section = Section(title=f"{probe}: leaderboard and paired differences")
    board = result.leaderboard.filter(pl.col("probe") == probe)
    for (cell,), part in sorted(board.group_by("cell"), key=lambda kv: kv[0]):
        best = part.filter(pl.col("rank") == 1).row(0, named=True)
        tied = part.filter(pl.col("marker") == figures.TIED).height
        section.headline.append(
            (
                f"{probe} {cell}: best",
                f"{best['entry']}: {_ci(best)}, n = {best['n']} {best['unit']}s; "
                f"{tied} other(s) not distinguishable from it",
            )
        )
    _draw(
        section,
        figures_dir,
        f"leaderboard_{probe}",
        f"{probe} leaderboard",
        "Points: estimate; bars: 95% bootstrap intervals; filled: best or not distinguishable from the best by the "
        "paired test (Holm-corrected), hollow: behind the best.",
        lambda: figures.leaderboard_figure(result.leaderboard, probe),
    )
    section.tables.append(Table(title=f"{probe} leaderboard", data=board))
    adjacent = result.adjacent.filter(pl.col("probe") == probe)
    if adjacent.height:
        section.tables.append(
            Table(
                title=f"{probe}: each model against the next one down",
                data=adjacent,
                caption="difference = upper minus lower; distinguishable: Holm-adjusted p < 0.05.",
            )  # fmt: skip
        )
    section.tables.append(
        Table(title=f"{probe}: every paired difference", data=result.pairs.filter(pl.col("probe") == probe))
    )
    return section


def _ci(row: dict) -> str:
    if row["estimate"] is None:
        return "not estimable"
    if row["ci_low"] is None:
        return f"{row['estimate']:.3f}"
    return f"{row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def diff_section(result) -> Section | None:
    if result.diff is None:
        return None
    section = Section(title="What changed between the two runs")
    diff = result.diff
    beyond = diff.filter(pl.col("verdict") == "beyond noise")
    section.headline.append(
        ("Changes beyond noise", f"{beyond.height} of {diff.height} model × language/condition cells (Holm, 5%)")
    )
    section.paragraphs.append(
        "change = second run minus first, paired over the units both runs share; p-values Holm-corrected over this table."
    )
    section.tables.append(Table(title="Run-to-run differences", data=diff))
    return section


def methods_section(result, figures_dir: Path) -> Section | None:
    if result.methods is None:
        return None
    from culturalign.compare.methods import WHAT_DIFFERS

    section = Section(title="The methods side by side")
    section.paragraphs.append(WHAT_DIFFERS)
    if result.methods.is_empty():
        section.paragraphs.append(
            "No model was measured by two methods in three or more languages, and no language had three or more "
            "models measured by two methods, so no rank agreement could be computed."
        )
        return section
    _draw(
        section,
        figures_dir,
        "methods_agreement",
        "Rank agreement between methods",
        "Kendall's tau-b; bars: 95% bootstrap intervals (vsm values taken as fixed).",
        lambda: figures.methods_figure(result.methods),
    )
    section.tables.append(Table(title="Kendall's tau between methods", data=result.methods))
    return section


def write_page(result, out: Path) -> Path:
    figures_dir = out / FIGURES
    sections = [overview(result)]
    sections += [probe_section(result, probe, figures_dir) for probe in sorted(result.draws)]
    sections += [s for s in (diff_section(result), methods_section(result, figures_dir)) if s is not None]
    page = ReportPage(
        title="culturalign comparison",
        subtitle="Which model is more aligned, where, and is the difference beyond noise?",
        summary_line=" · ".join(f"{s.label} ({s.probe})" for s in result.sources),
        provenance=[(k, str(v)) for k, v in result.manifest.items() if not isinstance(v, dict | list)],
        config_text="",
        sections=[section_view(i, s) for i, s in enumerate(sections, start=1)],
    )
    return write_text(out / PAGE, render_page(page))
