"""Hofstede's published table, the instrument files, and both fetch commands (loopback server only)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli_helpers import exit_code
from culturalign.errors import DataError
from culturalign.probes.vsm import instrument as inst
from culturalign.probes.vsm.analysis import table_rows
from culturalign.probes.vsm.countries import paper_countries, resolve_countries
from culturalign.sources import download, hofstede


@pytest.fixture
def published(hofstede_table: Path) -> Path:
    return hofstede_table


@pytest.fixture
def public_items(vsm_items: Path) -> Path:
    return vsm_items


# -- the published scores --------------------------------------------------------------------
def test_published_table_parsed_as_it_is(published):
    table = hofstede.read_scores(published)
    assert table.height == 111 and table.columns == ["code", "country", *hofstede.DIMENSIONS]
    usa = table.filter(table["code"] == "USA").row(0, named=True)
    assert [usa[d] for d in hofstede.DIMENSIONS] == [40, 91, 62, 46, 26, 68]
    egypt = table.filter(table["code"] == "EGY").row(0, named=True)
    assert egypt["pdi"] is None and egypt["lto"] == 7  # "#NULL!" is missing, not zero
    assert table.filter(table["code"] == "POR")["uai"].item() == 104  # above 100, kept
    assert table["pdi"].drop_nulls().len() == 78 and table["lto"].drop_nulls().len() == 96


def test_paper_countries_map_to_the_table_with_regional_fallback(published):
    table = hofstede.read_scores(published)
    gt = hofstede.ground_truth(table, table_rows(paper_countries()))
    assert gt.height == 20 * 6
    egypt = {r["dimension"]: r for r in gt.filter(gt["country"] == "egypt").iter_rows(named=True)}
    assert egypt["pdi"]["value"] == 80 and egypt["pdi"]["source"] == "ARA"
    assert egypt["ivr"]["value"] == 4 and egypt["ivr"]["source"] == "EGY"
    korea = gt.filter((gt["country"] == "south_korea") & (gt["dimension"] == "lto"))
    assert korea["value"].item() == 100


def test_missing_country_is_an_error_naming_it_or_skipped_with_a_warning(published):
    table = hofstede.read_scores(published)
    rows = table_rows(resolve_countries(["tanzania", "japan"]))
    with pytest.raises(DataError, match="tanzania"):
        hofstede.ground_truth(table, rows, fallback=False)
    warnings: list[str] = []
    gt = hofstede.ground_truth(table, rows, fallback=False, missing="skip", warn=warnings.append)
    assert set(gt["country"]) == {"japan"} and "tanzania" in warnings[0]


def test_plain_csv_by_country_name(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(
        "country,pdi,idv,mas,uai,lto,ivr\nUnited States,1,2,3,4,5,6\nJapan,7,8,9,10,,12\n", encoding="utf-8"
    )
    table = hofstede.read_scores(path)
    gt = hofstede.ground_truth(table, table_rows(resolve_countries(["united_states"])))
    assert gt.sort("dimension")["value"].to_list() == [2, 6, 5, 3, 1, 4]  # idv ivr lto mas pdi uai
    assert table.filter(table["country"] == "Japan")["lto"].item() is None


def test_scores_file_missing_a_dimension_column_fails_in_one_line_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("country,pdi,idv,mas,uai,lto\nJapan,1,2,3,4,5\n", encoding="utf-8")
    with pytest.raises(DataError, match="ivr"):
        hofstede.read_scores(path)
    out = tmp_path / "gt.csv"
    assert exit_code("vsm", "scores", "--scores", str(path), "--out", str(out)) == 2
    assert not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unknown_country_is_exit_2(published):
    assert exit_code("vsm", "scores", "--scores", str(published), "--country", "atlantis") == 2


# -- the instrument ----------------------------------------------------------------------------
def test_public_copy_layout_is_read_and_cleaned(public_items):
    wording = inst.read_instrument_file(public_items)
    assert list(wording) == ["en"] and sorted(wording["en"]) == list(range(1, 25))
    items = wording["en"].values()
    assert all(len(i.options) == 5 for i in items)
    assert not any("\\n" in i.text for i in items)  # the literal backslash-n became a line break
    assert "\n" in wording["en"][11].text
    assert all(label == label.strip() for i in items for label in i.options)


def _documented(path: Path, rows: list[list[str]], header=None) -> Path:
    header = header or ["item", "text", "option_1", "option_2", "option_3", "option_4", "option_5", "language"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rows(language: str, skip: int | None = None) -> list[list[str]]:
    return [
        [str(i), f"[{language}] question {i}", *[f"answer {k}" for k in range(1, 6)], language]
        for i in range(1, 25)
        if i != skip
    ]


def test_documented_csv_with_two_languages(tmp_path):
    path = _documented(tmp_path / "mine.csv", _rows("en") + _rows("de"))
    wording = inst.read_instrument_file(path)
    assert sorted(wording) == ["de", "en"] and wording["de"][5].text == "[de] question 5"
    assert wording["de"][5].options[4] == "answer 5"


def test_missing_item_is_one_line_exit_2(tmp_path, capsys):
    path = _documented(tmp_path / "mine.csv", _rows("en", skip=17))
    with pytest.raises(DataError, match="misses item.*17"):
        inst.read_instrument_file(path)
    assert exit_code("vsm", "fetch-instrument", "--instrument", str(path)) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_wrong_option_count_is_an_error(tmp_path):
    four = _documented(tmp_path / "four.csv", [r[:6] + [r[7]] for r in _rows("en")],
                       header=["item", "text", "option_1", "option_2", "option_3", "option_4", "language"])  # fmt: skip
    with pytest.raises(DataError, match="option_5"):
        inst.read_instrument_file(four)
    empty = _rows("en")
    empty[3][6] = ""
    with pytest.raises(DataError, match="item 4"):
        inst.read_instrument_file(_documented(tmp_path / "empty.csv", empty))
    raw = tmp_path / "raw.csv"
    raw.write_text("\n".join(f'"q{i}","a","b","c","d"' for i in range(1, 25)), encoding="utf-8")
    with pytest.raises(DataError, match="exactly 5 options"):
        inst.read_instrument_file(raw)


def test_unknown_language_in_instrument(tmp_path):
    with pytest.raises(DataError, match="unknown language"):
        inst.read_instrument_file(_documented(tmp_path / "x.csv", _rows("xx")))


# -- the fetch commands against a loopback server ------------------------------------------------
def test_fetch_instrument_downloads_checks_and_prints_the_terms(vsm_items, static_server, capsys):
    base = static_server(vsm_items.parent)
    assert exit_code("vsm", "fetch-instrument", "--url", f"{base}/{vsm_items.name}") == 0
    out = capsys.readouterr().out
    assert "Geert Hofstede BV" in out
    cached = inst.fetched_instrument_path()
    assert download.sha256_of(cached) == inst.INSTRUMENT_SHA256
    assert sorted(inst.load_wording([])["en"]) == list(range(1, 25))


def test_fetch_with_checksum_mismatch_keeps_nothing(hofstede_table, static_server, capsys):
    base = static_server(hofstede_table.parent)
    assert exit_code("vsm", "fetch-instrument", "--url", f"{base}/{hofstede_table.name}") == 2  # the wrong file
    assert "checksum mismatch" in capsys.readouterr().err
    assert not inst.fetched_instrument_path().exists()
    assert not any(inst.fetched_instrument_path().parent.iterdir())


def test_fetch_scores_sends_a_browser_user_agent(hofstede_table, static_server, monkeypatch):
    seen = {}
    real = download.fetch_pinned

    def spy(url, sha256, filename, subdir, **kwargs):
        seen.update(kwargs)
        return real(url, sha256, filename, subdir, **kwargs)

    monkeypatch.setattr(download, "fetch_pinned", spy)
    base = static_server(hofstede_table.parent)
    assert exit_code("vsm", "fetch-scores", "--url", f"{base}/{hofstede_table.name}") == 0
    assert seen["headers"]["User-Agent"].startswith("Mozilla/5.0")
    assert hofstede.load_scores("published").height == 111


def test_fetch_scores_mismatch_is_exit_2(vsm_items, static_server):
    base = static_server(vsm_items.parent)
    assert exit_code("vsm", "fetch-scores", "--url", f"{base}/{vsm_items.name}") == 2
    assert not hofstede.fetched_scores_path().exists()


def test_without_fetched_files_the_run_inputs_say_how_to_get_them():
    with pytest.raises(DataError, match="fetch-instrument"):
        inst.load_wording([])
    with pytest.raises(DataError, match="fetch-scores"):
        hofstede.load_scores("published")
