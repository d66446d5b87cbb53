"""Ground truth from respondent files (Eq. 1) in CSV, .sav and .dta, and every bad input."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyreadstat
import pytest

from cli_helpers import run_cli
from culturalign.errors import DataError, UserError
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.probes.wvs.sources.groundtruth import (
    GT_COLUMNS,
    load_ground_truth,
    load_human_consistency,
)
from culturalign.probes.wvs.sources.survey import (
    _draw_without_replacement,
    _pairwise_spearman,
    build_ground_truth,
)
from synthetic_survey import random_survey

ITEMS = ["f118", "e069_02", "e028"]  # scales 1-10 (6-10 pro), 1-4 (1-2 pro), 1-3 (1 pro)

# Planted respondents. DK: F118 answers 7, 3, -1 (missing), 10 with weights 1, 2, 5, 2.
PLANTED = pd.DataFrame(
    {
        "cntry_AN": ["DK", "DK", "DK", "DK", "GB", "GB", "US", "US", "US"],
        "lnge_iso": ["da", "da", "da", "da", "en", "en", "en", "en", "es"],
        "gwght": [1.0, 2.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "pwght": [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 0.5, 0.5, 0.5],
        "F118": [7, 3, -1, 10, 6, 1, 1, 1, 9],
        "E069_02": [1, 4, 2, -2, 2, 3, 11, -4, 1],  # 11 lies outside the 1-4 scale: missing
        "E028": [1, 2, 3, 1, -1, 1, 3, 3, 1],
    }
)


def _write_survey(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".sav":
        pyreadstat.write_sav(df, str(path))
    else:
        pyreadstat.write_dta(df, str(path))
    return path


def _value(gt: pl.DataFrame, kind: str, population: str, item: str) -> dict:
    rows = gt.filter(
        (pl.col("population_kind") == kind) & (pl.col("population") == population) & (pl.col("item") == item)
    )
    assert rows.height == 1, (kind, population, item, rows)
    return rows.row(0, named=True)


def _reference_vps(
    df: pd.DataFrame, mask: pd.Series, column: str, valid: set[int], pro: set[int]
) -> tuple[float, int, float]:
    """Eq. 1 by a plain loop: weighted share of pro answers among the valid ones."""
    num = den = 0.0
    n = 0
    for _, row in df[mask].iterrows():
        if row[column] in valid:
            weight = row["gwght"] * row["pwght"]
            den += weight
            num += weight * (row[column] in pro)
            n += 1
    return num / den, n, den


@pytest.fixture(scope="module")
def codebook():
    return load_codebook()


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".dta"])
def test_planted_answers_give_exact_weighted_proportions(tmp_path: Path, codebook, suffix):
    path = _write_survey(PLANTED, tmp_path / f"survey{suffix}")
    gt = build_ground_truth(path, codebook, items=ITEMS).vps
    assert tuple(gt.columns) == GT_COLUMNS

    dk = _value(gt, "country", "DK", "f118")  # valid: 7 (w1), 3 (w2), 10 (w2); pro 7 and 10
    assert math.isclose(dk["vps"], 3 / 5) and dk["n_respondents"] == 3 and math.isclose(dk["weight_sum"], 5)

    # E069_02: DK 1 (w1) pro, 4 (w2) con, 2 (w5) pro, -2 missing -> 6/8
    assert math.isclose(_value(gt, "country", "DK", "e069_02")["vps"], 6 / 8)
    # US: 11 and -4 are missing; only the Spanish-speaking respondent answered (1: pro)
    us = _value(gt, "country", "US", "e069_02")
    assert us["vps"] == 1.0 and us["n_respondents"] == 1

    # English pools GB (weights 3, 3) and the two English-speaking US respondents (0.5, 0.5).
    en = _value(gt, "language", "en", "f118")  # GB 6 pro, GB 1 con, US 1 con, US 1 con
    assert math.isclose(en["vps"], 3 / 7) and en["n_respondents"] == 4 and math.isclose(en["weight_sum"], 7)
    country_mean = (_value(gt, "country", "GB", "f118")["vps"] + _value(gt, "country", "US", "f118")["vps"]) / 2
    assert not math.isclose(en["vps"], country_mean)  # pooled by weight, not an average of countries

    world = _value(gt, "global", "global", "e028")  # pro = 1 ("have done"); -1 missing
    num = 1 * 1 + 1 * 2 + 3 * 1 + 0.5 * 1
    den = 1 + 2 + 5 + 2 + 3 + 0.5 + 0.5 + 0.5
    assert math.isclose(world["vps"], num / den) and world["n_respondents"] == 8


def test_random_survey_matches_a_plain_loop(tmp_path: Path, codebook):
    df = random_survey(np.random.default_rng(7), 600)
    path = _write_survey(df, tmp_path / "random.csv")
    gt = build_ground_truth(path, codebook, items=ITEMS, filters=[("country", "language")]).vps
    checks = [
        ("country", "NL", df["cntry_AN"] == "NL"),
        ("language", "pt", df["lnge_iso"] == "pt"),
        ("global", "global", pd.Series(True, index=df.index)),
        ("country x language", "BR x pt", (df["cntry_AN"] == "BR") & (df["lnge_iso"] == "pt")),
    ]
    for item in ITEMS:
        spec = codebook.item(item)
        valid = set(range(1, spec.scale.max + 1))
        for kind, population, mask in checks:
            vps, count, weight = _reference_vps(df, mask, spec.survey_column, valid, set(spec.pro_answers))
            row = _value(gt, kind, population, item)
            assert math.isclose(row["vps"], vps, rel_tol=1e-12), (item, kind, population)
            assert row["n_respondents"] == count and math.isclose(row["weight_sum"], weight)
    assert gt.filter(pl.col("population_kind") == "country x language")["population"].n_unique() == 16


def test_released_coding_uses_the_maximum_seen_in_the_data(tmp_path: Path, codebook):
    # A file in which F118 only runs 1-4: the released rule then counts 1-2 as pro.
    df = PLANTED.assign(F118=[1, 2, 3, 4, 1, 4, 3, 3, -1])
    path = _write_survey(df, tmp_path / "short.csv")
    explicit = build_ground_truth(path, codebook, items=["f118"], levels=[()]).vps
    released = build_ground_truth(path, codebook, items=["f118"], levels=[()], coding="released").vps
    assert explicit["vps"][0] == 0.0  # no answer reaches 6
    weights = (PLANTED["gwght"] * PLANTED["pwght"]).tolist()
    pro = weights[0] + weights[1] + weights[4]
    assert math.isclose(released["vps"][0], pro / sum(weights[:8]))


def test_e035_is_reversed_in_both_codings(tmp_path: Path, codebook):
    df = PLANTED.assign(E035=[1, 2, 9, 10, 5, 6, -1, 3, 8])
    path = _write_survey(df, tmp_path / "e035.csv")
    for coding in ("explicit", "released"):
        vps = build_ground_truth(path, codebook, items=["e035"], levels=[("country",)], coding=coding).vps
        assert math.isclose(_value(vps, "country", "DK", "e035")["vps"], 3 / 10)  # answers 1, 2 pro (w 1, 2)


def test_columns_are_remappable_and_case_insensitive(tmp_path: Path, codebook):
    df = PLANTED.rename(columns={"cntry_AN": "land", "lnge_iso": "sprog", "F118": "f118"}).drop(columns=["pwght"])
    path = _write_survey(df, tmp_path / "renamed.csv")
    gt = build_ground_truth(
        path, codebook, items=["f118"], country_col="land", language_col="sprog", weight_cols=["gwght"]
    ).vps
    assert math.isclose(_value(gt, "country", "DK", "f118")["vps"], (1 + 1) / (1 + 2 + 1))


def test_human_self_consistency_separates_structured_from_flat_countries(codebook, tmp_path: Path):
    rng = np.random.default_rng(3)
    keys = [k for k in codebook if codebook.item(k).scale.max == 10][:12]
    rows = []
    for country, rates in (("AA", np.linspace(0.05, 0.95, len(keys))), ("BB", np.full(len(keys), 0.5))):
        for _ in range(400):
            answers = {
                codebook.item(k).survey_column: (8 if rng.random() < r else 2)
                for k, r in zip(keys, rates, strict=False)
            }
            rows.append({"cntry_AN": country, "lnge_iso": "xx", "gwght": 1.0, "pwght": 1.0, **answers})
    path = _write_survey(pd.DataFrame(rows), tmp_path / "consistency.csv")
    first = build_ground_truth(path, codebook, items=keys, consistency=True, seed=11).self_consistency
    again = build_ground_truth(path, codebook, items=keys, consistency=True, seed=11).self_consistency
    assert first.equals(again)  # seeded
    values = dict(first.select("population", "self_consistency").iter_rows())
    assert values["AA"] > 0.6  # items differ a lot: repeats agree on their order
    assert abs(values["BB"]) < 0.15  # items all at 0.5: the order is noise
    row = first.row(0, named=True)
    assert row["n_pairs"] == 100 * 99 // 2 and row["n_items"] == len(keys) and row["sample_size"] == 10
    out = tmp_path / "human.csv"
    first.write_csv(out)
    assert load_human_consistency(out).columns[:2] == ["population", "self_consistency"]


def test_pairwise_spearman_by_hand():
    rows = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [1.0, 1.0, 2.0]])
    pairs = _pairwise_spearman(rows)  # order: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    assert np.allclose(pairs[:3], [-1.0, 0.5, math.sqrt(3) / 2])  # ties share their mean rank


def test_draws_hold_distinct_respondents():
    rng = np.random.default_rng(0)
    draws = _draw_without_replacement(rng, np.array([12, 11, 40]), 10, 500)
    assert draws.shape == (3, 500, 10)
    assert all(len(set(row)) == 10 for block in draws.tolist() for row in block)
    assert draws[1].max() == 10 and draws[0].max() == 11 and draws.min() == 0
    # uniform: each of 12 respondents appears in 10/12 of the draws
    share = np.bincount(draws[0].ravel(), minlength=12) / 500
    assert np.allclose(share, 10 / 12, atol=0.06)


# ------------------------------------------------------------------ the command and bad input


def test_build_command_writes_tables(tmp_path: Path, capsys):
    survey = _write_survey(PLANTED, tmp_path / "survey.sav")
    out, human = tmp_path / "gt.parquet", tmp_path / "human.csv"
    code, stdout, err = run_cli(
        [
            "groundtruth",
            "build",
            "--survey",
            str(survey),
            "--output",
            str(out),
            "--items",
            "f118,e069_02,e028",
            "--by",
            "country,language,global,country+language",
            "--consistency-output",
            str(human),
        ],
        capsys,
    )
    assert code == 0, err
    gt = load_ground_truth(out)
    assert set(gt["population_kind"]) == {"country", "language", "global", "country x language"}
    assert math.isclose(_value(gt, "country x language", "US x en", "f118")["vps"], 0.0)
    assert load_human_consistency(human).height == 3
    assert "wrote" in stdout


BAD_INPUTS = [
    # (how to damage the survey, extra arguments, expected message)
    (lambda d: d, ["--items", "f118,zz9"], "unknown item 'zz9'"),
    (lambda d: d.drop(columns=["pwght"]), [], r"misses the column\(s\) pwght"),
    (lambda d: d.drop(columns=["E028"]), [], r"misses the column\(s\) E028"),
    (lambda d: d.assign(gwght=[1.0, -2.0, 1, 1, 1, 1, 1, 1, 1]), [], "weight column gwght .* negative"),
    (lambda d: d.assign(pwght=[1.0, np.nan, 1, 1, 1, 1, 1, 1, 1]), [], "weight column pwght .* NaN"),
    (lambda d: d, ["--coding", "creative"], "unknown coding 'creative'"),
    (lambda d: d, ["--country-column", "nation"], r"misses the column\(s\) nation"),
    (lambda d: d.assign(F118=["yes"] * 9), [], "could not parse `yes`.*F118"),
    (lambda d: d, ["--by", "country+region"], r"misses the column\(s\) region"),
    (lambda d: d, ["--by", " , "], "no population level"),
    (lambda d: d, ["--weight-columns", "gwght,cntry_AN"], "`DK`.*cntry_AN"),
]


@pytest.mark.parametrize("damage, extra, expected", BAD_INPUTS)
def test_bad_survey_input_is_one_line_exit_2_and_no_output(tmp_path: Path, capsys, damage, extra, expected):
    survey = _write_survey(damage(PLANTED.copy()), tmp_path / "survey.csv")
    out = tmp_path / "gt.csv"
    code, _, err = run_cli(
        ["groundtruth", "build", "--survey", str(survey), "--output", str(out), "--items", "f118,e069_02,e028", *extra],
        capsys,
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(expected, err), err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["survey.csv"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("notes.txt", b"hello"),
        ("fake.sav", b"this is not SPSS"),
        ("fake.dta", b"\x00\x01 not stata"),
        ("empty.csv", b""),
    ],
)
def test_not_a_survey_file(tmp_path: Path, capsys, name, content):
    survey = tmp_path / name
    survey.write_bytes(content)
    out = tmp_path / "gt.csv"
    code, _, err = run_cli(["groundtruth", "build", "--survey", str(survey), "--output", str(out)], capsys)
    assert code == 2 and "survey file" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_invalid_codebook_through_the_command(tmp_path: Path, capsys):
    survey = _write_survey(PLANTED, tmp_path / "survey.csv")
    book = tmp_path / "book.toml"
    book.write_text(
        'name = "x"\n[items.f118]\nlabel = "Homosexuality"\nscale = { max = 10 }\npro_answers = [12]\n'
        '[items.f118.text.en]\ntopic = "abc"\nparaphrases = ["def"]\npro = "yes!"\ncon = "no!!"\n'
    )
    out = tmp_path / "gt.csv"
    code, _, err = run_cli(
        ["groundtruth", "build", "--survey", str(survey), "--output", str(out), "--codebook", str(book)], capsys
    )
    assert code == 2 and "item f118, field pro_answers" in err
    assert not out.exists()


def test_wrong_output_suffix_is_refused_before_work(tmp_path: Path):
    survey = _write_survey(PLANTED, tmp_path / "survey.csv")
    from culturalign.probes.wvs.sources.survey import build_to_files

    with pytest.raises(UserError, match=r"\.csv or \.parquet"):
        build_to_files(survey, tmp_path / "gt.xlsx", load_codebook())


def test_missing_survey_file(tmp_path: Path, codebook):
    with pytest.raises(DataError, match="survey file not found"):
        build_ground_truth(tmp_path / "nope.csv", codebook)


def test_exit_code_through_a_real_process(tmp_path: Path):
    survey = _write_survey(PLANTED.drop(columns=["gwght"]), tmp_path / "survey.dta")
    out = tmp_path / "gt.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "culturalign.cli.main",
            "groundtruth",
            "build",
            "--survey",
            str(survey),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "gwght" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()
