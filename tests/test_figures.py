"""Each figure is drawn from a small analysis and saved as a valid PNG of sane size and a valid SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure as MplFigure
from PIL import Image

from culturalign.errors import DataError
from culturalign.probes.wvs.report import figures as F
from culturalign.probes.wvs.report import supplement_figures as S
from culturalign.report.style import (
    OKABE_ITO,
    family_colours,
    save_figure,
    significance_mark,
)
from test_report_fakes import (
    MODELS,
    fake_alignment,
    fake_consistency,
    fake_ground_truth,
    fake_rq1,
    fake_us_bias,
    fake_us_gap,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(11)
    return {
        "alignment": fake_alignment(rng),
        "consistency": fake_consistency(rng),
        "rq1": fake_rq1(rng),
        "us_bias": fake_us_bias(rng),
        "ground_truth": fake_ground_truth(rng),
        "us_gap": fake_us_gap(rng),
        "human": pl.DataFrame({"population": ["DK", "US", "NL"], "self_consistency": [0.66, 0.84, 0.75]}),
        "capability": pl.DataFrame(
            [
                {"model": m, "language": lang, "score": 30.0 + 7 * i + 3 * j}
                for i, m in enumerate(MODELS)
                for j, lang in enumerate(["da", "en", "nl", "pt"])
            ]
        ),
    }


FIGURES: dict[str, Callable[[dict[str, pl.DataFrame]], MplFigure]] = {
    "rq1": lambda t: F.rq1_coefficients_figure(t["rq1"]),
    "ground_truth": lambda t: F.ground_truth_correlation_figure(t["ground_truth"]),
    "consistency": lambda t: F.self_consistency_figure(t["consistency"], t["human"]),
    "capability": lambda t: F.capability_alignment_figure(t["alignment"], t["consistency"], t["capability"], t["rq1"]),
    "us_bias": lambda t: F.us_bias_figure(t["us_bias"], MODELS),
    "population": lambda t: S.population_alignment_figure(t["alignment"], "en"),
    "us_gap": lambda t: S.us_gap_figure(t["us_gap"]),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_is_a_valid_png_and_svg(name: str, tables: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    png, svg = save_figure(FIGURES[name](tables), tmp_path, name)
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(png) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    # Paper width at 200 dpi is about 1400 px; a figure far off that is unreadable or huge.
    assert 500 <= width <= 2000, width
    assert 250 <= height <= 3000, height
    assert colours is not None and len(colours) > 50  # drawn, not a blank canvas
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert float(root.get("width", "0").rstrip("pt")) > 100
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_same_data_gives_the_same_svg(tables: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    first = save_figure(F.us_bias_figure(tables["us_bias"], MODELS), tmp_path / "a", "f")[1].read_bytes()
    second = save_figure(F.us_bias_figure(tables["us_bias"], MODELS), tmp_path / "b", "f")[1].read_bytes()
    assert first == second


def test_empty_tables_are_a_one_line_data_error(tables: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(DataError, match="no rows"):
        F.us_bias_figure(tables["us_bias"].head(0))
    with pytest.raises(DataError, match="no rows"):
        S.population_alignment_figure(tables["alignment"], "xx")
    with pytest.raises(DataError, match="misses the column"):
        F.self_consistency_figure(tables["consistency"].drop("ci_low"), None)


def test_ground_truth_correlations_are_pearson_over_shared_items() -> None:
    truth = pl.DataFrame(
        {
            "population_kind": ["country"] * 12,
            "population": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
            "item": ["q1", "q2", "q3", "q4"] * 3,
            "vps": [0.1, 0.4, 0.5, 0.9, 0.2, 0.8, 1.0, 1.8, 0.9, 0.5, 0.4, None],
        }
    )
    corr = F.ground_truth_correlations(truth)
    assert corr["population"].to_list() == ["A", "B", "C"]
    a_b = corr.filter(pl.col("population") == "A")["B"][0]
    assert a_b == pytest.approx(1.0)  # B = 2 A: perfectly correlated
    a_c = corr.filter(pl.col("population") == "A")["C"][0]
    assert a_c == pytest.approx(np.corrcoef([0.1, 0.4, 0.5], [0.9, 0.5, 0.4])[0, 1])  # q4 missing for C


def test_adjusted_alignment_subtracts_the_consistency_term(tables: dict[str, pl.DataFrame]) -> None:
    out = F.adjusted_alignment(tables["alignment"], tables["consistency"], tables["capability"], tables["rq1"])
    assert out.height == len(MODELS) * 4
    row = out.filter((pl.col("model") == "gpt-4o") & (pl.col("language") == "da")).row(0, named=True)
    beta = tables["rq1"].filter(pl.col("term") == "consistency:language[da]")["coef"][0]
    cons = tables["consistency"].filter((pl.col("model") == "gpt-4o") & (pl.col("language") == "da"))["mean"][0]
    assert row["adjusted"] == pytest.approx(row["alignment"] - beta * cons)


def test_capability_terms_leave_out_consistency(tables: dict[str, pl.DataFrame]) -> None:
    terms = F.capability_terms(tables["rq1"])
    assert terms.height == 12
    assert not terms["term"].str.contains("consistency").any()


def test_palette_is_fixed_per_family_and_distinct() -> None:
    colours = family_colours(["openai", "gemma", "olmo", "mistral", "qwen"])
    assert colours["openai"] == OKABE_ITO["blue"]
    assert colours["gemma"] == OKABE_ITO["bluish_green"]
    assert len(set(colours.values())) == 5
    assert family_colours(["qwen", "mistral"]) == {"mistral": colours["mistral"], "qwen": colours["qwen"]}


def test_model_styles_order_members_by_size() -> None:
    styles = F.model_styles({"gemma-2-27b-it": "gemma", "gemma-2-2b-it": "gemma", "gemma-2-9b-it": "gemma"})
    assert [styles[m][1] for m in ("gemma-2-2b-it", "gemma-2-9b-it", "gemma-2-27b-it")] == ["o", "s", "^"]


@pytest.mark.parametrize(
    ("p", "mark"), [(0.0001, "***"), (0.004, "**"), (0.03, "*"), (0.2, ""), (None, ""), (float("nan"), "")]
)
def test_significance_marks(p: float | None, mark: str) -> None:
    assert significance_mark(p) == mark


def test_missing_estimates_are_left_out_not_drawn_as_zero(tables: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    consistency = tables["consistency"].with_columns(pl.lit(None, dtype=pl.Float64).alias("mean"))
    with pytest.raises(DataError, match="no rows"):
        F.self_consistency_figure(consistency, None)
    # Unknown intervals (too few rows to bootstrap) and intervals that miss the estimate still draw.
    odd = tables["alignment"].with_columns(
        pl.when(pl.col("model") == "gpt-4o").then(None).otherwise(pl.col("ci_low")).alias("ci_low"),
        pl.when(pl.col("model") == "gemma-2-2b-it")
        .then(pl.col("mean") - 0.01)
        .otherwise(pl.col("ci_high"))
        .alias("ci_high"),
    )
    png, _ = save_figure(S.population_alignment_figure(odd, "da"), tmp_path, "odd")
    assert png.stat().st_size > 10_000
