"""The tables released with the paper load into the tidy layout; `fetch` is pinned and verified."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from cli_helpers import run_cli
from culturalign.errors import DataError
from culturalign.probes.wvs.sources import published
from culturalign.probes.wvs.sources.groundtruth import (
    GT_COLUMNS,
    load_ground_truth,
    load_human_consistency,
    select_population,
)
from culturalign.sources.download import sha256_of


def _vps(gt: pl.DataFrame, kind: str, population: str, item: str) -> float:
    row = gt.filter(
        (pl.col("population_kind") == kind) & (pl.col("population") == population) & (pl.col("item") == item)
    )
    assert row.height == 1, (kind, population, item)
    return row["vps"][0]


def test_released_folder_loads_as_tidy_table(paper_data: Path):
    gt = load_ground_truth(paper_data)
    assert tuple(gt.columns) == GT_COLUMNS
    counts = dict(gt.group_by("population_kind").len().iter_rows())
    assert counts == {"country": 1062, "language": 332, "global": 83}
    assert gt["item"].str.to_lowercase().equals(gt["item"])  # keys normalised to lower case
    assert gt["n_respondents"].null_count() == gt.height  # the released tables do not carry n
    assert math.isclose(_vps(gt, "country", "DK", "f118"), 0.878689, abs_tol=1e-6)
    assert math.isclose(_vps(gt, "country", "SG", "f118"), 0.198246, abs_tol=1e-6)
    assert math.isclose(_vps(gt, "language", "da", "f120"), 0.8441041599591297, rel_tol=1e-12)
    assert math.isclose(_vps(gt, "global", "global", "f117"), 0.0584656495760807, rel_tol=1e-12)
    assert sorted(gt.filter(pl.col("population_kind") == "language")["population"].unique()) == ["da", "en", "nl", "pt"]


def test_single_released_tables_are_recognised_by_their_columns(paper_data: Path):
    joined = load_ground_truth(paper_data / "ground_truth_all_countries.csv")  # cntry_an + language, lower-case keys
    assert set(joined["population_kind"]) == {"country"}
    assert joined.height == 1047
    per_language = load_ground_truth(paper_data / "ground_truth_per_language.csv")
    assert set(per_language["population_kind"]) == {"language"}
    world = load_ground_truth(paper_data / "ground_truth_global.csv")
    assert set(world["population"]) == {"global"}


def test_tidy_table_round_trips(paper_data: Path, tmp_path: Path):
    gt = load_ground_truth(paper_data)
    for name in ("gt.csv", "gt.parquet"):
        gt.write_csv(tmp_path / name) if name.endswith(".csv") else gt.write_parquet(tmp_path / name)
        again = load_ground_truth(tmp_path / name)
        assert again.sort(["population_kind", "population", "item"]).equals(
            gt.sort(["population_kind", "population", "item"])
        )


def test_human_consistency_of_the_paper(paper_data: Path):
    human = load_human_consistency(paper_data)
    assert human.columns[:2] == ["population", "self_consistency"]
    values = dict(human.select("population", "self_consistency").iter_rows())
    assert len(values) == 13
    assert math.isclose(values["US"], 0.6649547747952438)
    assert min(values.values()) >= 0.66 and max(values.values()) <= 0.84  # the range the paper reports


def test_unknown_population_is_named(paper_data: Path):
    gt = load_ground_truth(paper_data)
    assert select_population(gt, "DK").height == 83
    with pytest.raises(DataError, match="unknown population 'ZZ'.*DK"):
        select_population(gt, "ZZ")


def test_folder_without_tables_and_odd_table_are_errors(tmp_path: Path):
    with pytest.raises(DataError, match="none of the released"):
        load_ground_truth(tmp_path)
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="question_key and pro_score"):
        load_ground_truth(odd)


def test_duplicated_rows_are_refused(tmp_path: Path):
    path = tmp_path / "dupe.csv"
    path.write_text("cntry_AN,question_key,pro_score\nDK,F118,0.8\nDK,f118,0.7\n")
    with pytest.raises(DataError, match="more than one VPS for country DK item f118"):
        load_ground_truth(path)


def test_vps_outside_zero_one_is_refused(tmp_path: Path):
    path = tmp_path / "pct.csv"
    path.write_text("lnge_iso,question_key,pro_score\nda,F118,87.9\n")
    with pytest.raises(DataError, match="outside 0-1"):
        load_ground_truth(path)


def test_pins_match_the_released_files(paper_data: Path):
    pins = published.load_pins()
    assert pins.source.commit == "f550348"
    for pinned in pins.files:
        assert sha256_of(paper_data / pinned.name) == pinned.sha256, pinned.name
        upstream = published.file_url(pins, pinned)
        assert upstream.startswith("https://raw.githubusercontent.com/jhrystrom/multicultural-alignment/f550348/")


def test_fetch_from_loopback_then_load_offline(paper_data: Path, static_server, monkeypatch, capsys):
    monkeypatch.setenv(published.BASE_URL_ENV, static_server(paper_data))
    code, out, _ = run_cli(["groundtruth", "fetch"], capsys)
    assert code == 0 and "ready" in out
    assert published.is_cached()
    monkeypatch.setenv(published.BASE_URL_ENV, "http://127.0.0.1:9")  # no server: must use the cache
    gt = load_ground_truth(None)
    assert math.isclose(_vps(gt, "country", "DK", "f118"), 0.878689, abs_tol=1e-6)
    assert load_human_consistency(None).height == 13


def test_loading_without_a_path_fetches_when_the_cache_is_empty(paper_data: Path, static_server, monkeypatch):
    assert not published.is_cached()
    monkeypatch.setenv(published.BASE_URL_ENV, static_server(paper_data))
    gt = load_ground_truth()
    assert published.is_cached()
    assert math.isclose(_vps(gt, "language", "da", "f120"), 0.8441041599591297, rel_tol=1e-12)


def test_fetch_with_wrong_content_fails_and_keeps_nothing(tmp_path: Path, static_server, capsys):
    fake = tmp_path / "mirror"
    fake.mkdir()
    for pinned in published.load_pins().files:
        (fake / pinned.name).write_text("question_key,pro_score\nF118,0.5\n")
    code, _, err = run_cli(["groundtruth", "fetch", "--base-url", static_server(fake)], capsys)
    assert code == 2
    assert "checksum mismatch" in err and len(err.strip().splitlines()) == 1
    assert list(published.published_dir().iterdir()) == []


def test_show_lists_one_population(paper_data: Path, capsys):
    code, out, _ = run_cli(["groundtruth", "show", "--ground-truth", str(paper_data), "--population", "nl"], capsys)
    assert code == 0
    assert "f118" in out and "e069_02" in out
    code, _, err = run_cli(
        ["groundtruth", "show", "--ground-truth", str(paper_data), "--population", "Atlantis"], capsys
    )
    assert code == 2 and "unknown population 'Atlantis'" in err
