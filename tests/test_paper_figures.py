"""The papers' missing figures in the probes' reports (vsm Fig. 2, 5, 6, per-language scores, both
ranking metrics, the radar's average line; statements Fig. 1), bad covariates files, and every new
figure rendering in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import exit_code, run_cli
from culturalign.reports import build_report
from test_report_browser import CHROMIUM, _chromium
from test_statements import _mock_experiment
from test_vsm_run import _experiment

VSM_FIGURES = {
    "vsm_fig2_scatter": "Model vs country scores (Fig. 2)",
    "vsm_fig5_origin": "US- vs China-origin models (Fig. 5)",
    "vsm_fig6_covariates": "Alignment against covariates (Fig. 6)",
    "vsm_language_scores": "Scores per prompt language",
    "vsm_model_metrics": "Model ranking by both metrics",
    "vsm_radar": "overall average",
}


@pytest.fixture(scope="module")
def vsm_analysis(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("vsm")
    assert exit_code("run", str(_experiment(root, shared_data, rounds=20)), "--no-progress") == 0
    return root / "runs" / "vsm" / "analysis"


@pytest.fixture(scope="module")
def covariates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cov") / "covariates.csv"
    pl.DataFrame(
        {
            "kind": ["model", "model", "country", "country", "country", "country"],
            "name": ["gemma-3-270m", "mock-cn", "united_states", "china", "germany", "egypt"],
            "params_billion": [7.0, 13.0, None, None, None, None],
            "gdp_per_capita": [None, None, 76.0, 12.7, 48.7, 3.5],
        }
    ).write_csv(path)
    return path


def test_vsm_report_has_the_papers_figures(vsm_analysis: Path, covariates: Path, tmp_path: Path) -> None:
    html = build_report(vsm_analysis, tmp_path / "out", covariates=covariates).read_text(encoding="utf-8")
    stems = {p.stem for p in (tmp_path / "out" / "figures").glob("*.png")}
    for stem, title in VSM_FIGURES.items():
        assert any(s.startswith(stem) for s in stems), stem
        assert title in html, title
    assert "Dimension scores per prompt language" in html
    assert "not drawn" not in html


def test_vsm_report_without_covariates_says_how_to_give_them(vsm_analysis: Path, tmp_path: Path) -> None:
    html = build_report(vsm_analysis, tmp_path / "out").read_text(encoding="utf-8")
    assert "no covariates table given" in html and "--covariates FILE" in html


@pytest.mark.parametrize("case", ["unreadable", "missing_column", "no_numeric", "not_found"])
def test_bad_covariates_are_one_line_exit_2_nothing_written(vsm_analysis: Path, tmp_path: Path, case, capsys) -> None:
    bad = tmp_path / "cov.parquet"
    if case == "unreadable":
        bad.write_bytes(b"\x00\x01 not a parquet file")
    elif case == "missing_column":
        pl.DataFrame({"kind": ["model"], "size": [7.0]}).write_parquet(bad)
    elif case == "no_numeric":
        pl.DataFrame({"kind": ["model"], "name": ["mock-cn"], "note": ["big"]}).write_parquet(bad)
    out = tmp_path / "out"
    code, _, stderr = run_cli(["report", str(vsm_analysis), "-o", str(out), "--covariates", str(bad)], capsys)
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    if case == "missing_column":
        assert "name" in stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def statements_report(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("statements")
    experiment = _mock_experiment(root, shared_data / "hofstede" / "6-dimensions-for-website-2015-08-16.csv")
    assert exit_code("run", str(experiment), "--no-progress") == 0
    return root / "runs" / "out" / "report" / "report.html"


def test_statements_report_has_the_group_profiles(statements_report: Path) -> None:
    html = statements_report.read_text(encoding="utf-8")
    assert "Group profiles (Fig. 1)" in html
    assert (statements_report.parent / "figures" / "statements_fig1_groups.png").is_file()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_every_new_figure_renders_in_a_browser(
    vsm_analysis: Path, covariates: Path, statements_report: Path, tmp_path: Path, paper_data: Path
) -> None:
    from culturalign.compare.run import compare

    vsm_page = build_report(vsm_analysis, tmp_path / "vsm", covariates=covariates)
    compare([paper_data / "all_lang_model_responses_with_scores.csv"], ground_truth=paper_data, rounds=100,
            output=tmp_path / "cmp")  # fmt: skip
    for page in (vsm_page, statements_report, tmp_path / "cmp" / "compare.html"):
        dom = _chromium(["--dump-dom", "--virtual-time-budget=3000", page.as_uri()], tmp_path / "profile").stdout
        assert "</html>" in dom and 'class="js"' in dom, page
        images = re.findall(r"<img [^>]*>", dom)
        assert images and all('src="data:image/png;base64,' in img for img in images), page
        shot = tmp_path / f"{page.parent.name}.png"
        _chromium([f"--screenshot={shot}", "--window-size=1280,3000", page.as_uri()], tmp_path / "profile")
        assert shot.is_file() and shot.stat().st_size > 20_000, page
