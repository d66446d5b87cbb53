"""The shipped WVS codebook and the codebook loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from culturalign.errors import ConfigError, UserError
from culturalign.paths import package_data
from culturalign.probes.wvs.sources.codebook import load_codebook, released_rule_is_pro

PAPER_KEYS = [
    "c001_01",
    "c002_01",
    "d026_03",
    "d054",
    "d059",
    "d060",
    "e028",
    "e035",
    "e069_02",
    "e069_04",
    "e069_05",
    "e069_08",
    "e069_13",
    "e069_20",
    "e116",
    "e117",
    "e225",
    "e226",
    "e227",
    "e228",
    "e233b",
    "e235",
    "e236",
    "e265_01",
    "e290",
    "f028",
    "f114a",
    "f115",
    "f116",
    "f117",
    "f118",
    "f120",
    "f121",
    "f132",
    "f144_02",
    "h010",
    "h011",
]

# METHOD §1.2: scale maximum and pro answers per group of items.
EXPECTED_SCALES = {
    **{k: (5, {1, 2}) for k in ("c001_01", "c002_01", "d026_03")},
    **{k: (4, {1, 2}) for k in ("d054", "d059", "d060", "e116", "e117", "e265_01", "h010", "h011")},
    **{k: (4, {1, 2}) for k in ("e069_02", "e069_04", "e069_05", "e069_08", "e069_13", "e069_20")},
    "e028": (3, {1}),
    "f028": (8, {1, 2, 3, 4}),
    "e035": (10, {1, 2, 3, 4, 5}),
    **{
        k: (10, set(range(6, 11)))
        for k in [
            "e225",
            "e226",
            "e227",
            "e228",
            "e233b",
            "e235",
            "e236",
            "e290",
            "f114a",
            "f115",
            "f116",
            "f117",
            "f118",
            "f120",
            "f121",
            "f132",
            "f144_02",
        ]
    },
}


@pytest.fixture(scope="module")
def codebook():
    return load_codebook()


def test_shipped_codebook_has_the_37_items_in_order(codebook):
    assert codebook.keys() == PAPER_KEYS
    assert set(codebook.languages()) >= {"en", "da", "nl", "pt"}


def test_scales_and_pro_answers_match_the_method(codebook):
    for key, (top, pro) in EXPECTED_SCALES.items():
        item = codebook.item(key)
        assert item.scale.max == top, key
        assert item.pro_answers_for("explicit") == pro, key


def test_released_rule_agrees_with_explicit_coding_on_the_codebook_scales(codebook):
    for item in codebook.items():
        assert item.pro_answers_for("released") == item.pro_answers_for("explicit"), item.key


def test_released_rule_itself():
    assert [a for a in range(1, 4) if released_rule_is_pro(a, 3)] == [1]
    assert [a for a in range(1, 11) if released_rule_is_pro(a, 10)] == [6, 7, 8, 9, 10]
    assert [a for a in range(1, 6) if released_rule_is_pro(a, 5)] == [1, 2]
    assert [a for a in range(1, 9) if released_rule_is_pro(a, 8)] == [1, 2, 3, 4]


def test_released_coding_reads_the_scale_maximum_and_reverses_e035(codebook):
    f118 = codebook.item("f118")
    assert f118.pro_answers_for("released", scale_max=4) == {1, 2}  # what the rule does on a 4-point scale
    e035 = codebook.item("e035")
    assert e035.pro_answers_for("released", scale_max=10) == {1, 2, 3, 4, 5}
    assert e035.is_pro(2) is True and e035.is_pro(9) is False


def test_is_pro_and_missing(codebook):
    item = codebook.item("F118")  # upper-case keys are accepted
    assert item.is_pro(6) is True
    assert item.is_pro(5) is False
    for missing in (-1, -2, -5, 0, None, float("nan"), 11):
        assert item.is_pro(missing) is None, missing
    assert item.survey_column == "F118"


def test_texts_in_every_language_are_distinct_and_complete(codebook):
    for item in codebook.items():
        topics = set()
        for lang in ("en", "da", "nl", "pt"):
            variants = item.topic_variants(lang)
            assert len(variants) >= 5 and len(set(variants)) == len(variants), (item.key, lang)
            assert item.pro_statement(lang) != item.con_statement(lang)
            topics.add(item.topic(lang))
        assert len(topics) == 4, item.key  # each language has its own text, not a copy of the English one


def test_topics_are_distinct_across_items(codebook):
    for lang in codebook.languages():
        topics = [item.topic(lang) for item in codebook.items()]
        assert len(set(topics)) == len(topics), lang


def test_unknown_item_and_language_are_user_errors(codebook):
    with pytest.raises(UserError, match="unknown item 'zz99'"):
        codebook.item("zz99")
    with pytest.raises(UserError, match="no texts in language 'xx'"):
        codebook.item("f118").topic("xx")


ITEM_OK = """
name = "mini"
[items.q1]
label = "A test item"
scale = { min = 1, max = 4 }
pro_answers = [1, 2]
[items.q1.text.en]
topic = "a topic"
paraphrases = ["another topic"]
pro = "I agree."
con = "I disagree."
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codebook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_codebook_loads(tmp_path: Path):
    book = load_codebook(_write(tmp_path, ITEM_OK))
    assert book.keys() == ["q1"] and book.languages() == ["en"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ("pro_answers = [1, 2]", "pro_answers = [1, 7]"),
            r"item q1, field pro_answers: \[7\] lie outside the scale 1-4",
        ),
        (("pro_answers = [1, 2]", "pro_answers = [1, 2, 3, 4]"), "item q1, field pro_answers: they cover every answer"),
        (("scale = { min = 1, max = 4 }", "scale = { min = 1, max = 4, colour = 2 }"), "item q1, field scale.colour"),
        (('topic = "a topic"', "topic = 5"), "item q1, field text.en.topic"),
        (('pro = "I agree."\n', ""), "item q1, field text.en.pro"),
        (("[items.q1]", "[items.Q1]"), "item Q1, field key"),
        (('name = "mini"', 'name = "mini"\nlanguage = "en"'), "field language"),
        (("label = ", "label = [nope"), "not valid TOML"),
    ],
)
def test_invalid_codebook_is_one_line_naming_item_and_field(tmp_path: Path, change, expected):
    old, new = change
    with pytest.raises(ConfigError, match=expected) as info:
        load_codebook(_write(tmp_path, ITEM_OK.replace(old, new)))
    assert "\n" not in str(info.value)


def test_shipped_file_is_package_data():
    assert package_data("codebooks", "wvs.toml").is_file()
