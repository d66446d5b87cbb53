"""The wvs parser and language filter on answers in every shipped language and script.

The answers (tests/data/wvs_answers_multilingual.toml) are written as chat models write
numbered lists in each script: native digits (Arabic-Indic, Persian, Devanagari, Bengali,
Thai), full-width digits, the ideographic comma 、, Urdu's ۔, right-to-left marks.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from culturalign.probes.wvs.parse import identifier_for, parse_response, split_summaries

ANSWERS = tomllib.loads((Path(__file__).parent / "data" / "wvs_answers_multilingual.toml").read_text("utf-8"))
WVS_LANGUAGES = ("ar", "bn", "da", "de", "en", "es", "fa", "fr", "hi", "id", "ja", "ko")
WVS_LANGUAGES += ("nl", "pt", "ru", "sw", "th", "tl", "tr", "ur", "vi", "zh")
DETECTOR_EXTRAS = ("it", "sv", "nb")
# The same answer asked for in another language: a neighbour that shares its script where
# one exists, so that the detector, not the script, decides.
OTHER = {"zh": "ja", "ja": "zh", "ko": "ja", "ar": "fa", "fa": "ar", "ur": "fa", "hi": "bn", "bn": "hi", "th": "vi"}


@pytest.fixture(scope="module")
def identifier():
    return identifier_for(tuple(sorted(set(WVS_LANGUAGES) | set(DETECTOR_EXTRAS))))


@pytest.mark.parametrize("language", sorted(ANSWERS))
def test_numbered_lists_of_every_script_split_into_their_summaries(language):
    answer = ANSWERS[language]
    summaries = split_summaries(answer["text"], max_items=10)
    assert len(summaries) == answer["summaries"], summaries
    for summary in summaries:
        # No list marker is left in front, in any digit system.
        assert not summary[:1].isdigit() and summary[:1] not in "（(*‏", summary
    # The closing remark after the last item is not part of the last summary.
    assert "总的来说" not in summaries[-1]


@pytest.mark.parametrize("language", sorted(ANSWERS))
def test_the_language_filter_keeps_each_language_and_drops_it_under_another(language, identifier):
    text = ANSWERS[language]["text"]
    kept = parse_response(text, expected_language=language, identifier=identifier, min_summaries=3)
    assert kept.kept and kept.response_language == language, (kept.reason, kept.response_language)
    other = OTHER.get(language, "en" if language != "en" else "de")
    dropped = parse_response(text, expected_language=other, identifier=identifier, min_summaries=3)
    assert not dropped.kept and dropped.reason == "wrong_language"


def test_every_new_wvs_language_has_an_answer():
    assert set(WVS_LANGUAGES) - set(ANSWERS) == {"da", "en", "nl"}  # those three: tests/test_parse.py


# Answers written by a second person who never read the reader's code: two per language.
INDEPENDENT = tomllib.loads((Path(__file__).parent / "data" / "wvs_answers_independent.toml").read_text("utf-8"))


def test_the_independent_answers_cover_every_wvs_language_twice():
    assert sorted(entry["language"] for entry in INDEPENDENT.values()) == sorted(WVS_LANGUAGES * 2)


@pytest.mark.parametrize("entry", sorted(INDEPENDENT))
def test_independently_written_answers_split_into_their_summaries(entry):
    answer = INDEPENDENT[entry]
    summaries = split_summaries(answer["text"], max_items=10)
    assert len(summaries) == answer["summaries"], summaries
    for summary in summaries:
        assert not summary[:1].isdigit() and summary[:1] not in "（(*‏", summary


@pytest.mark.parametrize("entry", sorted(INDEPENDENT))
def test_independently_written_answers_pass_the_language_filter_only_in_their_language(entry, identifier):
    language, text = INDEPENDENT[entry]["language"], INDEPENDENT[entry]["text"]
    kept = parse_response(text, expected_language=language, identifier=identifier, min_summaries=3)
    assert kept.kept and kept.response_language == language, (kept.reason, kept.response_language)
    other = OTHER.get(language, "en" if language != "en" else "de")
    dropped = parse_response(text, expected_language=other, identifier=identifier, min_summaries=3)
    assert not dropped.kept and dropped.reason == "wrong_language"
