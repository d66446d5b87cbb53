"""The HTML report: self-contained, escaped, honest about its judge, reachable from the CLI and the run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from culturalign.cli.main import main
from culturalign.errors import DataError, UserError
from culturalign.probes.registry import RunContext
from culturalign.report.html import format_value, script_hash
from culturalign.report.provenance import judge_summary
from culturalign.reports import build_report, recorded_analysis_dir, report_stage
from test_report_fakes import MODELS, write_fake_analysis, write_fake_store

GOOD_JUDGE = {
    "judge": "gpt-4.1-mini",
    "n_summaries": 200,
    "agreement": {"estimate": 0.91, "low": 0.87, "high": 0.94},
    "cohen_kappa": {"estimate": 0.84, "low": 0.79, "high": 0.89},
}
POOR_JUDGE = {"judge": "tiny", "n_summaries": 279, "agreement": 0.43, "cohen_kappa": 0.17}
PAPER_FIGURES = (
    "fig1_rq1_coefficients",
    "fig2_ground_truth_correlations",
    "fig3_self_consistency",
    "fig4_capability_alignment",
    "fig5_us_bias",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("report")
    analysis = write_fake_analysis(root / "analysis", judge_validation=POOR_JUDGE)
    store, run_id = write_fake_store(root / "run.sqlite")
    path = build_report(analysis, root / "out", store=store, run_id=run_id)
    store.close()
    return path, path.read_text(encoding="utf-8")


def test_report_is_one_self_contained_file_with_all_figures(built: tuple[Path, str]) -> None:
    path, html = built
    assert path.name == "report.html"
    for stem in PAPER_FIGURES:
        assert (path.parent / "figures" / f"{stem}.png").is_file()
        assert (path.parent / "figures" / f"{stem}.svg").is_file()
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    assert len(images) == 5 + 1 + 4  # the paper's five, the US gap, one population breakdown per language
    # Nothing is fetched: no external URL is loaded by any element.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in html
    assert "not drawn" not in html


def test_model_output_is_escaped_text(built: tuple[Path, str]) -> None:
    _, html = built
    assert "<script>document.title" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;document.title=&#39;pwned-script&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;document.title=&#39;pwned-img&#39;&#34;&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 1  # only the page's own sort script


def test_csp_hash_matches_the_page_script(built: tuple[Path, str]) -> None:
    _, html = built
    script = re.search(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    assert script is not None
    assert f"script-src '{script_hash(html)}'" in html


def test_report_shows_provenance_headline_and_judge_warning(built: tuple[Path, str]) -> None:
    _, html = built
    assert "culturalign analyze runs/demo.sqlite --rounds 100" in html
    assert "Bootstrap rounds" in html and "Run configuration" in html
    assert "Warning: The judge tiny agrees poorly with hand labels (Cohen&#39;s kappa 0.17 &lt; 0.6)" in html
    assert re.search(r"ρ = -?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\], n = \d+ responses", html)
    for model in MODELS:  # every model has example responses with labels
        assert f"<h3>{model}</h3>" in html
    assert html.count('<span class="badge pro">pro</span>') == 3 * len(MODELS)


def test_judge_summary_warns_only_when_poor_or_unvalidated() -> None:
    text, warnings = judge_summary(GOOD_JUDGE)
    assert "agreement 91% [87%, 94%]" in text and "kappa 0.84 [0.79, 0.89]" in text and "n=200" in text
    assert warnings == []
    assert "kappa 0.17" in judge_summary(POOR_JUDGE)[1][0]
    multi = {
        "quality": [{"judge": "j1", "validated": False, "warning": "j1 is unvalidated."}, {**GOOD_JUDGE, "judge": "j2"}]
    }
    text, warnings = judge_summary(multi)
    assert text.startswith("j1: not validated; j2: agreement 91%") and warnings == ["j1 is unvalidated."]
    text, warnings = judge_summary(None, 0.045)
    assert text.startswith("not validated") and "not validated" in warnings[0]


def test_good_judge_report_has_no_warning(tmp_path: Path) -> None:
    analysis = write_fake_analysis(tmp_path / "analysis", judge_validation=GOOD_JUDGE, only=set())
    html = build_report(analysis, tmp_path / "out").read_text(encoding="utf-8")
    assert 'class="warning"' not in html
    assert "No run store was given" in html


def test_missing_tables_leave_a_sentence_not_a_crash(tmp_path: Path) -> None:
    analysis = write_fake_analysis(tmp_path / "analysis", only={"consistency", "human_consistency"})
    html = build_report(analysis, tmp_path / "out").read_text(encoding="utf-8")
    assert "This analysis has no us_gap.csv" in html and "paper's method" not in html
    assert "Warning: The judge that labelled these responses was not validated" in html
    assert len(re.findall(r"data:image/png", html)) == 1  # self-consistency only


def test_table_cells_keep_full_values_for_sorting() -> None:
    cell = format_value(0.000012345, "p")
    assert cell.text == "< 0.001" and float(cell.sort) == 0.000012345
    assert format_value(0.1234567, "coef").text == "0.123"
    assert format_value(None).text == ""


def test_store_source_finds_the_recorded_analysis(tmp_path: Path) -> None:
    store, run_id = write_fake_store(tmp_path / "runs" / "demo.sqlite")
    analysis = write_fake_analysis(tmp_path / "runs" / "demo" / "analysis", judge_validation=GOOD_JUDGE, only=set())
    assert recorded_analysis_dir(store, store.run(run_id)) == analysis
    store.close()
    path = build_report(tmp_path / "runs" / "demo.sqlite", tmp_path / "out")
    html = path.read_text(encoding="utf-8")
    assert run_id in html and "pwned-script" in html


def test_bad_sources_are_one_line_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        build_report(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no manifest.json"):
        build_report(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        build_report(tmp_path / "broken", tmp_path / "out")
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_writes_the_report_and_prints_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    analysis = write_fake_analysis(tmp_path / "analysis", only={"us_bias"})
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(analysis), "-o", str(tmp_path / "out")])
    assert exit_info.value.code in (0, None)
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "report.html")
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path / "missing"), "-o", str(tmp_path / "out2")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1


def test_report_stage_writes_into_the_run_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, run_id = write_fake_store(tmp_path / "run.sqlite")
    write_fake_analysis(tmp_path / "output" / "analysis", judge_validation=GOOD_JUDGE, only={"us_bias"})
    ctx = RunContext(experiment=None, store=store, run_id=run_id, output_dir=tmp_path / "output")  # type: ignore[arg-type]
    made = report_stage(ctx, tmp_path / "output" / "analysis")
    assert capsys.readouterr().out == ""  # the run prints the path, not the stage
    assert made.path == tmp_path / "output" / "report" / "report.html"
    assert "gemma-2-2b-it" in made.path.read_text(encoding="utf-8")
    store.close()


def test_a_store_without_analysis_is_analysed_on_the_fly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel, ConfigDict

    from culturalign.probes import registry

    class NoSettings(BaseModel):
        model_config = ConfigDict(extra="forbid")

    calls: list[Path] = []

    def analyse(ctx: RunContext) -> registry.AnalysisSummary:
        calls.append(ctx.output_dir)
        write_fake_analysis(ctx.output_dir / "analysis", judge_validation=GOOD_JUDGE, only={"us_bias"})
        return registry.AnalysisSummary(folder=ctx.output_dir / "analysis")

    probe = registry.Probe("report-test", "test only", NoSettings, (), lambda e: [], analyze=analyse)
    monkeypatch.setitem(registry._PROBES, "report-test", probe)
    store, _ = write_fake_store(tmp_path / "s.sqlite")
    run_id = store.start_run(
        "otf",
        "report-test",
        {"probe": "report-test", "name": "otf", "languages": ["en"], "models": [{"name": "m", "backend": "mock"}]},
    )
    store.close()
    path = build_report(tmp_path / "s.sqlite", tmp_path / "out", run_id=run_id)
    assert calls == [tmp_path / "out"]
    assert (tmp_path / "out" / "analysis" / "manifest.json").is_file()
    assert run_id in path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_released_data_reproduction_renders_all_five_figures(paper_data: Path, tmp_path: Path) -> None:
    from culturalign.cli.main import app

    if not any(getattr(c, "name", None) == "reproduce" for c in app.registered_groups):
        pytest.skip("the `culturalign reproduce` command is not registered in this version")
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "multilingual-multicultural", "--data", str(paper_data), "--output", str(tmp_path / "a")])
    assert exit_info.value.code in (0, None)
    path = build_report(tmp_path / "a", tmp_path / "report")
    for stem in PAPER_FIGURES:
        assert (path.parent / "figures" / f"{stem}.png").stat().st_size > 10_000
    html = path.read_text(encoding="utf-8")
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) >= 5
    assert "Comparison with the published analysis" in html


def test_a_run_too_small_for_estimates_still_gets_a_report(tmp_path: Path) -> None:
    """Tiny runs (a handful of prompts) leave intervals and even means missing; the page says so."""
    import polars as pl

    from culturalign.tables import write_table

    analysis = write_fake_analysis(tmp_path / "analysis")
    for path in analysis.glob("alignment.*"):
        path.unlink()
    alignment = pl.DataFrame(
        {
            "model": ["tiny", "tiny"],
            "family": ["gemma", "gemma"],
            "language": ["da", "da"],
            "population_kind": ["language", "language"],
            "population": ["da", "da"],
            "mean": [None, None],
            "ci_low": [None, None],
            "ci_high": [None, None],
            "n_responses": [2, 2],
            "n_items": [2, 2],
        },
        schema_overrides={"mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64},
    )
    write_table(alignment, analysis / "alignment.csv")
    consistency = pl.DataFrame(
        {
            "model": ["tiny"],
            "family": ["gemma"],
            "language": ["da"],
            "mean": [0.2],
            "ci_low": [None],
            "ci_high": [None],
        },
        schema_overrides={"ci_low": pl.Float64, "ci_high": pl.Float64},
    )
    write_table(consistency, analysis / "consistency.csv")
    html = build_report(analysis, tmp_path / "out").read_text(encoding="utf-8")
    assert "not estimable (too few responses)" in html


def test_a_failed_report_leaves_no_folder_behind(tmp_path: Path) -> None:
    (tmp_path / "not-an-analysis").mkdir()
    with pytest.raises(UserError):
        build_report(tmp_path / "not-an-analysis", tmp_path / "out")
    assert not (tmp_path / "out").exists()
